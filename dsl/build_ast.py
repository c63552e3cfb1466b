"""Text to our syntax tree (dsl.ast): built while parsing (dsl.reductions), or from plain Lark's tree,
whose depth the parser has already bounded."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from lark import Tree

from dsl import ast
from dsl.diagnostics import Diagnostic, Span
from dsl.parser import MAX_DEPTH, Node, Tok, may_nest_deeply, parse_tree, syntax_diagnostic
from dsl.strings import Strings, string_value, token_span

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def tree_span(tree: Node) -> Span:
    meta = tree.meta
    if meta.empty:
        return Span(1, 1, 1, 1)
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _outer(kid: Node | Tok, built: ast.Expr) -> Span:
    """Where an operand sits, with the parentheses around it, which Lark records as the container of
    the tree inside them. Without parentheses that is the operand's own span."""
    if isinstance(kid, Tree):
        found = vars(kid.meta)
        if "container_line" in found:
            return Span(
                found["container_line"],
                found["container_column"],
                found["container_end_line"],
                found["container_end_column"],
            )
    return built.span


def _join(first: Span, last: Span) -> Span:
    return Span(first.line, first.column, last.end_line, last.end_column)


def ident(token: Tok) -> ast.Ident:
    return ast.Ident(str(token.value), token_span(token))


def duration(token: Tok) -> ast.Duration:
    text = str(token.value)
    return ast.Duration(text, float(int(text[:-1]) * _UNIT_SECONDS[text[-1]]), token_span(token))


def _trees(tree: Node) -> list[Node]:
    return [c for c in tree.children if isinstance(c, Tree)]


def _sub(tree: Node, data: str) -> Node | None:
    # ``str(tree.data)`` throughout: Lark names most rules with its Token, whose ``==`` is Python code
    return next((c for c in _trees(tree) if str(c.data) == data), None)


def _tok(tree: Node, index: int = 0) -> Tok:
    return [c for c in tree.children if not isinstance(c, Tree)][index]


class AstBuilder(Strings):
    """Builds ``dsl.ast`` nodes from plain Lark's tree; problems found on the way (bad
    interpolations) go to ``diagnostics``."""

    # ------------------------------------------------------------ flows

    def file(self, tree: Node) -> tuple[ast.Flow, ...]:
        return tuple(self.flow(f) for f in _trees(tree))

    def flow(self, tree: Node) -> ast.Flow:
        name, title, end = _tok(tree, 0), _tok(tree, 1), _tok(tree, 2)
        headers: list[ast.Header] = []
        body: list[ast.Label | ast.Element] = []
        for child in _trees(tree):
            if str(child.data) == "body":
                body = [self.body_item(c) for c in _trees(child)]
            else:
                headers.append(self.header(child))
        span = tree_span(tree)
        return ast.Flow(ident(name), string_value(title), tuple(headers), tuple(body), span, token_span(end))

    def header(self, tree: Node) -> ast.Header:
        span = self.line_span(tree)
        kind = str(tree.data)
        if kind == "kind_header":
            return ast.KindHeader(ident(_tok(tree)), span)
        if kind == "trigger_header":
            subs = _trees(tree)
            when = self.expr(subs[1]) if len(subs) > 1 else None
            return ast.TriggerHeader(self.dotted(subs[0]), when, span)
        if kind == "action_header":
            return ast.ActionHeader(ident(_tok(tree, 0)), string_value(_tok(tree, 1)), span)
        if kind == "input_header":
            default: ast.Expr | None = None
            help_text: str | None = None
            for child in tree.children[2:]:
                if isinstance(child, Tree) and str(child.data) == "help":
                    help_text = string_value(_tok(child))
                else:
                    default = self.expr(child)
            return ast.InputHeader(ident(_tok(tree, 0)), ident(_tok(tree, 1)), default, help_text, span)
        return ast.DescriptionHeader(string_value(_tok(tree)), span)

    def line_span(self, tree: Node) -> Span:
        start = tree_span(tree)
        return self.line_span_at(start.line, start.column)

    def body_item(self, tree: Node) -> ast.Label | ast.Element:
        if str(tree.data) == "label":
            token = _tok(tree)
            name = str(token.value)[:-1]
            span = token_span(token)
            return ast.Label(
                ast.Ident(name, Span(span.line, span.column, span.line, span.end_column - 1)), span
            )
        return self.element(_trees(tree)[0])

    def element(self, tree: Node) -> ast.Element:
        span = self.line_span(tree)
        kind = str(tree.data)
        if kind == "do_stmt":
            retry = _sub(tree, "retry")
            every = _sub(retry, "every") if retry is not None else None
            timeout = _sub(tree, "timeout")
            on_error = _sub(tree, "on_error")
            bind = _sub(tree, "bind")
            return ast.Do(
                action=self.dotted(_trees(tree)[0]),
                args=self.args(_sub(tree, "args")),
                bind=ident(_tok(bind)) if bind is not None else None,
                retry=int(_tok(retry).value) if retry is not None else None,
                every=duration(_tok(every)) if every is not None else None,
                timeout=duration(_tok(timeout)) if timeout is not None else None,
                on_error=ident(_tok(on_error)) if on_error is not None else None,
                span=span,
            )
        if kind == "set_stmt":
            return ast.SetStmt(ident(_tok(tree)), self.expr(tree.children[1]), span)
        if kind == "if_stmt":
            otherwise = _sub(tree, "else_")
            return ast.IfStmt(
                self.expr(tree.children[0]),
                ident(_tok(tree)),
                ident(_tok(otherwise)) if otherwise is not None else None,
                span,
            )
        if kind == "decide_stmt":
            whens = tuple(
                ast.When(self.expr(w.children[0]), ident(_tok(w)), self.line_span(w))
                for w in _trees(tree)
                if str(w.data) == "when_line"
            )
            other = _sub(tree, "otherwise_line")
            return ast.Decide(whens, ident(_tok(other)) if other is not None else None, span)
        if kind == "wait_for":
            where = _sub(tree, "where")
            bind = _sub(tree, "bind")
            timeout = _sub(tree, "wait_timeout")
            return ast.WaitFor(
                self.dotted(_trees(tree)[0]),
                self.expr(where.children[0]) if where is not None else None,
                ident(_tok(bind)) if bind is not None else None,
                duration(_tok(timeout, 0)) if timeout is not None else None,
                ident(_tok(timeout, 1)) if timeout is not None else None,
                span,
            )
        if kind == "wait_time":
            return ast.WaitTime(duration(_tok(tree)), span)
        if kind == "ask_stmt":
            outcomes = tuple(
                ast.Outcome(ident(_tok(o, 0)), ident(_tok(o, 1)), self.line_span(o))
                for o in _trees(tree)
                if str(o.data) == "outcome"
            )
            return ast.Ask(string_value(_tok(tree, 0)), self.string(_tok(tree, 1)), outcomes, span)
        if kind == "call_stmt":
            each = _sub(tree, "for_each")
            bind = _sub(tree, "bind")
            return ast.CallFlow(
                ident(_tok(tree)),
                self.args(_sub(tree, "args")),
                ident(_tok(each)) if each is not None else None,
                self.expr(each.children[1]) if each is not None else None,
                ident(_tok(bind)) if bind is not None else None,
                span,
            )
        if kind == "goto":
            return ast.Goto(ident(_tok(tree)), span)
        if kind == "done":
            return ast.Done(span)
        category = _sub(tree, "category")
        return ast.Fail(
            self.expr(tree.children[0]),
            string_value(_tok(category)) if category is not None else None,
            span,
        )

    def dotted(self, tree: Node) -> ast.Ident:
        tokens = [c for c in tree.children if not isinstance(c, Tree)]
        first, last = token_span(tokens[0]), token_span(tokens[-1])
        name = ".".join(str(t.value) for t in tokens)
        return ast.Ident(name, Span(first.line, first.column, last.end_line, last.end_column))

    def args(self, tree: Node | None) -> tuple[ast.Arg, ...]:
        if tree is None:
            return ()
        return tuple(ast.Arg(ident(_tok(a)), self.expr(a.children[1])) for a in _trees(tree))

    # ------------------------------------------------------------ expressions

    def expr(self, node: Node | Tok) -> ast.Expr:
        """An expression with its span computed from its tokens and its operands' outer spans, as
        Lark's propagate_positions gives it (dsl.reductions computes spans the same way)."""
        if not isinstance(node, Tree):  # a bare token only appears where a rule was inlined away
            return ast.Name(str(node.value), token_span(node))
        kind = str(node.data)  # a plain str: Lark names inlined rules with Tokens, slow to compare
        kids = node.children
        # the most frequent rules first; a literal's only child is its token
        if kind == "name":
            token = cast(Tok, kids[0])
            return ast.Name(str(token.value), token_span(token))
        if kind == "field":
            obj = self.expr(kids[0])
            name = cast(Tok, kids[1])
            name_span = token_span(name)
            return ast.Field(obj, str(name.value), _join(_outer(kids[0], obj), name_span), name_span)
        if kind == "str_lit":
            return self.string(cast(Tok, kids[0]))
        if kind == "int_lit":
            token = cast(Tok, kids[0])
            return ast.Literal(int(token.value), token_span(token))
        if kind == "comparison":
            left, right = self.expr(kids[0]), self.expr(kids[2])
            span = _join(_outer(kids[0], left), _outer(kids[2], right))
            return ast.Compare(str(cast(Tok, kids[1]).value), left, right, span)
        if kind in ("sum", "product"):
            first = self.expr(kids[0])
            rest = tuple(
                (str(cast(Tok, kids[i]).value), self.expr(kids[i + 1])) for i in range(1, len(kids), 2)
            )
            span = _join(_outer(kids[0], first), _outer(kids[-1], rest[-1][1]))
            return ast.Arith(first, rest, span)
        if kind in ("or_expr", "and_expr"):
            op = "or" if kind == "or_expr" else "and"
            operands: list[ast.Expr] = []
            built: list[ast.Expr] = []
            for k in kids:
                sub = self.expr(k)
                built.append(sub)
                # (a and b) and c is a and b and c: flatten, keeping chains shallow
                if isinstance(sub, ast.BoolChain) and sub.op == op:
                    operands.extend(sub.operands)
                else:
                    operands.append(sub)
            span = _join(_outer(kids[0], built[0]), _outer(kids[-1], built[-1]))
            return ast.BoolChain(op, tuple(operands), span)
        if kind == "call":
            func = cast(Tok, kids[0])
            args = tuple(self.expr(k) for k in kids[1:] if k is not None)
            return ast.Call(str(func.value), args, tree_span(node), token_span(func))
        if kind == "list":
            return ast.ListExpr(tuple(self.expr(k) for k in kids if k is not None), tree_span(node))
        if kind in ("dec_lit", "true_lit", "false_lit", "null_lit"):
            token = cast(Tok, kids[0])
            value: ast.LiteralValue = None
            if kind == "dec_lit":
                value = Decimal(str(token.value))
            elif kind != "null_lit":
                value = kind == "true_lit"
            return ast.Literal(value, token_span(token))
        if kind in ("not_op", "neg"):
            operand = self.expr(kids[1])
            span = _join(token_span(cast(Tok, kids[0])), _outer(kids[1], operand))
            if kind == "not_op":
                return ast.Unary("not", operand, span)
            if isinstance(operand, ast.Literal) and type(operand.value) in (int, Decimal):
                return ast.Literal(-operand.value, span)  # type: ignore[operator]
            return ast.Unary("-", operand, span)
        if kind in ("in_op", "not_in"):
            left, right = self.expr(kids[0]), self.expr(kids[-1])
            span = _join(_outer(kids[0], left), _outer(kids[-1], right))
            return ast.Compare("in" if kind == "in_op" else "not in", left, right, span)
        raise AssertionError(f"unhandled rule {kind}")  # pragma: no cover - grammar and builder agree


def parse_source(source: str, accelerated: bool = True) -> tuple[ast.SourceFile | None, list[Diagnostic]]:
    """The whole text to a syntax tree, or the first syntax error.

    ``accelerated`` builds the syntax tree while parsing (dsl.reductions); texts that do not parse,
    or whose lines are long enough to nest too deeply, take the plain-Lark route, which says where."""
    from dsl import reductions
    from dsl.parser import find_comments

    if accelerated and not may_nest_deeply(source):
        built = reductions.build(source, "start")
        if built is not None:
            return ast.SourceFile(built[0], find_comments(source)), built[1]
    tree, problems = parse_tree(source)
    if tree is None:
        return None, problems
    builder = AstBuilder(source, accelerated)
    flows = builder.file(tree)
    return ast.SourceFile(flows, find_comments(source)), builder.diagnostics


def build_expression(text: str, accelerated: bool = True) -> tuple[ast.Expr | None, list[Diagnostic]]:
    """An expression and the problems in its strings, or None and why it does not parse."""
    from dsl import reductions

    if accelerated and not may_nest_deeply(text):
        built = reductions.build(text, "expr")
        if built is not None:
            return built
    tree, problems = parse_tree(text, start="expr")
    if tree is None:
        return None, problems
    builder = AstBuilder(text, accelerated)
    return builder.expr(tree), builder.diagnostics


def parse_expression(text: str, accelerated: bool = True) -> tuple[ast.Expr | None, list[Diagnostic]]:
    built, problems = build_expression(text, accelerated)
    return (None if problems else built), problems


__all__ = ["MAX_DEPTH", "AstBuilder", "parse_expression", "parse_source", "syntax_diagnostic"]

"""Lark's parse tree to our syntax tree (dsl.ast). Depth is already bounded by the parser."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from lark import Token, Tree

from dsl import ast
from dsl.diagnostics import Diagnostic, Span, error
from dsl.parser import MAX_DEPTH, parse_tree, syntax_diagnostic

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "{": "{", "}": "}"}


def token_span(token: Token) -> Span:
    line = token.line or 1
    column = token.column or 1
    return Span(line, column, token.end_line or line, token.end_column or column + len(token.value))


def tree_span(tree: Tree[Token]) -> Span:
    meta = tree.meta
    if meta.empty:
        return Span(1, 1, 1, 1)
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def ident(token: Token) -> ast.Ident:
    return ast.Ident(str(token.value), token_span(token))


def duration(token: Token) -> ast.Duration:
    text = str(token.value)
    return ast.Duration(text, float(int(text[:-1]) * _UNIT_SECONDS[text[-1]]), token_span(token))


def _trees(tree: Tree[Token]) -> list[Tree[Token]]:
    return [c for c in tree.children if isinstance(c, Tree)]


def _sub(tree: Tree[Token], data: str) -> Tree[Token] | None:
    return next((c for c in _trees(tree) if c.data == data), None)


def _tok(tree: Tree[Token], index: int = 0) -> Token:
    return [c for c in tree.children if isinstance(c, Token)][index]


class AstBuilder:
    """Builds ``dsl.ast`` nodes; problems found on the way (bad interpolations) go to ``diagnostics``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = source.split("\n")
        self.diagnostics: list[Diagnostic] = []

    # ------------------------------------------------------------ flows

    def file(self, tree: Tree[Token]) -> tuple[ast.Flow, ...]:
        return tuple(self.flow(f) for f in _trees(tree))

    def flow(self, tree: Tree[Token]) -> ast.Flow:
        name, title, end = _tok(tree, 0), _tok(tree, 1), _tok(tree, 2)
        headers: list[ast.Header] = []
        body: list[ast.Label | ast.Element] = []
        for child in _trees(tree):
            if child.data == "body":
                body = [self.body_item(c) for c in _trees(child)]
            else:
                headers.append(self.header(child))
        span = tree_span(tree)
        return ast.Flow(
            ident(name), self.string_value(title), tuple(headers), tuple(body), span, token_span(end)
        )

    def header(self, tree: Tree[Token]) -> ast.Header:
        span = self.line_span(tree)
        kind = tree.data
        if kind == "kind_header":
            return ast.KindHeader(ident(_tok(tree)), span)
        if kind == "trigger_header":
            subs = _trees(tree)
            when = self.expr(subs[1]) if len(subs) > 1 else None
            return ast.TriggerHeader(self.dotted(subs[0]), when, span)
        if kind == "action_header":
            return ast.ActionHeader(ident(_tok(tree, 0)), self.string_value(_tok(tree, 1)), span)
        if kind == "input_header":
            default: ast.Expr | None = None
            help_text: str | None = None
            for child in tree.children[2:]:
                if isinstance(child, Tree) and child.data == "help":
                    help_text = self.string_value(_tok(child))
                else:
                    default = self.expr(child)
            return ast.InputHeader(ident(_tok(tree, 0)), ident(_tok(tree, 1)), default, help_text, span)
        return ast.DescriptionHeader(self.string_value(_tok(tree)), span)

    def line_span(self, tree: Tree[Token]) -> Span:
        """From where a statement starts to the end of its first line (its newline token is not its own)."""
        start = tree_span(tree)
        text = self.lines[start.line - 1] if start.line - 1 < len(self.lines) else ""
        return Span(start.line, start.column, start.line, len(text.rstrip()) + 1)

    def body_item(self, tree: Tree[Token]) -> ast.Label | ast.Element:
        if tree.data == "label":
            token = _tok(tree)
            name = str(token.value)[:-1]
            span = token_span(token)
            return ast.Label(
                ast.Ident(name, Span(span.line, span.column, span.line, span.end_column - 1)), span
            )
        return self.element(_trees(tree)[0])

    def element(self, tree: Tree[Token]) -> ast.Element:
        span = self.line_span(tree)
        kind = tree.data
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
                if w.data == "when_line"
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
                if o.data == "outcome"
            )
            return ast.Ask(self.string_value(_tok(tree, 0)), self.string(_tok(tree, 1)), outcomes, span)
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
            self.string_value(_tok(category)) if category is not None else None,
            span,
        )

    def dotted(self, tree: Tree[Token]) -> ast.Ident:
        tokens = [c for c in tree.children if isinstance(c, Token)]
        first, last = token_span(tokens[0]), token_span(tokens[-1])
        name = ".".join(str(t.value) for t in tokens)
        return ast.Ident(name, Span(first.line, first.column, last.end_line, last.end_column))

    def args(self, tree: Tree[Token] | None) -> tuple[ast.Arg, ...]:
        if tree is None:
            return ()
        return tuple(ast.Arg(ident(_tok(a)), self.expr(a.children[1])) for a in _trees(tree))

    # ------------------------------------------------------------ expressions

    def expr(self, node: Tree[Token] | Token) -> ast.Expr:
        if isinstance(node, Token):  # a bare token only appears where a rule was inlined away
            return ast.Name(str(node.value), token_span(node))
        span = tree_span(node)
        kind = node.data
        kids = node.children
        if kind == "int_lit":
            return ast.Literal(int(_tok(node).value), span)
        if kind == "dec_lit":
            return ast.Literal(Decimal(str(_tok(node).value)), span)
        if kind == "str_lit":
            return self.string(_tok(node))
        if kind == "true_lit":
            return ast.Literal(True, span)
        if kind == "false_lit":
            return ast.Literal(False, span)
        if kind == "null_lit":
            return ast.Literal(None, span)
        if kind == "name":
            return ast.Name(str(_tok(node).value), span)
        if kind == "field":
            name = cast(Token, kids[1])
            return ast.Field(self.expr(kids[0]), str(name.value), span, token_span(name))
        if kind == "call":
            func = cast(Token, kids[0])
            args = tuple(self.expr(k) for k in kids[1:] if k is not None)
            return ast.Call(str(func.value), args, span, token_span(func))
        if kind == "list":
            return ast.ListExpr(tuple(self.expr(k) for k in kids if k is not None), span)
        if kind in ("or_expr", "and_expr"):
            op = "or" if kind == "or_expr" else "and"
            operands: list[ast.Expr] = []
            for k in kids:
                sub = self.expr(k)
                # (a and b) and c is a and b and c: flatten, keeping chains shallow
                if isinstance(sub, ast.BoolChain) and sub.op == op:
                    operands.extend(sub.operands)
                else:
                    operands.append(sub)
            return ast.BoolChain(op, tuple(operands), span)
        if kind == "not_op":
            return ast.Unary("not", self.expr(kids[1]), span)
        if kind == "neg":
            operand = self.expr(kids[1])
            if isinstance(operand, ast.Literal) and type(operand.value) in (int, Decimal):
                return ast.Literal(-operand.value, span)  # type: ignore[operator]
            return ast.Unary("-", operand, span)
        if kind == "comparison":
            return ast.Compare(str(cast(Token, kids[1]).value), self.expr(kids[0]), self.expr(kids[2]), span)
        if kind == "in_op":
            return ast.Compare("in", self.expr(kids[0]), self.expr(kids[1]), span)
        if kind == "not_in":
            return ast.Compare("not in", self.expr(kids[0]), self.expr(kids[2]), span)
        if kind in ("sum", "product"):
            rest = tuple(
                (str(cast(Token, kids[i]).value), self.expr(kids[i + 1])) for i in range(1, len(kids), 2)
            )
            return ast.Arith(self.expr(kids[0]), rest, span)
        raise AssertionError(f"unhandled rule {kind}")  # pragma: no cover - grammar and builder agree

    # ------------------------------------------------------------ strings

    def string_value(self, token: Token) -> str:
        """A string where interpolation does not apply (titles, labels, roles): braces are literal."""
        raw = str(token.value)[1:-1]
        out: list[str] = []
        i = 0
        while i < len(raw):
            if raw[i] == "\\" and i + 1 < len(raw):
                out.append(_ESCAPES.get(raw[i + 1], raw[i + 1]))
                i += 2
            else:
                out.append(raw[i])
                i += 1
        return "".join(out)

    def string(self, token: Token) -> ast.Expr:
        """A string expression: ``{expr}`` parts become expressions placed at their columns."""
        span = token_span(token)
        raw = str(token.value)
        parts: list[str | ast.Expr] = []
        text: list[str] = []
        i = 1
        while i < len(raw) - 1:
            char = raw[i]
            if char == "\\" and i + 1 < len(raw) - 1:
                text.append(_ESCAPES.get(raw[i + 1], raw[i + 1]))
                i += 2
                continue
            if char == "}":
                self.diagnostics.append(
                    error("syntax", "a lone '}' in a string; write \\} for a brace", self._at(span, i))
                )
                i += 1
                continue
            if char != "{":
                text.append(char)
                i += 1
                continue
            close = raw.find("}", i + 1, len(raw) - 1)
            if close < 0:
                self.diagnostics.append(
                    error("syntax", "'{' in a string is not closed by '}'", self._at(span, i))
                )
                break
            inner = raw[i + 1 : close].replace('\\"', '"').replace("\\\\", "\\")
            if text:
                parts.append("".join(text))
                text = []
            parsed = self.embedded(inner, span, i + 1)
            if parsed is not None:
                parts.append(parsed)
            i = close + 1
        if text:
            parts.append("".join(text))
        if all(isinstance(p, str) for p in parts):
            return ast.Literal("".join(p for p in parts if isinstance(p, str)), span)
        return ast.Interpolated(tuple(parts), span)

    def _at(self, span: Span, offset: int) -> Span:
        return Span(span.line, span.column + offset, span.line, span.column + offset + 1)

    def embedded(self, text: str, string_span: Span, offset: int) -> ast.Expr | None:
        col = string_span.column + offset
        if not text.strip():
            self.diagnostics.append(
                error("syntax", "empty '{}' in a string", self._at(string_span, offset - 1))
            )
            return None
        tree, problems = parse_tree(text, start="expr")
        if tree is None:
            for problem in problems:
                if problem.code == "syntax":
                    self.diagnostics.append(self._shift(problem, string_span.line, col))
                else:
                    self.diagnostics.append(
                        error(problem.code, problem.message, self._at(string_span, offset))
                    )
            return None
        inner = AstBuilder(text)
        built = inner.expr(tree)
        self.diagnostics.extend(inner.diagnostics)
        return _relocate(built, string_span.line, col)

    def _shift(self, d: Diagnostic, line: int, col: int) -> Diagnostic:
        s = d.span
        return Diagnostic(
            d.code, d.severity, d.message, Span(line, col + s.column - 1, line, col + s.end_column - 1)
        )


def _relocate(node: ast.Expr, line: int, col: int) -> ast.Expr:
    """Moves spans of an expression parsed on its own (line 1) to where it sits inside a string."""

    def move(s: Span) -> Span:
        return Span(line, col + s.column - 1, line, col + s.end_column - 1)

    if isinstance(node, ast.Literal | ast.Name):
        return type(node)(node.value if isinstance(node, ast.Literal) else node.name, move(node.span))  # type: ignore[arg-type]
    if isinstance(node, ast.Field):
        return ast.Field(_relocate(node.obj, line, col), node.name, move(node.span), move(node.name_span))
    if isinstance(node, ast.Call):
        args = tuple(_relocate(a, line, col) for a in node.args)
        return ast.Call(node.func, args, move(node.span), move(node.func_span))
    if isinstance(node, ast.ListExpr):
        return ast.ListExpr(tuple(_relocate(i, line, col) for i in node.items), move(node.span))
    if isinstance(node, ast.Interpolated):
        parts = tuple(p if isinstance(p, str) else _relocate(p, line, col) for p in node.parts)
        return ast.Interpolated(parts, move(node.span))
    if isinstance(node, ast.Unary):
        return ast.Unary(node.op, _relocate(node.operand, line, col), move(node.span))
    if isinstance(node, ast.Arith):
        rest = tuple((op, _relocate(e, line, col)) for op, e in node.rest)
        return ast.Arith(_relocate(node.first, line, col), rest, move(node.span))
    if isinstance(node, ast.Compare):
        return ast.Compare(
            node.op, _relocate(node.left, line, col), _relocate(node.right, line, col), move(node.span)
        )
    return ast.BoolChain(node.op, tuple(_relocate(o, line, col) for o in node.operands), move(node.span))


def parse_source(source: str) -> tuple[ast.SourceFile | None, list[Diagnostic]]:
    """The whole text to a syntax tree, or the first syntax error."""
    from dsl.parser import find_comments

    tree, problems = parse_tree(source)
    if tree is None:
        return None, problems
    builder = AstBuilder(source)
    flows = builder.file(tree)
    return ast.SourceFile(flows, find_comments(source)), builder.diagnostics


def parse_expression(text: str) -> tuple[ast.Expr | None, list[Diagnostic]]:
    tree, problems = parse_tree(text, start="expr")
    if tree is None:
        return None, problems
    builder = AstBuilder(text)
    built = builder.expr(tree)
    return (None if builder.diagnostics else built), builder.diagnostics


__all__ = ["MAX_DEPTH", "AstBuilder", "parse_expression", "parse_source", "syntax_diagnostic"]

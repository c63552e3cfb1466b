"""Syntax trees built while the accelerated parser parses, one callback per grammar rule.

Lark's parser calls a rule's callback at each reduction with the values of everything the rule
matched: tokens (keywords and punctuation included) and the values the callbacks of its sub-rules
returned. Building ``dsl.ast`` nodes there, instead of Lark trees that ``AstBuilder`` walks again,
saves a third of the time to parse a large flow (~67 ms to ~47 on the 1,000-element benchmark).
The plain-Lark route (trees, then ``AstBuilder``) stays the reference: it words syntax errors and
bounds nesting depth, and tests/unit/dsl/test_dsl_parsers.py checks that both routes give the same
syntax trees, spans and diagnostics.

Values passed between callbacks: ``dsl.ast`` nodes; ``_Paren`` for an expression in brackets
(Lark's "container" span, which the spans of the expressions around it start or end at); lists for
Lark's ``__rule_star_n`` repetitions; and ``(tag, value)`` pairs for the optional parts of a
statement (``bind``, ``retry``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from decimal import Decimal
from operator import itemgetter
from typing import Any, TypeAlias

from lark import Lark, Token
from lark.exceptions import UnexpectedInput
from lark.grammar import Rule

from dsl import ast
from dsl.build_ast import duration
from dsl.diagnostics import Diagnostic, Span
from dsl.strings import Strings, string_value

Children: TypeAlias = list[Any]

# The text being parsed: its lines for statement spans, and the diagnostics of its interpolated
# strings. A context variable, as parses nest (``{expr}`` in strings) and may run in
# several threads.
_BUILDER: ContextVar[Strings] = ContextVar("dsl_ast_builder")


def _token_types() -> tuple[type, ...]:
    try:
        import lark_cython
    except ImportError:  # pragma: no cover - lark-cython is a dependency
        return (Token,)
    return (Token, lark_cython.Token)


_TOKENS = _token_types()


class _Paren:
    """An expression in brackets, with the span of the brackets."""

    __slots__ = ("node", "span")

    def __init__(self, node: ast.Expr, span: Span) -> None:
        self.node = node
        self.span = span


def _node(value: Any) -> ast.Expr:
    return value.node if type(value) is _Paren else value  # type: ignore[no-any-return]


def _span(token: Any) -> Span:
    """A token's span; tokens from the lexer always carry their end (``token_span`` guesses it)."""
    return Span(token.line, token.column, token.end_line, token.end_column)


def _ident(token: Any) -> ast.Ident:
    return ast.Ident(token.value, _span(token))


def _join(first: Any, last: Any) -> Span:
    """From the start of one value (node, brackets or token span) to the end of another."""
    return Span(first.line, first.column, last.end_line, last.end_column)


def _line_span(first: Any) -> Span:
    return _BUILDER.get().line_span_at(first.line, first.column)


def _options(s: Children) -> dict[str, Any]:
    return {part[0]: part[1] for part in s if type(part) is tuple}


# ---------------------------------------------------------------- expressions


def _paren(s: Children) -> _Paren:
    return _Paren(_node(s[1]), _join(s[0], s[2]))


def _call(s: Children) -> ast.Call:
    return ast.Call(s[0].value, _items(s[2:-1]), _join(s[0], s[-1]), _span(s[0]))


def _list(s: Children) -> ast.ListExpr:
    return ast.ListExpr(_items(s[1:-1]), _join(s[0], s[-1]))


def _items(parts: Children) -> tuple[ast.Expr, ...]:
    """``expr ("," expr)* ","?`` matched as an expression, a list of commas and expressions, a comma."""
    items: list[ast.Expr] = []
    for part in parts:
        if type(part) is list:
            items.extend(_node(x) for x in part[1::2])
        elif not isinstance(part, _TOKENS):
            items.append(_node(part))
    return tuple(items)


def _field(s: Children) -> ast.Field:
    obj, name = s[0], s[2]
    name_span = _span(name)
    return ast.Field(_node(obj), name.value, _join(obj.span, name_span), name_span)


def _neg(s: Children) -> ast.Expr:
    operand = _node(s[1])
    span = _join(s[0], s[1].span)
    if type(operand) is ast.Literal and type(operand.value) in (int, Decimal):
        return ast.Literal(-operand.value, span)  # type: ignore[operator]
    return ast.Unary("-", operand, span)


def _not(s: Children) -> ast.Unary:
    return ast.Unary("not", _node(s[1]), _join(s[0], s[1].span))


def _arith(s: Children) -> ast.Arith:
    first, more = s
    rest = tuple((more[i].value, _node(more[i + 1])) for i in range(0, len(more), 2))
    return ast.Arith(_node(first), rest, _join(first.span, more[-1].span))


def _compare(op: str | None) -> Callable[[Children], ast.Compare]:
    """``a < b`` (the operator is the middle token), ``a in b`` or ``a not in b``."""

    def build(s: Children) -> ast.Compare:
        left, right = s[0], s[-1]
        written = op or s[1].value
        return ast.Compare(written, _node(left), _node(right), _join(left.span, right.span))

    return build


def _chain(op: str) -> Callable[[Children], ast.BoolChain]:
    def build(s: Children) -> ast.BoolChain:
        first, more = s
        operands: list[ast.Expr] = []
        for part in (first, *more[1::2]):
            sub = _node(part)
            # (a and b) and c is a and b and c: flatten, keeping chains shallow
            if type(sub) is ast.BoolChain and sub.op == op:
                operands.extend(sub.operands)
            else:
                operands.append(sub)
        return ast.BoolChain(op, tuple(operands), _join(first.span, more[-1].span))

    return build


def _literal(value: ast.LiteralValue) -> Callable[[Children], ast.Literal]:
    return lambda s: ast.Literal(value, _span(s[0]))


_EXPRESSIONS: dict[str, Callable[[Children], Any]] = {
    "name": lambda s: ast.Name(s[0].value, _span(s[0])),
    "int_lit": lambda s: ast.Literal(int(s[0].value), _span(s[0])),
    "dec_lit": lambda s: ast.Literal(Decimal(s[0].value), _span(s[0])),
    "str_lit": lambda s: _BUILDER.get().string(s[0]),
    "true_lit": _literal(True),
    "false_lit": _literal(False),
    "null_lit": _literal(None),
    "atom": _paren,  # the only atom without an alias: "(" expr ")"
    "call": _call,
    "list": _list,
    "field": _field,
    "neg": _neg,
    "not_op": _not,
    "sum": _arith,
    "product": _arith,
    "comparison": _compare(None),
    "in_op": _compare("in"),
    "not_in": _compare("not in"),
    "and_expr": _chain("and"),
    "or_expr": _chain("or"),
}

# ---------------------------------------------------------------- statements


def _flow(s: Children) -> ast.Flow:
    headers = tuple(s[4]) if len(s) == 7 else ()
    return ast.Flow(_ident(s[1]), string_value(s[2]), headers, s[-2], _join(s[0], s[-1]), _span(s[-1]))


def _start(s: Children) -> tuple[ast.Flow, ...]:
    flows = next((part for part in s if type(part) is list), [])
    return tuple(f for f in flows if type(f) is ast.Flow)


def _label(s: Children) -> ast.Label:
    span = _span(s[0])
    name = ast.Ident(s[0].value[:-1], Span(span.line, span.column, span.line, span.end_column - 1))
    return ast.Label(name, span)


def _input(s: Children) -> ast.InputHeader:
    default: ast.Expr | None = None
    for part in s[4:-1]:
        if type(part) is not tuple and not isinstance(part, _TOKENS):
            default = _node(part)
    help_text = _options(s).get("help")
    return ast.InputHeader(_ident(s[1]), _ident(s[3]), default, help_text, _line_span(s[0]))


def _dotted(s: Children) -> ast.Ident:
    tokens = [s[0], *s[1][1::2]] if len(s) == 2 else s
    name = ".".join(t.value for t in tokens)
    return ast.Ident(name, _join(s[0], tokens[-1]))


def _args(s: Children) -> tuple[str, tuple[ast.Arg, ...]]:
    found = [s[0], *s[1][1::2]] if len(s) > 1 and type(s[1]) is list else [s[0]]
    return "args", tuple(found)


def _do(s: Children) -> ast.Do:
    o = _options(s)
    retry, every = o.get("retry", (None, None))
    return ast.Do(
        s[1],
        o.get("args", ()),
        o.get("bind"),
        retry,
        every,
        o.get("timeout"),
        o.get("on_error"),
        _line_span(s[0]),
    )


def _decide(s: Children) -> ast.Decide:
    whens = next((tuple(part) for part in s if type(part) is list), ())
    return ast.Decide(whens, _options(s).get("otherwise"), _line_span(s[0]))


def _wait_for(s: Children) -> ast.WaitFor:
    o = _options(s)
    timeout, target = o.get("wait_timeout", (None, None))
    return ast.WaitFor(s[2], o.get("where"), o.get("bind"), timeout, target, _line_span(s[0]))


def _ask(s: Children) -> ast.Ask:
    outcomes = tuple(s[5]) if len(s) == 6 else ()
    prompt = _BUILDER.get().string(s[3])
    return ast.Ask(string_value(s[2]), prompt, outcomes, _line_span(s[0]))


def _call_flow(s: Children) -> ast.CallFlow:
    o = _options(s)
    each, each_in = o.get("for_each", (None, None))
    return ast.CallFlow(_ident(s[1]), o.get("args", ()), each, each_in, o.get("bind"), _line_span(s[0]))


def _retry(s: Children) -> tuple[str, tuple[int, ast.Duration | None]]:
    return "retry", (int(s[1].value), s[2][1] if len(s) == 3 else None)


_STATEMENTS: dict[str, Callable[[Children], Any]] = {
    "start": _start,
    "flow": _flow,
    "body": lambda s: tuple(s[0]) if s else (),
    "element": itemgetter(0),
    "label": _label,
    "kind_header": lambda s: ast.KindHeader(_ident(s[1]), _line_span(s[0])),
    "trigger_header": lambda s: ast.TriggerHeader(
        s[2], _node(s[4]) if len(s) == 6 else None, _line_span(s[0])
    ),
    "action_header": lambda s: ast.ActionHeader(_ident(s[1]), string_value(s[2]), _line_span(s[0])),
    "input_header": _input,
    "description_header": lambda s: ast.DescriptionHeader(string_value(s[1]), _line_span(s[0])),
    "help": lambda s: ("help", string_value(s[0])),
    "dotted": _dotted,
    "args": _args,
    "arg": lambda s: ast.Arg(_ident(s[0]), _node(s[2])),
    "do_stmt": _do,
    "bind": lambda s: ("bind", _ident(s[1])),
    "retry": _retry,
    "every": lambda s: ("every", duration(s[1])),
    "timeout": lambda s: ("timeout", duration(s[1])),
    "on_error": lambda s: ("on_error", _ident(s[3])),
    "set_stmt": lambda s: ast.SetStmt(_ident(s[1]), _node(s[3]), _line_span(s[0])),
    "if_stmt": lambda s: ast.IfStmt(_node(s[1]), _ident(s[3]), _options(s).get("else"), _line_span(s[0])),
    "else_": lambda s: ("else", _ident(s[2])),
    "decide_stmt": _decide,
    "when_line": lambda s: ast.When(_node(s[1]), _ident(s[3]), _line_span(s[0])),
    "otherwise_line": lambda s: ("otherwise", _ident(s[2])),
    "wait_for": _wait_for,
    "where": lambda s: ("where", _node(s[1])),
    "wait_timeout": lambda s: ("wait_timeout", (duration(s[1]), _ident(s[3]))),
    "wait_time": lambda s: ast.WaitTime(duration(s[1]), _line_span(s[0])),
    "ask_stmt": _ask,
    "outcome": lambda s: ast.Outcome(_ident(s[0]), _ident(s[2]), _line_span(s[0])),
    "call_stmt": _call_flow,
    "for_each": lambda s: ("for_each", (_ident(s[2]), _node(s[4]))),
    "goto": lambda s: ast.Goto(_ident(s[1]), _line_span(s[0])),
    "done": lambda s: ast.Done(_line_span(s[0])),
    "fail": lambda s: ast.Fail(_node(s[1]), _options(s).get("category"), _line_span(s[0])),
    "category": lambda s: ("category", string_value(s[1])),
}

_CALLBACKS = _EXPRESSIONS | _STATEMENTS


def _repeat(s: Children) -> Children:
    """``x*`` is a left-recursive ``__rule_star_n``: the first match starts the list, later ones
    extend it (``s`` is a fresh list of the parser's)."""
    if type(s[0]) is list:
        s[0].extend(s[1:])
        return s[0]  # type: ignore[no-any-return]
    return s


class _Rule(Rule):
    """A rule that hashes and compares by identity, in C. The parser looks every reduction's rule
    up in its callbacks and compares it with an int; ``Rule`` does both in Python (two calls per
    reduction, ~50,000 on a 1,000-element flow). Rules of one grammar are distinct, so identity is
    their equality."""

    __slots__ = ()
    __hash__ = object.__hash__
    __eq__ = object.__eq__


def install(parser: Lark) -> None:
    """Makes ``parser`` return ``dsl.ast`` values instead of Lark trees."""
    callbacks: dict[Any, Any] = vars(parser)["_callbacks"]
    take_only_child = itemgetter(0)
    rules = [rule for rule in callbacks if isinstance(rule, Rule)]
    for rule in rules:
        # the parser looks up a reduced rule's name in a table keyed by str; Lark names rules with
        # its Token, a str subclass whose __eq__ is Python code
        rule.origin.name = name = str(rule.origin.name)
        rule.__class__ = _Rule
        key = str(rule.alias or name)
        if name.startswith("__"):
            callbacks[rule] = _repeat
        elif rule.options.expand1 and rule.alias is None and len(rule.expansion) == 1:
            callbacks[rule] = take_only_child  # ?sum: product and the like hand their child on
        else:  # a KeyError here is a grammar rule without a callback
            callbacks[rule] = _CALLBACKS[key]
    entries = list(callbacks.items())  # the same dict (the parser holds it), rehashed by identity
    callbacks.clear()
    callbacks.update(entries)


def build(source: str, start: str) -> tuple[Any, list[Diagnostic]] | None:
    """The flows (``start``) or expression (``expr``) of ``source`` with the problems found in its
    strings, or None when it does not parse (plain Lark then says why)."""
    from dsl.parser import lark_parser

    builder = Strings(source)
    context = _BUILDER.set(builder)
    try:
        value = lark_parser().parse(source, start=start)
    except UnexpectedInput:
        return None
    finally:
        _BUILDER.reset(context)
    return (_node(value) if start == "expr" else value), builder.diagnostics

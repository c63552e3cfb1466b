"""Expressions compiled to closures over a whitelisted set of operations (no eval, exec or getattr).

Each expression gets two closure trees. The fast one specialises common shapes (a name compared with a
constant, flat and/or chains) and skips bookkeeping; when it raises anything, the checked tree runs
again on the same scope to say precisely which part failed, with that part's span. Both trees use the
same operators, so they agree whenever the fast one succeeds.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from decimal import DivisionByZero, InvalidOperation
from typing import Any

from dsl import ast
from dsl.diagnostics import ExpressionError, Span
from dsl.functions import FUNCTIONS, FunctionError
from dsl.values import is_list, is_number, to_decimal, to_text, type_name

Fn = Callable[[Mapping[str, Any]], Any]

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class Expression:
    """A compiled expression: ``evaluate(scope)`` reads names from ``scope`` (a Mapping).

    Closures are built on the first evaluation, so checking a large flow does not pay for them;
    ``evaluate`` is then a plain function attribute (no bound-method call on the hot path).
    """

    __slots__ = ("_checked", "ast", "evaluate", "source", "span")

    evaluate: Callable[[Mapping[str, Any]], Any]

    def __init__(self, source: str, span: Span, tree: ast.Expr) -> None:
        self.source = source
        self.span = span
        self.ast = tree
        self._checked: Fn | None = None
        self.evaluate = self._first_evaluate

    def _first_evaluate(self, scope: Mapping[str, Any]) -> Any:
        fast = _compile(self.ast, fast=True)
        explain = self._explain

        def evaluate(scope: Mapping[str, Any]) -> Any:
            try:
                return fast(scope)
            except ExpressionError:
                raise
            except Exception:
                return explain(scope)

        self.evaluate = evaluate
        return evaluate(scope)

    def _explain(self, scope: Mapping[str, Any]) -> Any:
        if self._checked is None:
            self._checked = _compile(self.ast, fast=False)
        try:
            self._checked(scope)
        except ExpressionError:
            raise
        except Exception as exc:
            raise ExpressionError(f"{type(exc).__name__}: {exc}", self.span) from None
        raise ExpressionError("the expression failed on this scope", self.span)

    @property
    def canonical(self) -> str:
        from dsl.printer import print_expr

        return print_expr(self.ast)

    def __eq__(self, other: object) -> bool:
        # same meaning: same canonical text, wherever it was written
        return isinstance(other, Expression) and self.canonical == other.canonical

    def __hash__(self) -> int:
        return hash(self.canonical)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


# ---------------------------------------------------------------- leaves


def _read_name(name: str, span: Span) -> Fn:
    def read(scope: Mapping[str, Any]) -> Any:
        try:
            return scope[name]
        except KeyError:
            raise ExpressionError(f"'{name}' is not set here", span) from None

    return read


def read_field(value: Any, name: str, span: Span) -> Any:
    """``value.name``: a key of a Mapping, or that key of every item of a list."""
    if isinstance(value, Mapping):
        try:
            return value[name]
        except KeyError:
            raise ExpressionError(f"this record has no field '{name}'", span) from None
    if is_list(value):
        # explicit stack: lists of lists map level by level without recursion
        return [read_field(item, name, span) for item in value]
    raise ExpressionError(f"cannot read field '{name}' of {type_name(value)}", span)


def _field(obj: Fn, name: str, span: Span) -> Fn:
    def get(scope: Mapping[str, Any]) -> Any:
        return read_field(obj(scope), name, span)

    return get


# ---------------------------------------------------------------- operators


def _arith(op: str, a: Any, b: Any, span: Span) -> Any:
    if is_number(a) and is_number(b):
        if isinstance(a, float) or isinstance(b, float):
            a, b = to_decimal(a), to_decimal(b)
        try:
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if b == 0:
                raise ExpressionError("division by zero", span)
            if op == "/":
                return to_decimal(a) / to_decimal(b)
            if isinstance(a, int) and isinstance(b, int):
                return a % b
            return to_decimal(a) % to_decimal(b)
        except (InvalidOperation, DivisionByZero, OverflowError):
            raise ExpressionError(f"cannot compute {op} on these numbers", span) from None
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if op == "+" and is_list(a) and is_list(b):
        return [*a, *b]
    if op in "+-" and not isinstance(a, bool | str) and not isinstance(b, bool | str):
        try:  # dates and durations (now() - days(7))
            return a + b if op == "+" else a - b
        except TypeError:
            pass
    raise ExpressionError(f"cannot apply '{op}' to {type_name(a)} and {type_name(b)}", span)


def _compare(op: str, a: Any, b: Any, span: Span) -> Any:
    if op == "in" or op == "not in":
        if not (isinstance(b, str | Mapping) or is_list(b)):
            raise ExpressionError(
                f"'{op}' needs a list, text or record on its right, got {type_name(b)}", span
            )
        if isinstance(b, str) and not isinstance(a, str):
            raise ExpressionError(f"'{op}' on text needs text on its left, got {type_name(a)}", span)
        found = a in b
        return found if op == "in" else not found
    try:
        return _COMPARE[op](a, b)
    except TypeError:
        raise ExpressionError(
            f"cannot compare {type_name(a)} with {type_name(b)} using '{op}'", span
        ) from None


def _negate(value: Any, span: Span) -> Any:
    if not is_number(value):
        raise ExpressionError(f"cannot negate {type_name(value)}", span)
    return -value


# ---------------------------------------------------------------- compiler


def _const(node: ast.Expr) -> tuple[bool, Any]:
    if isinstance(node, ast.Literal):
        return True, node.value
    return False, None


def _fast_compare(node: ast.Compare) -> Fn | None:
    """``name OP constant`` without the general machinery: the hot shape of routing rules."""
    is_const, c = _const(node.right)
    if not (isinstance(node.left, ast.Name) and is_const and node.op in _COMPARE):
        return None
    k = node.left.name
    op = node.op
    if op == "==":
        return lambda s: s[k] == c
    if op == "!=":
        return lambda s: s[k] != c
    if op == "<":
        return lambda s: s[k] < c
    if op == "<=":
        return lambda s: s[k] <= c
    if op == ">":
        return lambda s: s[k] > c
    return lambda s: s[k] >= c


def _chain(op: str, parts: list[Fn]) -> Fn:
    # Unrolled for the usual sizes: one closure call per operand, no loop.
    if op == "and":
        if len(parts) == 2:
            a, b = parts
            return lambda s: a(s) and b(s)
        if len(parts) == 3:
            a, b, c = parts
            return lambda s: a(s) and b(s) and c(s)
        if len(parts) == 4:
            a, b, c, d = parts
            return lambda s: a(s) and b(s) and c(s) and d(s)

        def all_of(s: Mapping[str, Any]) -> Any:
            result: Any = True
            for p in parts:
                result = p(s)
                if not result:
                    return result
            return result

        return all_of
    if len(parts) == 2:
        a, b = parts
        return lambda s: a(s) or b(s)
    if len(parts) == 3:
        a, b, c = parts
        return lambda s: a(s) or b(s) or c(s)

    def any_of(s: Mapping[str, Any]) -> Any:
        result: Any = False
        for p in parts:
            result = p(s)
            if result:
                return result
        return result

    return any_of


def _compile(node: ast.Expr, fast: bool) -> Fn:
    if isinstance(node, ast.Literal):
        value = node.value
        return lambda s: value
    if isinstance(node, ast.Name):
        if fast:
            name = node.name
            return lambda s: s[name]
        return _read_name(node.name, node.span)
    if isinstance(node, ast.Field):
        return _field(_compile(node.obj, fast), node.name, node.name_span)
    if isinstance(node, ast.BoolChain):
        return _chain(node.op, [_compile(o, fast) for o in node.operands])
    if isinstance(node, ast.Compare):
        special = _fast_compare(node) if fast else None
        if special is not None:
            return special
        left, right = _compile(node.left, fast), _compile(node.right, fast)
        op, span = node.op, node.span
        return lambda s: _compare(op, left(s), right(s), span)
    if isinstance(node, ast.Unary):
        inner = _compile(node.operand, fast)
        if node.op == "not":
            return lambda s: not inner(s)
        span = node.span
        return lambda s: _negate(inner(s), span)
    if isinstance(node, ast.Arith):
        return _compile_arith(node, fast)
    if isinstance(node, ast.ListExpr):
        items = [_compile(i, fast) for i in node.items]
        return lambda s: [i(s) for i in items]
    if isinstance(node, ast.Interpolated):
        return _compile_interpolated(node, fast)
    return _compile_call(node, fast)


def _compile_arith(node: ast.Arith, fast: bool) -> Fn:
    first = _compile(node.first, fast)
    rest = [(op, _compile(e, fast)) for op, e in node.rest]
    span = node.span
    if len(rest) == 1:
        op, second = rest[0]
        return lambda s: _arith(op, first(s), second(s), span)

    def run(s: Mapping[str, Any]) -> Any:
        value = first(s)
        for op, f in rest:
            value = _arith(op, value, f(s), span)
        return value

    return run


def _compile_interpolated(node: ast.Interpolated, fast: bool) -> Fn:
    if all(isinstance(p, str) for p in node.parts):
        text = "".join(p for p in node.parts if isinstance(p, str))
        return lambda s: text
    parts: list[str | Fn] = [p if isinstance(p, str) else _compile(p, fast) for p in node.parts]

    def render(s: Mapping[str, Any]) -> str:
        return "".join(p if isinstance(p, str) else to_text(p(s)) for p in parts)

    return render


def _compile_call(node: ast.Call, fast: bool) -> Fn:
    args = [_compile(a, fast) for a in node.args]
    span = node.span
    known = FUNCTIONS.get(node.func)
    if known is None or not known[1] <= len(args) <= (known[2] if known[2] is not None else len(args)):
        # the checker reports this before a flow can run; this only guards direct use
        message = f"no function {node.func}() taking {len(args)} arguments"

        def refuse(s: Mapping[str, Any]) -> Any:
            raise ExpressionError(message, span)

        return refuse
    impl = known[0]

    def call(s: Mapping[str, Any]) -> Any:
        try:
            return impl(s, *[a(s) for a in args])
        except FunctionError as exc:
            raise ExpressionError(str(exc), span) from None

    return call

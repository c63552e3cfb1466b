"""The syntax tree: small frozen dataclasses, each with the span of the text it came from."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

from dsl.diagnostics import Span

# ---------------------------------------------------------------- expressions

LiteralValue: TypeAlias = int | Decimal | str | bool | None


@dataclass(frozen=True)
class Literal:
    value: LiteralValue
    span: Span


@dataclass(frozen=True)
class Name:
    name: str
    span: Span


@dataclass(frozen=True)
class Field:
    """``obj.name``; over a list it maps, giving the field of every item."""

    obj: Expr
    name: str
    span: Span
    name_span: Span


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span
    func_span: Span


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True)
class Interpolated:
    """A string with ``{expr}`` parts; plain text parts are str."""

    parts: tuple[str | Expr, ...]
    span: Span


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Expr
    span: Span


@dataclass(frozen=True)
class Arith:
    """``first op x op y ...`` at one precedence level, kept flat so long chains are not deep."""

    first: Expr
    rest: tuple[tuple[str, Expr], ...]
    span: Span


@dataclass(frozen=True)
class Compare:
    op: str  # == != < <= > >= in "not in"
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True)
class BoolChain:
    op: str  # "and" or "or"
    operands: tuple[Expr, ...]
    span: Span


Expr: TypeAlias = (
    Literal | Name | Field | Call | ListExpr | Interpolated | Unary | Arith | Compare | BoolChain
)

# ---------------------------------------------------------------- flows


@dataclass(frozen=True)
class Ident:
    """A name written in a statement (label, action, argument, ...) with where it was written."""

    name: str
    span: Span


@dataclass(frozen=True)
class Arg:
    name: Ident
    value: Expr


@dataclass(frozen=True)
class Duration:
    text: str
    seconds: float
    span: Span


@dataclass(frozen=True)
class Do:
    action: Ident
    args: tuple[Arg, ...]
    bind: Ident | None
    retry: int | None
    every: Duration | None
    timeout: Duration | None
    on_error: Ident | None
    span: Span


@dataclass(frozen=True)
class SetStmt:
    name: Ident
    value: Expr
    span: Span


@dataclass(frozen=True)
class IfStmt:
    condition: Expr
    then: Ident
    otherwise: Ident | None
    span: Span


@dataclass(frozen=True)
class When:
    condition: Expr
    target: Ident
    span: Span


@dataclass(frozen=True)
class Decide:
    whens: tuple[When, ...]
    otherwise: Ident | None
    span: Span


@dataclass(frozen=True)
class WaitFor:
    event: Ident
    where: Expr | None
    bind: Ident | None
    timeout: Duration | None
    timeout_target: Ident | None
    span: Span


@dataclass(frozen=True)
class WaitTime:
    duration: Duration
    span: Span


@dataclass(frozen=True)
class Outcome:
    name: Ident
    target: Ident
    span: Span


@dataclass(frozen=True)
class Ask:
    role: str
    prompt: Expr
    outcomes: tuple[Outcome, ...]
    span: Span


@dataclass(frozen=True)
class CallFlow:
    flow: Ident
    args: tuple[Arg, ...]
    each: Ident | None
    each_in: Expr | None
    bind: Ident | None
    span: Span


@dataclass(frozen=True)
class Goto:
    target: Ident
    span: Span


@dataclass(frozen=True)
class Done:
    span: Span


@dataclass(frozen=True)
class Fail:
    message: Expr
    category: str | None
    span: Span


Element: TypeAlias = Do | SetStmt | IfStmt | Decide | WaitFor | WaitTime | Ask | CallFlow | Goto | Done | Fail


@dataclass(frozen=True)
class Label:
    name: Ident
    span: Span


@dataclass(frozen=True)
class KindHeader:
    kind: Ident
    span: Span


@dataclass(frozen=True)
class TriggerHeader:
    event: Ident
    when: Expr | None
    span: Span


@dataclass(frozen=True)
class ActionHeader:
    name: Ident
    label: str
    span: Span


@dataclass(frozen=True)
class InputHeader:
    name: Ident
    type: Ident
    default: Expr | None
    help: str | None
    span: Span


@dataclass(frozen=True)
class DescriptionHeader:
    text: str
    span: Span


Header: TypeAlias = KindHeader | TriggerHeader | ActionHeader | InputHeader | DescriptionHeader


@dataclass(frozen=True)
class Flow:
    id: Ident
    title: str
    headers: tuple[Header, ...]
    body: tuple[Label | Element, ...]
    span: Span
    end_span: Span


@dataclass(frozen=True)
class Comment:
    text: str
    line: int
    column: int
    # True when code precedes it on its line (kept at that line's end by the formatter).
    trailing: bool


@dataclass(frozen=True)
class SourceFile:
    flows: tuple[Flow, ...]
    comments: tuple[Comment, ...]

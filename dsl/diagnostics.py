"""Diagnostics: what the checker tells an author, and the error an expression raises at run time."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, order=True, init=False)
class Span:
    """A source range; lines and columns are 1-based, the end is exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    def __init__(self, line: int, column: int, end_line: int, end_column: int) -> None:
        # Checking makes ~20,000 spans for a 1,000-element flow. A frozen dataclass's own __init__
        # sets each field through object.__setattr__; filling the instance dict takes half the time.
        fields = self.__dict__
        fields["line"] = line
        fields["column"] = column
        fields["end_line"] = end_line
        fields["end_column"] = end_column

    @classmethod
    def point(cls, line: int, column: int) -> Span:
        return cls(line, column, line, column + 1)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span

    def render(self, filename: str) -> str:
        """The one-line form the CLI prints: ``FILE:LINE:COL: error: MESSAGE [CODE]``."""
        s = self.span
        return f"{filename}:{s.line}:{s.column}: {self.severity.value}: {self.message} [{self.code}]"


def error(code: str, message: str, span: Span) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span)


def warning(code: str, message: str, span: Span) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, span)


class ExpressionError(Exception):
    """An expression failed while it ran (missing field, wrong type, division by zero, ...)."""

    def __init__(self, message: str, span: Span) -> None:
        super().__init__(f"{span.line}:{span.column}: {message}")
        self.message = message
        self.span = span


class FlowCompileError(Exception):
    """Source text did not compile; ``diagnostics`` says why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        first = next((d for d in diagnostics if d.severity is Severity.ERROR), None)
        summary = (
            f"{first.span.line}:{first.span.column}: {first.message} [{first.code}]" if first else "error"
        )
        super().__init__(summary)
        self.diagnostics = diagnostics

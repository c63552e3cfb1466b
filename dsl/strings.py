"""String literals: escapes, and ``{expr}`` parts parsed as expressions placed at their columns."""

from __future__ import annotations

from dsl import ast
from dsl.diagnostics import Diagnostic, Span, error
from dsl.parser import Tok

_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "{": "{", "}": "}"}


def token_span(token: Tok) -> Span:
    line = token.line or 1
    column = token.column or 1
    return Span(line, column, token.end_line or line, token.end_column or column + len(token.value))


def string_value(token: Tok) -> str:
    """A string where interpolation does not apply (titles, labels, roles): braces are literal."""
    raw = str(token.value)[1:-1]
    if "\\" not in raw:
        return raw
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


class Strings:
    """What building a syntax tree needs of the source beyond its tokens: its lines, to place where
    statements end, and its strings' ``{expr}`` parts, whose problems go to ``diagnostics``."""

    def __init__(self, source: str, accelerated: bool = True) -> None:
        self.source = source
        self.accelerated = accelerated
        self.lines = source.split("\n")
        self.diagnostics: list[Diagnostic] = []

    def line_span_at(self, line: int, column: int) -> Span:
        """From where a statement starts to the end of its first line (its newline token is not its own)."""
        text = self.lines[line - 1] if line - 1 < len(self.lines) else ""
        return Span(line, column, line, len(text.rstrip()) + 1)

    def string(self, token: Tok) -> ast.Expr:
        """A string expression: ``{expr}`` parts become expressions placed at their columns."""
        span = token_span(token)
        raw = str(token.value)
        if "\\" not in raw and "{" not in raw and "}" not in raw:  # plain text, the usual case
            return ast.Literal(raw[1:-1], span)
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
        from dsl.build_ast import build_expression

        built, problems = build_expression(text, self.accelerated)
        if built is None:
            for problem in problems:
                if problem.code == "syntax":
                    self.diagnostics.append(self._shift(problem, string_span.line, col))
                else:
                    self.diagnostics.append(
                        error(problem.code, problem.message, self._at(string_span, offset))
                    )
            return None
        self.diagnostics.extend(problems)
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

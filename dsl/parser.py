"""Text to syntax tree: Lark's LALR parser, our own syntax diagnostics, and a bound on nesting depth."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Protocol, TypeAlias, cast

from lark import Lark, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from dsl import ast
from dsl.diagnostics import Diagnostic, Span, error

# Closures and checks recurse once per level of nesting; this keeps them far from Python's stack limit.
MAX_DEPTH = 100

_WORDS = {
    "NAME": "a name",
    "LABEL": "a label",
    "STRING": 'a string ("...")',
    "INT": "a whole number",
    "DECIMAL": "a number",
    "DURATION": "a duration (30s, 5m, 2h, 7d)",
    "_NL": "the end of the line",
    "$END": "the end of the file",
    "COMP_OP": "a comparison (== != < <= > >=)",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*', '/' or '%'",
    "MINUS": "'-'",
    "COMMENT": "a comment",
}


class Tok(Protocol):
    """A token as the parser hands it over: Lark's own ``Token`` (a ``str`` subclass) or
    lark_cython's (not a ``str``). Code here reads only these attributes and tells tokens from
    trees with ``isinstance(x, Tree)``, never ``isinstance(x, Token)`` or string operations."""

    @property
    def type(self) -> str: ...
    @property
    def value(self) -> Any: ...
    @property
    def line(self) -> int | None: ...
    @property
    def column(self) -> int | None: ...
    @property
    def end_line(self) -> int | None: ...
    @property
    def end_column(self) -> int | None: ...


Node: TypeAlias = "Tree[Tok]"


def _plugins() -> dict[str, Any]:
    """lark_cython's compiled LALR lexer and parser when installed, plain Lark otherwise."""
    try:
        import lark_cython
    except ImportError:  # pragma: no cover - lark-cython is a dependency; plain Lark is the fallback
        return {}
    return dict(lark_cython.plugins)


@functools.cache
def lark_parser(accelerated: bool = True) -> Lark:
    """The LALR parser. Accelerated, it runs on lark_cython when installed and returns ``dsl.ast``
    values (dsl.reductions builds them as it reduces); plain, it is Lark as it comes, returning
    trees, and words syntax errors and bounds nesting depth."""
    parser = Lark.open(
        str(Path(__file__).with_name("flow.lark")),
        parser="lalr",
        propagate_positions=not accelerated,
        start=["start", "expr"],
        maybe_placeholders=False,
        _plugins=_plugins() if accelerated else {},
    )
    if accelerated:
        from dsl.reductions import install

        install(parser)
    return parser


def describe_terminal(name: str) -> str:
    if name in _WORDS:
        return _WORDS[name]
    try:
        pattern = lark_parser().get_terminal(name).pattern
    except KeyError:
        return name.lower()
    if isinstance(pattern, PatternStr):
        return f"'{pattern.value}'"
    return name.lower()


def _describe_found(token: Tok) -> str:
    if token.type in ("_NL", "$END"):
        return _WORDS[token.type]
    if token.type in ("STRING", "INT", "DECIMAL", "DURATION"):
        return f"{_WORDS[token.type]} {token.value.strip()}"
    if token.type == "NAME":
        return f"the name '{token.value}'"
    return f"'{token.value}'"


def _expected(names: set[str] | frozenset[str]) -> str:
    words = sorted({describe_terminal(n) for n in names if n not in ("COMMENT", "WS")})
    if not words:
        return "something else"
    if len(words) > 8:
        words = [*words[:8], "..."]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def syntax_diagnostic(
    exc: UnexpectedInput, text: str, line_offset: int = 0, col_offset: int = 0
) -> Diagnostic:
    """Says in words what was expected where. Offsets place errors of an embedded expression."""
    line, column = max(exc.line, 1), max(exc.column, 1)
    if (isinstance(exc, UnexpectedToken) and exc.token.type == "$END") or isinstance(exc, UnexpectedEOF):
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
        expected = exc.expected if isinstance(exc, UnexpectedEOF) else exc.accepts or exc.expected
        message = f"expected {_expected(set(expected))} but the text ended"
    elif isinstance(exc, UnexpectedToken):
        found = _describe_found(exc.token)
        message = f"expected {_expected(set(exc.accepts or exc.expected))} but found {found}"
    elif isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = text[pos] if 0 <= pos < len(text) else "?"
        if char == '"':
            message = "this string is not closed before the end of the line"
        else:
            message = f"unexpected character {char!r}"
            if exc.allowed:
                message += f"; expected {_expected(set(exc.allowed))}"
    else:
        message = "the text does not parse here"
    if line == 1:
        column += col_offset
    line += line_offset
    return error("syntax", message, Span(line, column, line, column + 1))


def tree_depth_error(tree: Node, limit: int = MAX_DEPTH) -> Span | None:
    """Where nesting first passes ``limit``, found by an explicit-stack walk (never recursion)."""
    stack: list[tuple[Node, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            meta = node.meta
            line, column = (1, 1) if meta.empty else (meta.line, meta.column)
            return Span(line, column, line, column + 1)
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + 1))
    return None


# Trees above an expression: start, flow, body, element, statement, args, arg.
_STATEMENT_LEVELS = 7

# Pieces of a line, each within one token or outside all: a token is one piece or more (strings;
# words, which are a name or keyword; runs of digits; any other character), comments are none.
_PIECES = re.compile(r'"(?:\\.|[^"\\\n])*"|#.*|[A-Za-z_][A-Za-z0-9_]*|[0-9]+|\S')


def may_nest_deeply(source: str) -> bool:
    """Whether the tree of ``source`` can be deeper than MAX_DEPTH, so that it must be walked.

    An expression sits on one line, and every tree inside it has a token of its own (an operator, a
    bracket, a keyword, a name or a literal; rules that would only wrap another are inlined), so it
    is at most as deep as its line has tokens, and a line has no more tokens than characters or
    pieces. Above it are at most _STATEMENT_LEVELS trees."""
    limit = MAX_DEPTH - _STATEMENT_LEVELS
    for line in source.split("\n"):
        if len(line) >= limit:
            pieces = sum(1 for m in _PIECES.finditer(line) if not m.group().startswith("#"))
            if pieces >= limit:
                return True
    return False


def find_comments(source: str) -> tuple[ast.Comment, ...]:
    """``#`` comments outside strings, each with whether code precedes it on its line."""
    found: list[ast.Comment] = []
    for number, line in enumerate(source.split("\n"), start=1):
        if "#" not in line:  # most lines: skip the scan, character by character, in Python
            continue
        in_string = False
        escaped = False
        for index, char in enumerate(line):
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "#":
                text = line[index:].rstrip("\r").rstrip()
                found.append(ast.Comment(text, number, index + 1, bool(line[:index].strip())))
                break
    return tuple(found)


def parse_tree(source: str, start: str = "start") -> tuple[Node | None, list[Diagnostic]]:
    """Plain Lark's tree of ``source``, or the first syntax error or too-deep nesting."""
    try:
        tree = cast(Node, lark_parser(False).parse(source, start=start))
    except UnexpectedInput as exc:
        return None, [syntax_diagnostic(exc, source)]
    except RecursionError:  # pragma: no cover - LALR is iterative; kept so check never raises
        return None, [error("too-deep", "this text nests too deeply", Span(1, 1, 1, 2))]
    deep = tree_depth_error(tree) if may_nest_deeply(source) else None
    if deep is not None:
        message = f"this expression nests more than {MAX_DEPTH} levels deep; split it with `set`"
        return None, [error("too-deep", message, deep)]
    return tree, []

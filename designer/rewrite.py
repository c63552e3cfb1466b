"""Edits to flow text from the inspector's form: rewrite the line(s) of one element, nothing else.

The form edits what the text says (argument expressions, retry, timeout, jump targets) and the page
re-checks the result, so a bad value shows as an ordinary diagnostic instead of being guessed at here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
DURATION = re.compile(r"\d+(?:\.\d+)?[smhd]")
_DO = re.compile(rf"^(?P<indent>\s*)do\s+(?P<action>{NAME}(?:\.{NAME})*)\((?P<args>.*)\)(?P<rest>[^)]*)$")
_REST = re.compile(
    rf"^(?:\s+as\s+(?P<bind>{NAME}))?(?:\s+retry\s+(?P<retry>\d+)(?:\s+every\s+(?P<every>\S+))?)?"
    r"(?:\s+timeout\s+(?P<timeout>\S+))?\s*(?P<comment>#.*)?$"
)
_ARROW = re.compile(rf"->\s*(?P<target>{NAME})")
# Lines that belong to the element above them: `on error -> x`, ask outcomes, decide branches.
_ATTACHED = re.compile(rf"^\s*(?:on\s+error|when\s+.+|otherwise|{NAME})\s*->\s*{NAME}\s*(?:#.*)?$")


class RewriteError(ValueError):
    """The form's values cannot be written into the text (the message says which field)."""


@dataclass
class Target:
    line: int  # 1-based
    start: int  # column of the target name in that line, 0-based
    end: int
    name: str
    caption: str


@dataclass
class ActionLine:
    indent: str
    action: str
    args: list[tuple[str, str]]
    bind: str | None
    retry: str
    every: str
    timeout: str
    comment: str


@dataclass
class Editable:
    """What the form may change for one element."""

    action: ActionLine | None = None
    targets: list[Target] = field(default_factory=list)


def split_args(text: str) -> list[tuple[str, str]] | None:
    """``name: expr, ...`` split at top-level commas (not inside strings, brackets or braces)."""
    parts, depth, quote, current = [], 0, False, []
    escaped = False
    for ch in text:
        if quote:
            current.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quote = False
            continue
        if ch == '"':
            quote = True
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    if quote or depth:
        return None
    if "".join(current).strip():
        parts.append("".join(current))
    args = []
    for part in parts:
        name, colon, expr = part.partition(":")
        if not colon or not re.fullmatch(NAME, name.strip()):
            return None
        args.append((name.strip(), expr.strip()))
    return args


def parse_action(line: str) -> ActionLine | None:
    match = _DO.match(line)
    if match is None:
        return None
    rest = _REST.match(match["rest"])
    args = split_args(match["args"])
    if rest is None or args is None:
        return None
    return ActionLine(
        match["indent"],
        match["action"],
        args,
        rest["bind"],
        rest["retry"] or "",
        rest["every"] or "",
        rest["timeout"] or "",
        rest["comment"] or "",
    )


def format_action(a: ActionLine) -> str:
    text = f"{a.indent}do {a.action}(" + ", ".join(f"{k}: {v}" for k, v in a.args) + ")"
    if a.bind:
        text += f" as {a.bind}"
    if a.retry and a.retry != "0":
        text += f" retry {a.retry}"
        if a.every:
            text += f" every {a.every}"
    if a.timeout:
        text += f" timeout {a.timeout}"
    return text + (f"  {a.comment}" if a.comment else "")


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def editable(lines: list[str], line: int, end_line: int) -> Editable:
    """The editable parts of the element spanning ``line``..``end_line`` (1-based) and the lines attached
    below it."""
    found = Editable()
    if line == end_line:
        found.action = parse_action(lines[line - 1])
    own = [line]
    base = _indent(lines[line - 1])
    below = end_line + 1
    while below <= len(lines) and _ATTACHED.match(lines[below - 1]) and _indent(lines[below - 1]) > base:
        own.append(below)
        below += 1
    for number in (*range(line, end_line + 1), *own[1:]):
        text = lines[number - 1]
        # Arrows inside strings are text, not jumps: look only at the code outside quotes.
        code = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: " " * len(m.group(0)), text)
        previous = 0
        for match in _ARROW.finditer(code):
            # The words between the previous jump and this one: "if x > 1", "else", "on error", "approved".
            caption = code[previous : match.start()].strip() or "go to"
            previous = match.end()
            found.targets.append(
                Target(number, match.start("target"), match.end("target"), match["target"], caption)
            )
    return found


def _check(value: str, pattern: re.Pattern[str] | str, what: str) -> str:
    value = value.strip()
    if value and not re.fullmatch(pattern, value):
        raise RewriteError(f"{what}: {value!r} is not valid")
    return value


def rewrite(source: str, line: int, end_line: int, values: dict[str, str]) -> str:
    """``source`` with the element at ``line`` rewritten from the form's ``values``."""
    lines = source.split("\n")
    if not 1 <= line <= end_line <= len(lines):
        raise RewriteError("the element is not where the text says; re-check and try again")
    found = editable(lines, line, end_line)
    # Targets first, right to left on each line, so earlier columns stay valid; then the action line.
    for index, target in sorted(enumerate(found.targets), key=lambda t: (t[1].line, -t[1].start)):
        new = _check(values.get(f"target_{index}", target.name), NAME, f"target {index + 1}") or target.name
        text = lines[target.line - 1]
        lines[target.line - 1] = text[: target.start] + new + text[target.end :]
    if found.action is not None:
        action = parse_action(lines[line - 1])
        assert action is not None  # renaming targets never touches a `do` line's shape
        for i, (name, expr) in enumerate(action.args):
            new_expr = values.get(f"arg_{name}", expr).strip()
            if not new_expr or "\n" in new_expr:
                raise RewriteError(f"argument {name}: give an expression on one line")
            action.args[i] = (name, new_expr)
        retry = _check(values.get("retry", action.retry), r"\d{1,3}", "retry")
        action.retry = retry
        action.every = _check(values.get("every", action.every), DURATION, "retry every")
        action.timeout = _check(values.get("timeout", action.timeout), DURATION, "timeout")
        lines[line - 1] = format_action(action)
    return "\n".join(lines)

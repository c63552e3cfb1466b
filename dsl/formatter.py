"""The canonical layout of flow text, in the style of the contract flows.

Two-space indent for headers and elements, labels at column 0 after one blank line, `on error`,
`when`, `otherwise` and outcome lines indented four, canonical spacing inside expressions. Headers
come in a fixed order (kind, trigger, action, description, inputs). Comments are kept: a comment on
its own line stays above the line that followed it, a comment after code stays at that line's end.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from dsl import ast
from dsl.build_ast import parse_source
from dsl.diagnostics import FlowCompileError
from dsl.printer import print_expr, quote

_HEADER_ORDER = {
    ast.KindHeader: 0,
    ast.TriggerHeader: 1,
    ast.ActionHeader: 2,
    ast.DescriptionHeader: 3,
    ast.InputHeader: 4,
}


@dataclass
class _Line:
    source_line: int
    indent: int
    text: str
    blank_before: bool = False


def format_source(source: str) -> str:
    tree, problems = parse_source(source)
    if tree is None or problems:
        raise FlowCompileError(problems)
    lines: list[_Line] = []
    for index, flow in enumerate(tree.flows):
        lines.extend(_flow_lines(flow, blank_before=index > 0))
    return _with_comments(lines, tree.comments)


def _flow_lines(flow: ast.Flow, blank_before: bool) -> list[_Line]:
    out = [_Line(flow.span.line, 0, f"flow {flow.id.name} {quote(flow.title, braces=False)}", blank_before)]
    headers = sorted(flow.headers, key=lambda h: _HEADER_ORDER[type(h)])
    out.extend(_Line(h.span.line, 2, _header(h)) for h in headers)
    first = True
    for item in flow.body:
        if isinstance(item, ast.Label):
            out.append(_Line(item.span.line, 0, f"{item.name.name}:", blank_before=True))
        else:
            lines = _element(item)
            if first and headers:
                lines[0].blank_before = True
            out.extend(lines)
        first = False
    out.append(_Line(flow.end_span.line, 0, "end"))
    return out


def _header(h: ast.Header) -> str:
    if isinstance(h, ast.KindHeader):
        return f"kind {h.kind.name}"
    if isinstance(h, ast.TriggerHeader):
        when = f" when {print_expr(h.when)}" if h.when is not None else ""
        return f"trigger on {h.event.name}{when}"
    if isinstance(h, ast.ActionHeader):
        return f"action {h.name.name} {quote(h.label, braces=False)}"
    if isinstance(h, ast.DescriptionHeader):
        return f"description {quote(h.text, braces=False)}"
    text = f"input {h.name.name}: {h.type.name}"
    if h.default is not None:
        text += f" = {print_expr(h.default)}"
    if h.help is not None:
        text += f" {quote(h.help, braces=False)}"
    return text


def _args(args: tuple[ast.Arg, ...]) -> str:
    return ", ".join(f"{a.name.name}: {print_expr(a.value)}" for a in args)


def _element(e: ast.Element) -> list[_Line]:
    line = e.span.line
    if isinstance(e, ast.Do):
        text = f"do {e.action.name}({_args(e.args)})"
        if e.bind is not None:
            text += f" as {e.bind.name}"
        if e.retry is not None:
            text += f" retry {e.retry}"
            if e.every is not None:
                text += f" every {e.every.text}"
        if e.timeout is not None:
            text += f" timeout {e.timeout.text}"
        out = [_Line(line, 2, text)]
        if e.on_error is not None:
            out.append(_Line(e.on_error.span.line, 4, f"on error -> {e.on_error.name}"))
        return out
    if isinstance(e, ast.SetStmt):
        return [_Line(line, 2, f"set {e.name.name} = {print_expr(e.value)}")]
    if isinstance(e, ast.IfStmt):
        text = f"if {print_expr(e.condition)} -> {e.then.name}"
        if e.otherwise is not None:
            text += f" else -> {e.otherwise.name}"
        return [_Line(line, 2, text)]
    if isinstance(e, ast.Decide):
        out = [_Line(line, 2, "decide")]
        out.extend(
            _Line(w.span.line, 4, f"when {print_expr(w.condition)} -> {w.target.name}") for w in e.whens
        )
        if e.otherwise is not None:
            out.append(_Line(e.otherwise.span.line, 4, f"otherwise -> {e.otherwise.name}"))
        return out
    if isinstance(e, ast.WaitFor):
        text = f"wait for {e.event.name}"
        if e.where is not None:
            text += f" where {print_expr(e.where)}"
        if e.bind is not None:
            text += f" as {e.bind.name}"
        if e.timeout is not None and e.timeout_target is not None:
            text += f" timeout {e.timeout.text} -> {e.timeout_target.name}"
        return [_Line(line, 2, text)]
    if isinstance(e, ast.WaitTime):
        return [_Line(line, 2, f"wait {e.duration.text}")]
    if isinstance(e, ast.Ask):
        out = [_Line(line, 2, f"ask role {quote(e.role, braces=False)} {print_expr(e.prompt)}")]
        out.extend(_Line(o.span.line, 4, f"{o.name.name} -> {o.target.name}") for o in e.outcomes)
        return out
    if isinstance(e, ast.CallFlow):
        text = f"call {e.flow.name}({_args(e.args)})"
        if e.each is not None and e.each_in is not None:
            text += f" for each {e.each.name} in {print_expr(e.each_in)}"
        if e.bind is not None:
            text += f" as {e.bind.name}"
        return [_Line(line, 2, text)]
    if isinstance(e, ast.Goto):
        return [_Line(line, 2, f"-> {e.target.name}")]
    if isinstance(e, ast.Done):
        return [_Line(line, 2, "done")]
    text = f"fail {print_expr(e.message)}"
    if e.category is not None:
        text += f" category {quote(e.category, braces=False)}"
    return [_Line(line, 2, text)]


def _with_comments(lines: list[_Line], comments: tuple[ast.Comment, ...]) -> str:
    starts = sorted({line.source_line for line in lines})
    above: dict[int, list[ast.Comment]] = {}
    trailing: dict[int, ast.Comment] = {}
    tail: list[ast.Comment] = []
    for comment in comments:
        if comment.trailing and comment.line in starts:
            trailing[comment.line] = comment
            continue
        # a comment belongs to the first code line below it
        index = bisect.bisect_right(starts, comment.line)
        if index < len(starts):
            above.setdefault(starts[index], []).append(comment)
        else:
            tail.append(comment)
    out: list[str] = []
    for line in lines:
        if line.blank_before and out and out[-1] != "":
            out.append("")
        for comment in above.pop(line.source_line, []):
            out.append(" " * line.indent + comment.text)
        text = " " * line.indent + line.text
        if line.source_line in trailing:
            text += "  " + trailing.pop(line.source_line).text
        out.append(text)
    # lines that share a source line take their comments once; leftovers go where they can
    for rest in above.values():
        tail.extend(rest)
    tail.extend(trailing.values())
    if tail and out:
        out.append("")
    out.extend(c.text for c in sorted(tail, key=lambda c: c.line))
    return "\n".join(out) + "\n"

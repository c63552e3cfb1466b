"""FlowGraph to JSON (as POST /flows/check returns it), Mermaid and DOT; and a meaning signature."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from dsl.expression import Expression
from dsl.flowgraph import EdgeKind, FlowGraph, Node, NodeKind


def node_label(node: Node) -> str:
    """A short human caption for a node, used by every drawing."""
    if node.kind is NodeKind.ACTION:
        text = f"do {node.action}"  # type: ignore[union-attr]
    elif node.kind is NodeKind.ASSIGN:
        text = f"set {node.name} = {node.value.canonical}"  # type: ignore[union-attr]
    elif node.kind is NodeKind.DECISION:
        text = " / ".join(c.canonical for c in node.conditions)  # type: ignore[union-attr]
    elif node.kind is NodeKind.WAIT_EVENT:
        text = f"wait for {node.event}"  # type: ignore[union-attr]
    elif node.kind is NodeKind.WAIT_TIMER:
        text = f"wait {node.duration_s:g}s"  # type: ignore[union-attr]
    elif node.kind is NodeKind.ASK:
        text = f"ask {node.role}"  # type: ignore[union-attr]
    elif node.kind is NodeKind.CALL:
        text = f"call {node.flow_id}"  # type: ignore[union-attr]
    elif node.kind is NodeKind.FAIL:
        text = f"fail {node.message.canonical}"  # type: ignore[union-attr]
    else:
        text = "done"
    return text if len(text) <= 60 else text[:57] + "..."


def edges(fg: FlowGraph) -> list[tuple[str, str, EdgeKind, str]]:
    """Every transition as (source, target, kind, label), nodes in graph order, each in source order."""
    out = []
    for node_id in fg.graph.nodes:
        for kind, label, target in fg.out_edges(node_id):
            out.append((node_id, target, kind, label))
    return out


def to_json(fg: FlowGraph) -> dict[str, object]:
    nodes = [
        {"id": n.id, "kind": n.kind.value, "label": node_label(n), "line": n.span.line} for n in fg.nodes()
    ]
    links = [{"source": s, "target": t, "kind": k.value, "label": lab} for s, t, k, lab in edges(fg)]
    return {"id": fg.id, "start": fg.start, "nodes": nodes, "edges": links}


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _mermaid_id(node_id: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in node_id)


_MERMAID_SHAPES = {
    NodeKind.DECISION: ("{", "}"),
    NodeKind.WAIT_EVENT: ("{{", "}}"),
    NodeKind.WAIT_TIMER: ("{{", "}}"),
    NodeKind.ASK: ("[/", "/]"),
    NodeKind.CALL: ("[[", "]]"),
    NodeKind.END: ("((", "))"),
    NodeKind.FAIL: ("[(", ")]"),
}


def to_mermaid(fg: FlowGraph) -> str:
    lines = ["flowchart TD"]
    for n in fg.nodes():
        open_, close = _MERMAID_SHAPES.get(n.kind, ("[", "]"))
        lines.append(f'  {_mermaid_id(n.id)}{open_}"{_mermaid_text(n.id + ": " + node_label(n))}"{close}')
    for s, t, kind, label in edges(fg):
        arrow = "-.->" if kind in (EdgeKind.ERROR, EdgeKind.TIMEOUT) else "-->"
        caption = f'|"{_mermaid_text(label)}"|' if label else ""
        lines.append(f"  {_mermaid_id(s)} {arrow}{caption} {_mermaid_id(t)}")
    for n in fg.nodes():
        if n.kind is NodeKind.FAIL:
            lines.append(f"  style {_mermaid_id(n.id)} fill:#fdd,stroke:#c00")
    return "\n".join(lines) + "\n"


_DOT_SHAPES = {
    NodeKind.ACTION: "box",
    NodeKind.ASSIGN: "box",
    NodeKind.DECISION: "diamond",
    NodeKind.WAIT_EVENT: "hexagon",
    NodeKind.WAIT_TIMER: "hexagon",
    NodeKind.ASK: "parallelogram",
    NodeKind.CALL: "box3d",
    NodeKind.END: "circle",
    NodeKind.FAIL: "octagon",
}


def _dot_string(text: str) -> str:
    return json.dumps(text)  # a DOT string has the same escapes as a JSON one for our text


def to_dot(fg: FlowGraph) -> str:
    lines = [f"digraph {_dot_string(fg.id)} {{", "  rankdir=TB;", '  node [fontname="Helvetica"];']
    for n in fg.nodes():
        extra = ', color="red", fontcolor="red"' if n.kind is NodeKind.FAIL else ""
        caption = _dot_string(f"{n.id}\n{node_label(n)}")
        lines.append(f"  {_dot_string(n.id)} [shape={_DOT_SHAPES[n.kind]}, label={caption}{extra}];")
    for s, t, kind, label in edges(fg):
        style = ', style=dashed, color="red"' if kind in (EdgeKind.ERROR, EdgeKind.TIMEOUT) else ""
        lines.append(f"  {_dot_string(s)} -> {_dot_string(t)} [label={_dot_string(label)}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _meaning(value: Any) -> Any:
    if isinstance(value, Expression):
        return ("expr", value.canonical)
    if isinstance(value, dict):
        return tuple(sorted((k, _meaning(v)) for k, v in value.items()))
    if isinstance(value, tuple | list):
        return tuple(_meaning(v) for v in value)
    return value


def signature(fg: FlowGraph) -> tuple[Any, ...]:
    """What a flow means, without where it was written: equal for text that formats the same."""
    nodes = []
    for n in fg.nodes():
        fields = tuple(
            (f.name, _meaning(getattr(n, f.name))) for f in dataclasses.fields(n) if f.name != "span"
        )
        nodes.append(fields)
    header = (
        fg.id,
        fg.title,
        fg.kind,
        fg.description,
        _meaning(fg.trigger and dataclasses.astuple(fg.trigger)),
    )
    inputs = tuple(dataclasses.astuple(i) for i in fg.inputs)
    action = fg.action and dataclasses.astuple(fg.action)
    return (header, action, inputs, fg.start, tuple(nodes), tuple(edges(fg)))

"""FlowGraph to a standalone SVG, laid out top-down in layers (networkx only, no Graphviz).

Every node element carries ``data-node-id`` and the classes ``node node-<kind>`` and every edge
``data-source``/``data-target`` and ``edge edge-<kind>``, so the designer can highlight a run's path.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from html import escape

import networkx as nx

from dsl.export import edges, node_label
from dsl.flowgraph import EdgeKind, FlowGraph, NodeKind

_W, _H = 220, 48  # node box
_GAP_X, _GAP_Y = 40, 70
_MARGIN = 30


def _layers(fg: FlowGraph) -> dict[str, int]:
    """Longest-path layering on the graph with back edges (those that close loops) taken out."""
    graph = fg.graph
    order = {n: i for i, n in enumerate(graph.nodes)}
    dag: nx.DiGraph[str] = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    seen: set[str] = set()
    on_path: set[str] = set()
    roots = [fg.start, *sorted(graph.nodes, key=order.__getitem__)]
    for root in roots:
        if root in seen:
            continue
        stack = [(root, iter(sorted(graph.successors(root), key=order.__getitem__)))]
        seen.add(root)
        on_path.add(root)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                on_path.discard(node)
                stack.pop()
                continue
            if child in on_path:
                continue  # a back edge: drawn, but not used for layering
            dag.add_edge(node, child)
            if child not in seen:
                seen.add(child)
                on_path.add(child)
                stack.append((child, iter(sorted(graph.successors(child), key=order.__getitem__))))
    layer: dict[str, int] = {}
    for node in nx.topological_sort(dag):
        preds = [layer[p] + 1 for p in dag.predecessors(node)]
        layer[node] = max(preds, default=0)
    return layer


def _shape(kind: NodeKind, x: float, y: float) -> str:
    cx, cy = x + _W / 2, y + _H / 2
    if kind is NodeKind.DECISION:
        points = f"{cx},{y} {x + _W},{cy} {cx},{y + _H} {x},{cy}"
        return f'<polygon points="{points}" fill="#fff8e1" stroke="#b58900"/>'
    if kind in (NodeKind.WAIT_EVENT, NodeKind.WAIT_TIMER):
        d = 14
        points = f"{x + d},{y} {x + _W - d},{y} {x + _W},{cy} {x + _W - d},{y + _H} {x + d},{y + _H} {x},{cy}"
        return f'<polygon points="{points}" fill="#e3f2fd" stroke="#1565c0"/>'
    if kind is NodeKind.ASK:
        return f'<rect x="{x}" y="{y}" width="{_W}" height="{_H}" rx="18" fill="#f3e5f5" stroke="#6a1b9a"/>'
    if kind is NodeKind.END:
        return f'<circle cx="{cx}" cy="{cy}" r="{_H / 2}" fill="#e8f5e9" stroke="#2e7d32"/>'
    if kind is NodeKind.FAIL:
        return f'<rect x="{x}" y="{y}" width="{_W}" height="{_H}" fill="#ffebee" stroke="#c62828"/>'
    return f'<rect x="{x}" y="{y}" width="{_W}" height="{_H}" rx="3" fill="#ffffff" stroke="#37474f"/>'


def to_svg(
    fg: FlowGraph,
    *,
    marks: Mapping[str, str] | None = None,
    path_edges: Collection[tuple[str, str]] = (),
) -> str:
    """``fg`` as SVG. ``marks`` adds a CSS class to nodes (a run's path, a failed step, a selection) and
    ``path_edges`` adds ``on-path`` to the edges a run took, so pages style them without redrawing."""
    marks = marks or {}
    layer = _layers(fg)
    rows: dict[int, list[str]] = {}
    for node_id in fg.graph.nodes:
        rows.setdefault(layer[node_id], []).append(node_id)
    widest = max((len(r) for r in rows.values()), default=1)
    width = 2 * _MARGIN + widest * _W + (widest - 1) * _GAP_X
    height = 2 * _MARGIN + (max(rows, default=0) + 1) * (_H + _GAP_Y)
    pos: dict[str, tuple[float, float]] = {}
    for depth, row in rows.items():
        row_width = len(row) * _W + (len(row) - 1) * _GAP_X
        left = (width - row_width) / 2
        for index, node_id in enumerate(row):
            pos[node_id] = (left + index * (_W + _GAP_X), _MARGIN + depth * (_H + _GAP_Y))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-graph" data-flow-id="{escape(fg.id)}" '
        f'width="{width:g}" height="{height:g}" viewBox="0 0 {width:g} {height:g}" font-family="sans-serif">',
        "<defs>",
        '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>',
        "</defs>",
    ]
    for source, target, kind, label in edges(fg):
        sx, sy = pos[source]
        tx, ty = pos[target]
        x1, y1 = sx + _W / 2, sy + _H
        x2, y2 = tx + _W / 2, ty
        if ty <= sy:  # a loop back up: leave from the side
            x1, y1 = sx + _W, sy + _H / 2
            x2, y2 = tx + _W, ty + _H / 2
        bad = kind in (EdgeKind.ERROR, EdgeKind.TIMEOUT)
        stroke = 'stroke="#c62828" stroke-dasharray="6 4"' if bad else 'stroke="#555"'
        taken = " on-path" if (source, target) in path_edges else ""
        out.append(
            f'<g class="edge edge-{kind.value}{taken}" data-source="{escape(source)}" '
            f'data-target="{escape(target)}">'
            f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" {stroke} marker-end="url(#arrow)"/>'
        )
        if label:
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            colour = "#c62828" if bad else "#333"
            out.append(
                f'<text x="{mx + 4:g}" y="{my:g}" font-size="11" fill="{colour}">{escape(label)}</text>'
            )
        out.append("</g>")
    for node in fg.nodes():
        x, y = pos[node.id]
        caption = escape(node_label(node))
        extra = f" {escape(marks[node.id])}" if node.id in marks else ""
        out.append(
            f'<g class="node node-{node.kind.value}{extra}" data-node-id="{escape(node.id)}" '
            f'data-line="{node.span.line}">'
        )
        out.append(f"<title>{escape(node.id)}</title>")
        out.append(_shape(node.kind, x, y))
        out.append(
            f'<text x="{x + _W / 2:g}" y="{y + _H / 2 - 4:g}" text-anchor="middle" font-size="10" '
            f'fill="#777">{escape(node.id)}</text>'
        )
        out.append(
            f'<text x="{x + _W / 2:g}" y="{y + _H / 2 + 10:g}" text-anchor="middle" '
            f'font-size="11">{caption}</text>'
        )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"

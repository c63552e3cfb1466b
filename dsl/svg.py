"""FlowGraph to a standalone SVG, laid out top-down in layers by ``dsl.layout`` (no Graphviz).

Every node element carries ``data-node-id``/``data-line`` and the classes ``node node-<kind>``, every
edge ``data-source``/``data-target`` and ``edge edge-<kind>``, so the designer can highlight a run's
path and open a node's source line. Node shapes are the first child of their group and edges are a
``<path>``, which is what the designer's stylesheet selects.

The server has no font metrics, so text is measured with a table of character widths a little wider
than the common sans-serif fonts (DejaVu Sans, Arial): a caption is clipped with an ellipsis a bit
early rather than ever spilling out of its box. The whole text is always in the node's ``<title>``.
Every user-supplied string goes through ``_esc``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Mapping
from html import escape

from dsl.export import edges, node_label
from dsl.flowgraph import (
    AssignNode,
    DecisionNode,
    EdgeKind,
    FailNode,
    FlowGraph,
    Node,
    NodeKind,
)
from dsl.layout import Box, Route, curve_point, layered
from dsl.layout_graph import Point

_BOX_H, _DECISION_H, _END_D = 40.0, 60.0, 36.0
_MIN_W, _MAX_W = 120.0, 260.0
_DECISION_MIN_W, _DECISION_MAX_W = 160.0, 320.0
_PAD = 8.0  # between text and the edge of its shape
_HEX = 12.0  # how far a wait's hexagon cuts in at its sides
_ID_SIZE, _CAPTION_SIZE, _LABEL_SIZE = 10.0, 11.0, 10.0
_LABEL_MAX = 130.0  # widest edge label before it is clipped
# In a diamond a line of text has room only where the diamond is wide enough at the height of the
# glyphs' furthest edge from the middle: the fraction of the full width left there, per line.
_DIAMOND_ID_ROOM = 1 - 17.5 / (_DECISION_H / 2)
_DIAMOND_CAPTION_ROOM = 1 - 7.5 / (_DECISION_H / 2)

_BAD = (EdgeKind.ERROR, EdgeKind.TIMEOUT)
# Arrowheads sized in drawing units: a highlighted (thicker) edge keeps a normal-sized head.
_MARKER = (
    'viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="8" markerHeight="8" '
    'orient="auto-start-reverse"'
)

# Advance widths in em, rounded up from the wider of DejaVu Sans and Arial for each group.
_NARROW, _SEMI, _WIDE, _UPPER, _MATH, _OTHER = 0.34, 0.42, 1.0, 0.78, 0.84, 0.64
_WIDTHS: dict[str, float] = {
    **dict.fromkeys("il.,:;'!|j", _NARROW),
    **dict.fromkeys(" ftr()[]-/\\I", _SEMI),
    **dict.fromkeys("mwMW@%\u2026", _WIDE),
    **dict.fromkeys("ABCDEFGHJKLNOPQRSTUVXYZ&", _UPPER),
    **dict.fromkeys("=<>+~#$^", _MATH),
}


def _esc(text: str) -> str:
    return escape(text, quote=True)


def _num(value: float) -> str:
    """A coordinate to one decimal, without exponent notation even for very large drawings."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _text_width(text: str, size: float) -> float:
    return size * sum(_WIDTHS.get(ch, _OTHER) for ch in text)


def _fit(text: str, room: float, size: float) -> str:
    """``text``, or as much of it as fits in ``room`` pixels followed by an ellipsis."""
    if _text_width(text, size) <= room:
        return text
    budget = room - _text_width("\u2026", size)
    used, cut = 0.0, 0
    for ch in text:
        used += size * _WIDTHS.get(ch, _OTHER)
        if used > budget:
            break
        cut += 1
    return text[:cut].rstrip() + "\u2026"


def _caption(node: Node) -> str:
    """The node's caption in full. ``node_label`` clips long ones at 60 characters for every
    drawing; here the box decides how much shows and the hover title needs the whole of it."""
    if isinstance(node, DecisionNode):
        return " / ".join(c.canonical for c in node.conditions)
    if isinstance(node, AssignNode):
        return f"set {node.name} = {node.value.canonical}"
    if isinstance(node, FailNode):
        return f"fail {node.message.canonical}"
    return node_label(node)


def _label_slot(label: str) -> float:
    """The width one leaving edge's label needs under its box. Labels sit a little way down a curve
    that may lean towards its neighbour, so the slot is wider than the text."""
    return _text_width(_fit(label, _LABEL_MAX, _LABEL_SIZE), _LABEL_SIZE) * 1.3 + 14


def _size(node: Node, labels: list[str]) -> tuple[float, float]:
    if node.kind is NodeKind.END:
        return _END_D, _END_D
    need = max((_label_slot(lab) for lab in labels), default=0.0) * len(labels)
    text = max(_text_width(node.id, _ID_SIZE), _text_width(_caption(node), _CAPTION_SIZE))
    if node.kind is NodeKind.DECISION:
        caption = _text_width(_caption(node), _CAPTION_SIZE) + 2 * _PAD
        width = min(max(caption / _DIAMOND_CAPTION_ROOM, _DECISION_MIN_W, need), _DECISION_MAX_W)
        return max(width, need), _DECISION_H
    inset = 2 * _HEX if node.kind in (NodeKind.WAIT_EVENT, NodeKind.WAIT_TIMER) else 0.0
    return max(min(max(text + 2 * _PAD + inset, _MIN_W), _MAX_W), need), _BOX_H


def _shape(kind: NodeKind, b: Box) -> str:
    x, y, w, h, cx, cy = b.x, b.y, b.w, b.h, b.cx, b.cy
    if kind is NodeKind.DECISION:
        points = (
            f"{_num(cx)},{_num(y)} {_num(x + w)},{_num(cy)} {_num(cx)},{_num(y + h)} {_num(x)},{_num(cy)}"
        )
        return f'<polygon points="{points}" fill="#fff8e1" stroke="#b58900"/>'
    if kind in (NodeKind.WAIT_EVENT, NodeKind.WAIT_TIMER):
        corners = [
            (x + _HEX, y),
            (x + w - _HEX, y),
            (x + w, cy),
            (x + w - _HEX, y + h),
            (x + _HEX, y + h),
            (x, cy),
        ]
        points = " ".join(f"{_num(px)},{_num(py)}" for px, py in corners)
        return f'<polygon points="{points}" fill="#e3f2fd" stroke="#1565c0"/>'
    rect = f'x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}"'
    if kind is NodeKind.ASK:
        return f'<rect {rect} rx="14" fill="#f3e5f5" stroke="#6a1b9a"/>'
    if kind is NodeKind.END:
        return f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(w / 2)}" fill="#e8f5e9" stroke="#2e7d32"/>'
    if kind is NodeKind.FAIL:
        return f'<rect {rect} fill="#ffebee" stroke="#c62828"/>'
    if kind is NodeKind.CALL:  # a subprocess: the usual box with inner side bars
        bars = f"M{_num(x + 6)},{_num(y)}v{_num(h)}M{_num(x + w - 6)},{_num(y)}v{_num(h)}"
        bars = f'<path d="{bars}" stroke="#37474f"/>'
        return f'<rect {rect} rx="3" fill="#ffffff" stroke="#37474f"/>{bars}'
    return f'<rect {rect} rx="3" fill="#ffffff" stroke="#37474f"/>'


def _half_extent(kind: NodeKind, b: Box, offset: float, vertical: bool) -> float:
    """How far the shape reaches from its centre line at ``offset`` from the centre across it:
    half its height at a horizontal offset (``vertical``), or half its width at a vertical one."""
    half_along, half_across = (b.h / 2, b.w / 2) if vertical else (b.w / 2, b.h / 2)
    d = min(abs(offset), half_across)
    if kind is NodeKind.END:
        return math.sqrt(max(half_along**2 - d * d, 0.0))
    if kind is NodeKind.DECISION:
        return half_along * (1 - d / half_across)
    if kind in (NodeKind.WAIT_EVENT, NodeKind.WAIT_TIMER):
        if vertical:  # top and bottom are flat except where the sides cut in
            return half_along * min((half_across - d) / _HEX, 1.0)
        return half_along - _HEX * d / half_across
    return half_along


def _attach(kind: NodeKind, b: Box, p: Point) -> Point | None:
    """Where an edge ending at ``p`` on the box's bounding rectangle meets the shape, if that is
    somewhere else (diamonds, circles and hexagons do not fill their rectangle). Edges meet the top
    and bottom vertically; only a self-loop meets the side, horizontally."""
    if p[1] in (b.y, b.y + b.h):  # on the top or bottom: meet the shape going vertically
        reach = _half_extent(kind, b, p[0] - b.cx, vertical=True)
        y = b.cy + reach if p[1] > b.cy else b.cy - reach
        return None if abs(y - p[1]) < 0.05 else (p[0], y)
    reach = _half_extent(kind, b, p[1] - b.cy, vertical=False)
    x = b.cx + reach if p[0] > b.cx else b.cx - reach
    return None if abs(x - p[0]) < 0.05 else (x, p[1])


def _path(points: tuple[Point, ...]) -> str:
    """Straight runs as lines; every change of lane as a curve that leaves and arrives vertically."""
    out = [f"M{_num(points[0][0])},{_num(points[0][1])}"]
    for p, q in itertools.pairwise(points):
        if p[0] == q[0] or p[1] == q[1]:
            out.append(f"L{_num(q[0])},{_num(q[1])}")
        else:
            ym = _num((p[1] + q[1]) / 2)
            out.append(f"C{_num(p[0])},{ym} {_num(q[0])},{ym} {_num(q[0])},{_num(q[1])}")
    return "".join(out)


def _text(x: float, y: float, text: str, size: float, extra: str = "") -> str:
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="middle" font-size="{_num(size)}"{extra}>'
        f"{_esc(text)}</text>"
    )


def _node_text(node: Node, b: Box) -> list[str]:
    caption = _caption(node)
    if node.kind is NodeKind.END:
        return [_text(b.cx, b.cy + 3.5, _fit(caption, b.w - 6, _ID_SIZE), _ID_SIZE)]
    if node.kind is NodeKind.DECISION:
        id_room = b.w * _DIAMOND_ID_ROOM - 2 * _PAD
        caption_room = b.w * _DIAMOND_CAPTION_ROOM - 2 * _PAD
        id_y, caption_y = b.cy - 10, b.cy + 5
    else:
        inset = 2 * _HEX if node.kind in (NodeKind.WAIT_EVENT, NodeKind.WAIT_TIMER) else 0.0
        id_room = caption_room = b.w - 2 * _PAD - inset
        id_y, caption_y = b.y + 16, b.y + 31
    return [
        _text(b.cx, id_y, _fit(node.id, id_room, _ID_SIZE), _ID_SIZE, ' fill="#777"'),
        _text(b.cx, caption_y, _fit(caption, caption_room, _CAPTION_SIZE), _CAPTION_SIZE),
    ]


def _edge_points(
    fg: FlowGraph, route: Route, boxes: Mapping[str, Box], source: str, target: str
) -> tuple[Point, ...]:
    """The route with its ends moved from the bounding rectangles onto the shapes themselves."""
    points = list(route.points)
    start = _attach(fg.node(source).kind, boxes[source], points[0])
    end = _attach(fg.node(target).kind, boxes[target], points[-1])
    if start is not None:
        points.insert(0, start)
    if end is not None:
        points.append(end)
    return tuple(points)


def to_svg(
    fg: FlowGraph,
    *,
    marks: Mapping[str, str] | None = None,
    path_edges: Collection[tuple[str, str]] = (),
) -> str:
    """``fg`` as SVG. ``marks`` adds a CSS class to nodes (a run's path, a failed step, a selection) and
    ``path_edges`` adds ``on-path`` to the edges a run took, so pages style them without redrawing."""
    marks = marks or {}
    transitions = edges(fg)
    out_labels: dict[str, dict[str, list[str]]] = {n: {} for n in fg.graph.nodes}
    for source, target, _, label in transitions:
        out_labels[source].setdefault(target, []).append(label)
    sizes = {
        node.id: _size(node, [" / ".join(filter(None, labs)) for labs in out_labels[node.id].values()])
        for node in fg.nodes()
    }
    # Failure edges into one handler share a line; so do ordinary ones into one join point, but the
    # two kinds are kept apart so a dashed error line never runs on top of a solid one.
    bundle = {(s, t): ("bad" if data["kind"] in _BAD else "ok") for s, t, data in fg.graph.edges(data=True)}
    lay = layered(fg.graph, fg.start, sizes, bundle=bundle)
    width, height = _num(lay.width), _num(lay.height)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-graph" data-flow-id="{_esc(fg.id)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">',
        "<defs>",
        f'<marker id="arrow" {_MARKER}><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>',
        f'<marker id="arrow-bad" {_MARKER}><path d="M0,0 L10,5 L0,10 z" fill="#c62828"/></marker>',
        "</defs>",
    ]
    nth: dict[tuple[str, str], int] = {}
    for source, target, kind, label in transitions:
        route = lay.routes[(source, target)]
        bad = kind in _BAD
        stroke = 'stroke="#c62828" stroke-dasharray="6 4"' if bad else 'stroke="#555"'
        marker = "arrow-bad" if bad else "arrow"
        taken = " on-path" if (source, target) in path_edges else ""
        title = f"{source} \u2192 {target}" + (f" ({label})" if label else "")
        # Written from the target back to the source, arrowhead at the start: edges sharing a
        # trunk then share the start of their path, so the dashes of error edges line up on it.
        d = _path(_edge_points(fg, route, lay.boxes, source, target)[::-1])
        out.append(
            f'<g class="edge edge-{kind.value}{taken}" data-source="{_esc(source)}" '
            f'data-target="{_esc(target)}"><title>{_esc(title)}</title>'
            f'<path d="{d}" fill="none" {stroke} marker-start="url(#{marker})"/>'
        )
        if label:
            # Near the start, where an edge is still clearly its source's; a second transition
            # along the same edge (``if x -> a`` with ``a`` next anyway) goes further down it.
            index = nth[(source, target)] = nth.get((source, target), -1) + 1
            if source == target:
                lx, ly, anchor = route.gap[0][0] + 4, lay.boxes[source].cy + 4 + 12 * index, "start"
            else:
                lx, ly = curve_point(*route.gap, min(0.3 + 0.3 * index, 0.9))
                ly, anchor = ly + 3.5, "middle"
            colour = "#c62828" if bad else "#333"
            out.append(
                f'<text x="{_num(lx)}" y="{_num(ly)}" text-anchor="{anchor}" font-size="{_num(_LABEL_SIZE)}" '
                f'fill="{colour}" stroke="#fff" stroke-width="3" paint-order="stroke">'
                f"{_esc(_fit(label, _LABEL_MAX, _LABEL_SIZE))}</text>"
            )
        out.append("</g>")
    for node in fg.nodes():
        box = lay.boxes[node.id]
        extra = f" {_esc(marks[node.id])}" if node.id in marks else ""
        out.append(
            f'<g class="node node-{node.kind.value}{extra}" data-node-id="{_esc(node.id)}" '
            f'data-line="{node.span.line}">'
        )
        out.append(_shape(node.kind, box))
        out.append(f"<title>{_esc(node.id)}\n{_esc(_caption(node))}</title>")
        out.extend(_node_text(node, box))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"

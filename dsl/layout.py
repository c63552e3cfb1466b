"""A layered (Sugiyama-style) top-down layout of a directed graph, for drawing flow graphs.

The steps: break cycles by reversing the back edges a depth-first walk from the start finds; put each
node in the layer of its longest path from the start; split every edge that spans several layers into
one dummy point per layer it crosses, so it can be routed through the gaps between boxes; reorder each
layer by barycenters (with a transpose pass) to cut crossings; then place the layers' contents
horizontally, pulling every point towards its neighbours without letting anything overlap.

Everything is in graph order with explicit tie-breaks and no set iteration, so the same graph always
gets the same drawing. Boxes sit inside horizontal bands (one per layer); edges only change direction in
the gaps between bands and cross a band vertically through a lane kept free of boxes, which is what
guarantees no edge cuts through a box that is not its own end.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from dsl.layout_graph import LAYER_GAP, LOOP, MARGIN, Point, build
from dsl.layout_order import order_layers
from dsl.layout_place import place


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Route:
    """An edge's route from its source to its target, each end on its box's bounding rectangle.
    Segments that change both x and y only ever cross a gap between bands; ``gap`` is the first
    such crossing after the source (where the edge's label goes)."""

    points: tuple[Point, ...]
    gap: tuple[Point, Point]


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    routes: dict[tuple[str, str], Route]
    width: float
    height: float


def curve_point(p: Point, q: Point, t: float) -> Point:
    """The point at ``t`` on the curve drawn between ``p`` and ``q``: a cubic whose control points
    sit at the middle height straight below ``p`` and above ``q``, so it leaves and arrives vertically
    and stays inside the gap it crosses."""
    u = 1 - t
    ym = (p[1] + q[1]) / 2
    x = u**3 * p[0] + 3 * u * u * t * p[0] + 3 * u * t * t * q[0] + t**3 * q[0]
    y = u**3 * p[1] + 3 * u * u * t * ym + 3 * u * t * t * ym + t**3 * q[1]
    return x, y


def _merge(points: list[Point]) -> tuple[Point, ...]:
    """Drops repeated points and the middle of three on one vertical line."""
    out: list[Point] = []
    for p in points:
        if out and out[-1] == p:
            continue
        if len(out) >= 2 and out[-2][0] == out[-1][0] == p[0]:
            out[-1] = p
            continue
        out.append(p)
    return tuple(out)


def layered(
    graph: nx.DiGraph[str],
    start: str,
    sizes: Mapping[str, tuple[float, float]],
    *,
    bundle: Mapping[tuple[str, str], str] | None = None,
) -> Layout:
    """Lays ``graph`` out top-down from ``start``. ``sizes`` gives each node's (width, height);
    edges given the same ``bundle`` key that run into the same node share their long stretch."""
    g, chains, loops = build(graph, start, {n: sizes[n][0] for n in graph.nodes}, bundle or {})
    rows = order_layers(g, g.name.index(start)) if g.name else []
    x = place(g, rows)

    band_h = [max((sizes[n][1] for v in row if (n := g.name[v]) is not None), default=0.0) for row in rows]
    top = [MARGIN]
    for h in band_h[:-1]:
        top.append(top[-1] + h + LAYER_GAP)
    bottom = [t + h for t, h in zip(top, band_h, strict=True)]

    boxes: dict[str, Box] = {}
    for v, name in enumerate(g.name):
        if name is not None:
            w, h = sizes[name]
            k = g.layer[v]
            boxes[name] = Box(x[v] - w / 2, top[k] + (band_h[k] - h) / 2, w, h)

    # Ports: where edges meet a box. Each side's edges are spread evenly across it, ordered by where
    # they come from or go, so they leave without crossing; edges sharing a trunk share a port.
    ports: dict[tuple[int, str], list[tuple[float, int, bool]]] = {}
    for chain in chains:
        first, second, last, before = (
            chain.vertices[0],
            chain.vertices[1],
            chain.vertices[-1],
            chain.vertices[-2],
        )
        for end, side, other in ((first, "bottom", second), (last, "top", before)):
            slot = (x[other], other, chain.back)
            found = ports.setdefault((end, side), [])
            if slot not in found:
                found.append(slot)
    port_x: dict[tuple[int, str, int, bool], float] = {}
    for (v, side), slots in ports.items():
        slots.sort()
        box = boxes[g.name[v] or ""]
        for i, (_, other, is_back) in enumerate(slots):
            port_x[(v, side, other, is_back)] = box.x + box.w * (i + 0.5) / len(slots)

    routes: dict[tuple[str, str], Route] = {}
    for chain in chains:
        vs = chain.vertices
        upper, lower = boxes[g.name[vs[0]] or ""], boxes[g.name[vs[-1]] or ""]
        ux = port_x[(vs[0], "bottom", vs[1], chain.back)]
        lx = port_x[(vs[-1], "top", vs[-2], chain.back)]
        points: list[Point] = [(ux, upper.y + upper.h), (ux, bottom[g.layer[vs[0]]])]
        for d in vs[1:-1]:
            points += [(x[d], top[g.layer[d]]), (x[d], bottom[g.layer[d]])]
        points += [(lx, top[g.layer[vs[-1]]]), (lx, lower.y)]
        if chain.back:
            points.reverse()
        merged = _merge(points)
        gap = _first_gap(merged, top, bottom)
        routes[(chain.source, chain.target)] = Route(merged, gap)
    for name in loops:
        box = boxes[name]
        right, out = box.x + box.w, box.x + box.w + LOOP
        loop = ((right, box.cy - 7), (out, box.cy - 7), (out, box.cy + 7), (right, box.cy + 7))
        routes[(name, name)] = Route(loop, (loop[1], loop[2]))

    width = max((b.x + b.w + (LOOP + 6 if n in loops else 0) for n, b in boxes.items()), default=0.0)
    width = max([width, *(x[v] for v in range(len(x)))]) + MARGIN
    height = (bottom[-1] if bottom else 0.0) + MARGIN
    return Layout(boxes, routes, width, height)


def _first_gap(points: tuple[Point, ...], top: list[float], bottom: list[float]) -> tuple[Point, Point]:
    """The first segment of ``points`` that lies in a gap between two bands."""
    gaps = list(zip(bottom, top[1:], strict=False))
    for p, q in itertools.pairwise(points):
        low, high = min(p[1], q[1]), max(p[1], q[1])
        if any(b <= low and high <= t for b, t in gaps):
            return p, q
    return points[0], points[-1]

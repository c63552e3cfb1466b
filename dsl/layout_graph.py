"""The layered graph a drawing is built on: cycles broken, nodes put in layers, and every edge that
spans several layers split into one dummy vertex per layer it crosses (``dsl.layout`` explains why)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

Point = tuple[float, float]


LAYER_GAP = 42.0  # between two bands: room for the curve and for the labels near each edge's start
NODE_GAP = 28.0  # between two boxes side by side
LANE_GAP = 16.0  # between a lane (an edge crossing a band) and a box or another lane
MARGIN = 20.0
LOOP = 18.0  # how far a self-loop reaches out to the right of its box

# How strongly a link pulls its two ends into line when placing: a long edge's inner stretch
# (dummy to dummy) should be straight, its ends a little less so, and box-to-box links least.
_PULL_LONG, _PULL_END, _PULL_SHORT = 8.0, 2.0, 1.0
ORDER_SWEEPS = 8
PLACE_SWEEPS = 8


@dataclass
class Chain:
    """One graph edge through the layers, from its upper end to its lower end (vertex ids)."""

    source: str
    target: str
    vertices: list[int]
    back: bool  # drawn upwards: the edge closes a loop


class LayeredGraph:
    """The layered graph: real nodes and dummies as ints, linked only between adjacent layers."""

    def __init__(self) -> None:
        self.name: list[str | None] = []
        self.layer: list[int] = []
        self.width: list[float] = []
        self.extra: list[float] = []  # room kept free to the right (a self-loop)
        self.up: list[dict[int, float]] = []
        self.down: list[dict[int, float]] = []

    def add(self, name: str | None, layer: int, width: float) -> int:
        self.name.append(name)
        self.layer.append(layer)
        self.width.append(width)
        self.extra.append(0.0)
        self.up.append({})
        self.down.append({})
        return len(self.name) - 1

    def link(self, upper: int, lower: int) -> None:
        real = (self.name[upper] is not None) + (self.name[lower] is not None)
        pull = (_PULL_LONG, _PULL_END, _PULL_SHORT)[real]
        self.down[upper][lower] = pull
        self.up[lower][upper] = pull


def acyclic(graph: nx.DiGraph[str], start: str) -> tuple[nx.DiGraph[str], set[tuple[str, str]]]:
    """The graph with each back edge a depth-first walk from ``start`` meets turned round (which
    leaves no cycle), and the set of those back edges. Self-loops are left out."""
    dag: nx.DiGraph[str] = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    back: set[tuple[str, str]] = set()
    seen: set[str] = set()
    on_path: set[str] = set()
    for root in [start, *graph.nodes]:
        if root in seen:
            continue
        stack = [(root, iter(list(graph.successors(root))))]
        seen.add(root)
        on_path.add(root)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                on_path.discard(node)
                stack.pop()
            elif child == node:
                continue
            elif child in on_path:
                back.add((node, child))
                dag.add_edge(child, node)
            else:
                dag.add_edge(node, child)
                if child not in seen:
                    seen.add(child)
                    on_path.add(child)
                    stack.append((child, iter(list(graph.successors(child)))))
    return dag, back


def assign_layers(dag: nx.DiGraph[str]) -> dict[str, int]:
    layer: dict[str, int] = {}
    for node in nx.topological_sort(dag):
        layer[node] = max((layer[p] + 1 for p in dag.predecessors(node)), default=0)
    return layer


def build(
    graph: nx.DiGraph[str],
    start: str,
    widths: Mapping[str, float],
    bundle: Mapping[tuple[str, str], str],
) -> tuple[LayeredGraph, list[Chain], list[str]]:
    dag, back = acyclic(graph, start)
    layer = assign_layers(dag)
    g = LayeredGraph()
    vid = {node: g.add(node, layer[node], widths[node]) for node in graph.nodes}
    chains: list[Chain] = []
    loops: list[str] = []
    # Forward edges into the same target with the same bundle key share one run of dummies (a trunk)
    # from the highest of their sources down: many steps failing to one handler make one line, not
    # a fan of parallel ones that would widen every layer they cross.
    groups: dict[tuple[str, str], list[str]] = {}
    for source, target in graph.edges:
        key = bundle.get((source, target))
        if key is not None and (source, target) not in back and layer[target] - layer[source] > 1:
            groups.setdefault((target, key), []).append(source)
    trunks: dict[tuple[str, str], dict[int, int]] = {}
    for (target, key), sources in groups.items():
        if len(sources) > 1:
            top = min(layer[s] for s in sources) + 1
            trunks[(target, key)] = {k: g.add(None, k, 0.0) for k in range(top, layer[target])}
    for source, target in graph.edges:
        if source == target:
            loops.append(source)
            g.extra[vid[source]] = LOOP + 6
            continue
        is_back = (source, target) in back
        upper, lower = (target, source) if is_back else (source, target)
        trunk = trunks.get((target, bundle.get((source, target), ""))) if not is_back else None
        middle = range(layer[upper] + 1, layer[lower])
        inner = [trunk[k] for k in middle] if trunk is not None else [g.add(None, k, 0.0) for k in middle]
        vertices = [vid[upper], *inner, vid[lower]]
        for a, b in itertools.pairwise(vertices):
            g.link(a, b)
        chains.append(Chain(source, target, vertices, is_back))
    return g, chains, loops

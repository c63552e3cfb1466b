"""Transitions of a compiled graph laid out in plain dicts, because reading networkx views on every
step costs more than the step itself."""

from __future__ import annotations

import threading
import weakref

import networkx as nx

from dsl.flowgraph import EdgeKind, FlowGraph, Node


class Plan:
    __slots__ = ("edges", "first", "nodes")

    def __init__(self, graph: FlowGraph) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: dict[str, list[tuple[EdgeKind, str, str]]] = {}
        # (node, kind) -> target of the first transition of that kind; labels are looked up in ``edges``.
        self.first: dict[tuple[str, EdgeKind], str] = {}
        for node_id in graph.graph.nodes:
            self.nodes[node_id] = graph.node(node_id)
            edges = graph.out_edges(node_id)
            self.edges[node_id] = edges
            for kind, _, target in edges:
                self.first.setdefault((node_id, kind), target)

    def follow(self, node_id: str, kind: EdgeKind, label: str | None = None) -> str | None:
        if label is None:
            return self.first.get((node_id, kind))
        for k, lab, target in self.edges[node_id]:
            if k == kind and lab == label:
                return target
        return None


# Keyed by the compiled networkx graph, weakly: a plan lives as long as its graph (simulations and
# flow checks compile graphs by the thousand in a long-running server; none may stay behind).
_plans: weakref.WeakKeyDictionary[nx.DiGraph[str], Plan] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def plan_of(graph: FlowGraph) -> Plan:
    """The plan of ``graph``, made once (graphs are never changed after compiling)."""
    plan = _plans.get(graph.graph)
    if plan is None:
        plan = Plan(graph)
        with _lock:
            _plans[graph.graph] = plan
    return plan

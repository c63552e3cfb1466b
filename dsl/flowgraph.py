"""The compiled form of a flow: typed nodes on a networkx ``DiGraph`` with labelled edges.

This is the contract between the language and the engine. Node ids are stable and readable: the label
where the source gives one, ``<label-or-flow-id>.<n>`` otherwise, where n counts the elements after that
label (the labelled element itself being 1). The implicit end reached by falling off the body is
``<flow-id>.end``.

A ``DiGraph`` holds one edge per pair of nodes; when two transitions of a node lead to the same target
(``if x -> a`` where ``a`` is also the next element) the edge keeps the first as ``kind``/``label``/``order``
and lists all of them in ``transitions``. ``out_edges`` and ``follow`` read ``transitions``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

import networkx as nx

from dsl.diagnostics import Span
from dsl.expression import Expression

__all__ = [
    "ActionNode",
    "AskNode",
    "AssignNode",
    "CallNode",
    "DecisionNode",
    "EdgeKind",
    "EndNode",
    "Expression",
    "FailNode",
    "FlowGraph",
    "InputDecl",
    "Node",
    "NodeKind",
    "ServiceAction",
    "Trigger",
    "WaitEventNode",
    "WaitTimerNode",
]


class NodeKind(StrEnum):
    ACTION = "action"
    ASSIGN = "assign"
    DECISION = "decision"
    WAIT_EVENT = "wait_event"
    WAIT_TIMER = "wait_timer"
    ASK = "ask"
    CALL = "call"
    END = "end"
    FAIL = "fail"


class EdgeKind(StrEnum):
    NEXT = "next"
    TRUE = "true"
    FALSE = "false"
    WHEN = "when"
    OTHERWISE = "otherwise"
    OUTCOME = "outcome"
    ERROR = "error"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class ActionNode:
    id: str
    span: Span
    label: str | None
    action: str
    args: dict[str, Expression]
    bind: str | None = None
    retry: int = 0
    retry_every_s: float = 0.0
    timeout_s: float | None = None
    kind: NodeKind = field(default=NodeKind.ACTION, init=False)


@dataclass(frozen=True)
class AssignNode:
    id: str
    span: Span
    label: str | None
    name: str
    value: Expression
    kind: NodeKind = field(default=NodeKind.ASSIGN, init=False)


@dataclass(frozen=True)
class DecisionNode:
    """``if`` has one condition; ``decide`` one per ``when``, tried in order."""

    id: str
    span: Span
    label: str | None
    conditions: tuple[Expression, ...]
    kind: NodeKind = field(default=NodeKind.DECISION, init=False)


@dataclass(frozen=True)
class WaitEventNode:
    id: str
    span: Span
    label: str | None
    event: str
    where: Expression | None = None
    bind: str | None = None
    timeout_s: float | None = None
    kind: NodeKind = field(default=NodeKind.WAIT_EVENT, init=False)


@dataclass(frozen=True)
class WaitTimerNode:
    id: str
    span: Span
    label: str | None
    duration_s: float
    kind: NodeKind = field(default=NodeKind.WAIT_TIMER, init=False)


@dataclass(frozen=True)
class AskNode:
    id: str
    span: Span
    label: str | None
    role: str
    prompt: Expression
    outcomes: tuple[str, ...]
    kind: NodeKind = field(default=NodeKind.ASK, init=False)


@dataclass(frozen=True)
class CallNode:
    id: str
    span: Span
    label: str | None
    flow_id: str
    args: dict[str, Expression]
    # (NAME, EXPR) of `for each NAME in EXPR`: the call runs once per item, NAME bound in the args.
    for_each: tuple[str, Expression] | None = None
    bind: str | None = None
    kind: NodeKind = field(default=NodeKind.CALL, init=False)


@dataclass(frozen=True)
class EndNode:
    id: str
    span: Span
    label: str | None
    kind: NodeKind = field(default=NodeKind.END, init=False)


@dataclass(frozen=True)
class FailNode:
    id: str
    span: Span
    label: str | None
    message: Expression
    category: str | None = None
    kind: NodeKind = field(default=NodeKind.FAIL, init=False)


Node: TypeAlias = (
    ActionNode
    | AssignNode
    | DecisionNode
    | WaitEventNode
    | WaitTimerNode
    | AskNode
    | CallNode
    | EndNode
    | FailNode
)


@dataclass(frozen=True)
class Trigger:
    event: str
    when: Expression | None = None


@dataclass(frozen=True)
class ServiceAction:
    name: str
    label: str


@dataclass(frozen=True)
class InputDecl:
    name: str
    type: str
    default: Any = None
    has_default: bool = False
    help: str | None = None


@dataclass
class FlowGraph:
    id: str
    title: str
    kind: str
    description: str | None
    trigger: Trigger | None
    action: ServiceAction | None
    inputs: tuple[InputDecl, ...]
    graph: nx.DiGraph[str]
    start: str
    span: Span | None = None

    def node(self, node_id: str) -> Node:
        node: Node = self.graph.nodes[node_id]["node"]
        return node

    def nodes(self) -> list[Node]:
        """Every node, in source order (the implicit end last)."""
        return [data["node"] for _, data in self.graph.nodes(data=True)]

    def out_edges(self, node_id: str) -> list[tuple[EdgeKind, str, str]]:
        """The transitions leaving ``node_id`` as (kind, label, target), in the order the source gives."""
        found: list[tuple[int, EdgeKind, str, str]] = []
        for _, target, data in self.graph.out_edges(node_id, data=True):
            for kind, label, order in data["transitions"]:
                found.append((order, kind, label, target))
        found.sort(key=lambda t: t[0])
        return [(kind, label, target) for _, kind, label, target in found]

    def follow(self, node_id: str, kind: EdgeKind, label: str | None = None) -> str | None:
        """The target of the first transition of ``kind`` (and ``label``, if given), or None."""
        for k, lab, target in self.out_edges(node_id):
            if k == kind and (label is None or lab == label):
                return target
        return None

    def input(self, name: str) -> InputDecl | None:
        return next((i for i in self.inputs if i.name == name), None)

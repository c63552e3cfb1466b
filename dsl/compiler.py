"""Syntax tree to FlowGraph: node ids, transitions, jumps resolved through labels and `->` lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from dsl import ast
from dsl.diagnostics import Diagnostic, Span, error
from dsl.expression import Expression
from dsl.flowgraph import (
    ActionNode,
    AskNode,
    AssignNode,
    CallNode,
    DecisionNode,
    EdgeKind,
    EndNode,
    FailNode,
    FlowGraph,
    InputDecl,
    Node,
    ServiceAction,
    Trigger,
    WaitEventNode,
    WaitTimerNode,
)
from dsl.suggest import did_you_mean

FLOW_KINDS = ("fulfillment", "service", "custom")


@dataclass
class CompiledFlow:
    """A FlowGraph with what the validator needs to point back into the source."""

    graph: FlowGraph
    flow: ast.Flow
    elements: dict[str, ast.Element] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


class _SourceText:
    def __init__(self, source: str) -> None:
        self.lines = source.split("\n")

    def slice(self, span: Span) -> str:
        if span.line == span.end_line:
            return self.lines[span.line - 1][span.column - 1 : span.end_column - 1]
        first = self.lines[span.line - 1][span.column - 1 :]
        middle = self.lines[span.line : span.end_line - 1]
        last = self.lines[span.end_line - 1][: span.end_column - 1]
        return "\n".join([first, *middle, last])


def constant_value(node: ast.Expr) -> tuple[bool, Any]:
    """The value of a constant expression (literals and lists of them), if it is one."""
    if isinstance(node, ast.Literal):
        return True, node.value
    if isinstance(node, ast.ListExpr):
        values = []
        for item in node.items:
            ok, value = constant_value(item)
            if not ok:
                return False, None
            values.append(value)
        return True, values
    return False, None


class FlowCompiler:
    def __init__(self, source: str) -> None:
        self.text = _SourceText(source)

    def expression(self, node: ast.Expr) -> Expression:
        return Expression(self.text.slice(node.span), node.span, node)

    def compile(self, flow: ast.Flow) -> CompiledFlow:
        diagnostics: list[Diagnostic] = []
        header = self._headers(flow, diagnostics)
        elements: list[ast.Element] = []
        labels_before: list[list[ast.Label]] = []
        pending: list[ast.Label] = []
        label_index: dict[str, int] = {}
        for item in flow.body:
            if isinstance(item, ast.Label):
                name = item.name.name
                if name in label_index:
                    diagnostics.append(
                        error("duplicate-label", f"the label '{name}' is already used above", item.name.span)
                    )
                else:
                    label_index[name] = len(elements)
                pending.append(item)
            else:
                elements.append(item)
                labels_before.append(pending)
                pending = []

        ids = self._ids(flow.id.name, elements, labels_before)
        end_id = f"{flow.id.name}.end"
        needs_end = False

        def resolve(index: int, seen: frozenset[int] = frozenset()) -> str:
            nonlocal needs_end
            while index < len(elements) and isinstance(elements[index], ast.Goto):
                if index in seen:
                    needs_end = True
                    return end_id  # reported as goto-loop
                seen = seen | {index}
                target = elements[index]
                assert isinstance(target, ast.Goto)
                index = label_index.get(target.target.name, len(elements))
            if index >= len(elements):
                needs_end = True
                return end_id
            return ids[index]

        def jump(target: ast.Ident) -> str | None:
            if target.name not in label_index:
                hint = did_you_mean(target.name, label_index)
                diagnostics.append(
                    error("unknown-label", f"no label '{target.name}' in this flow{hint}", target.span)
                )
                return None
            index = label_index[target.name]
            if self._goto_cycle(index, elements, label_index):
                diagnostics.append(
                    error(
                        "goto-loop",
                        f"'-> {target.name}' jumps in a circle that never runs a step",
                        target.span,
                    )
                )
                return None
            return resolve(index)

        graph: nx.DiGraph[str] = nx.DiGraph()
        compiled = CompiledFlow(graph=None, flow=flow, diagnostics=diagnostics)  # type: ignore[arg-type]
        edges: list[tuple[str, str, EdgeKind, str]] = []
        for index, element in enumerate(elements):
            if isinstance(element, ast.Goto):
                jump(element.target)  # checked here; the jump itself is an edge of whatever comes before
                continue
            node_id = ids[index]
            label = labels_before[index][-1].name.name if labels_before[index] else None
            node = self._node(element, node_id, label)
            graph.add_node(node_id, node=node)
            compiled.elements[node_id] = element

            def add(kind: EdgeKind, edge_label: str, target: str | None, _src: str = node_id) -> None:
                if target is not None:
                    edges.append((_src, target, kind, edge_label))

            self._transitions(element, add, jump, lambda i=index: resolve(i + 1))

        start = resolve(0)
        if needs_end or not elements:
            last = flow.end_span
            graph.add_node(end_id, node=EndNode(end_id, last, None))
        counter: dict[str, int] = {}
        for source_id, target, kind, edge_label in edges:
            order = counter.get(source_id, 0)
            counter[source_id] = order + 1
            existing = graph.get_edge_data(source_id, target)
            if existing is not None:
                existing["transitions"].append((kind, edge_label, order))
            else:
                transitions = [(kind, edge_label, order)]
                graph.add_edge(
                    source_id, target, kind=kind, label=edge_label, order=order, transitions=transitions
                )
        compiled.graph = FlowGraph(
            id=flow.id.name,
            title=flow.title,
            kind=header["kind"],
            description=header["description"],
            trigger=header["trigger"],
            action=header["action"],
            inputs=tuple(header["inputs"]),
            graph=graph,
            start=start,
            span=flow.span,
        )
        return compiled

    @staticmethod
    def _goto_cycle(index: int, elements: list[ast.Element], label_index: dict[str, int]) -> bool:
        seen: set[int] = set()
        while index < len(elements):
            element = elements[index]
            if not isinstance(element, ast.Goto):
                return False
            if index in seen:
                return True
            seen.add(index)
            index = label_index.get(element.target.name, len(elements))
        return False

    @staticmethod
    def _ids(flow_id: str, elements: list[ast.Element], labels_before: list[list[ast.Label]]) -> list[str]:
        ids: list[str] = []
        prefix, n = flow_id, 0
        for index in range(len(elements)):
            if labels_before[index]:
                prefix, n = labels_before[index][-1].name.name, 0
            n += 1
            ids.append(prefix if n == 1 and prefix != flow_id else f"{prefix}.{n}")
        return ids

    def _headers(self, flow: ast.Flow, diagnostics: list[Diagnostic]) -> dict[str, Any]:
        result: dict[str, Any] = {"kind": "custom", "description": None, "trigger": None, "action": None}
        inputs: list[InputDecl] = []
        seen: set[str] = set()
        for h in flow.headers:
            key = type(h).__name__
            if key in seen and not isinstance(h, ast.InputHeader):
                diagnostics.append(
                    error("duplicate-header", "this header line is already given above", h.span)
                )
                continue
            seen.add(key)
            if isinstance(h, ast.KindHeader):
                if h.kind.name not in FLOW_KINDS:
                    hint = did_you_mean(h.kind.name, FLOW_KINDS)
                    message = f"unknown flow kind '{h.kind.name}'; use fulfillment, service or custom{hint}"
                    diagnostics.append(error("unknown-kind", message, h.kind.span))
                else:
                    result["kind"] = h.kind.name
            elif isinstance(h, ast.TriggerHeader):
                when = self.expression(h.when) if h.when is not None else None
                result["trigger"] = Trigger(h.event.name, when)
            elif isinstance(h, ast.ActionHeader):
                result["action"] = ServiceAction(h.name.name, h.label)
            elif isinstance(h, ast.DescriptionHeader):
                result["description"] = h.text
            else:
                if any(i.name == h.name.name for i in inputs):
                    diagnostics.append(
                        error("duplicate-input", f"the input '{h.name.name}' is declared above", h.name.span)
                    )
                    continue
                default: Any = None
                if h.default is not None:
                    ok, default = constant_value(h.default)
                    if not ok:
                        diagnostics.append(
                            error("bad-default", "a default must be a constant", h.default.span)
                        )
                inputs.append(InputDecl(h.name.name, h.type.name, default, h.default is not None, h.help))
        result["inputs"] = inputs
        return result

    def _node(self, e: ast.Element, node_id: str, label: str | None) -> Node:
        span = e.span
        if isinstance(e, ast.Do):
            return ActionNode(
                node_id,
                span,
                label,
                action=e.action.name,
                args={a.name.name: self.expression(a.value) for a in e.args},
                bind=e.bind.name if e.bind else None,
                retry=e.retry or 0,
                retry_every_s=e.every.seconds if e.every else 0.0,
                timeout_s=e.timeout.seconds if e.timeout else None,
            )
        if isinstance(e, ast.SetStmt):
            return AssignNode(node_id, span, label, e.name.name, self.expression(e.value))
        if isinstance(e, ast.IfStmt):
            return DecisionNode(node_id, span, label, (self.expression(e.condition),))
        if isinstance(e, ast.Decide):
            return DecisionNode(node_id, span, label, tuple(self.expression(w.condition) for w in e.whens))
        if isinstance(e, ast.WaitFor):
            return WaitEventNode(
                node_id,
                span,
                label,
                e.event.name,
                self.expression(e.where) if e.where is not None else None,
                e.bind.name if e.bind else None,
                e.timeout.seconds if e.timeout else None,
            )
        if isinstance(e, ast.WaitTime):
            return WaitTimerNode(node_id, span, label, e.duration.seconds)
        if isinstance(e, ast.Ask):
            outcomes = tuple(dict.fromkeys(o.name.name for o in e.outcomes))
            return AskNode(node_id, span, label, e.role, self.expression(e.prompt), outcomes)
        if isinstance(e, ast.CallFlow):
            each = (e.each.name, self.expression(e.each_in)) if e.each and e.each_in else None
            args = {a.name.name: self.expression(a.value) for a in e.args}
            return CallNode(node_id, span, label, e.flow.name, args, each, e.bind.name if e.bind else None)
        if isinstance(e, ast.Done):
            return EndNode(node_id, span, label)
        assert isinstance(e, ast.Fail)
        return FailNode(node_id, span, label, self.expression(e.message), e.category)

    @staticmethod
    def _transitions(e: ast.Element, add: Any, jump: Any, following: Any) -> None:
        if isinstance(e, ast.Do):
            add(EdgeKind.NEXT, "", following())
            if e.on_error is not None:
                add(EdgeKind.ERROR, "error", jump(e.on_error))
        elif isinstance(e, ast.SetStmt | ast.WaitTime | ast.CallFlow):
            add(EdgeKind.NEXT, "", following())
        elif isinstance(e, ast.IfStmt):
            add(EdgeKind.TRUE, "true", jump(e.then))
            add(EdgeKind.FALSE, "false", jump(e.otherwise) if e.otherwise else following())
        elif isinstance(e, ast.Decide):
            for number, when in enumerate(e.whens, start=1):
                add(EdgeKind.WHEN, f"when {number}", jump(when.target))
            add(EdgeKind.OTHERWISE, "otherwise", jump(e.otherwise) if e.otherwise else following())
        elif isinstance(e, ast.WaitFor):
            add(EdgeKind.NEXT, "", following())
            if e.timeout_target is not None:
                add(EdgeKind.TIMEOUT, "timeout", jump(e.timeout_target))
        elif isinstance(e, ast.Ask):
            seen: set[str] = set()
            for outcome in e.outcomes:
                if outcome.name.name not in seen:
                    seen.add(outcome.name.name)
                    add(EdgeKind.OUTCOME, outcome.name.name, jump(outcome.target))


__all__ = ["CompiledFlow", "FlowCompiler", "constant_value"]

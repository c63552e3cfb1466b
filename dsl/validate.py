"""Checks a compiled flow against the catalog and itself: names, actions, events, loops, dead code.

Names are checked flow-sensitively but forgivingly: a name may be used where at least one path from the
start can have set it (by `as`, `set` or `for each`). `error` is set only along `on error` edges, so it
may be used only in elements that some error path reaches. A path that does not set the name fails at
run time with an ExpressionError.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import networkx as nx

from dsl import ast
from dsl.catalog import INPUT_TYPES, ActionSpec, Catalog
from dsl.compiler import CompiledFlow, constant_value
from dsl.diagnostics import Diagnostic, error, warning
from dsl.flowgraph import (
    ActionNode,
    AssignNode,
    CallNode,
    DecisionNode,
    EdgeKind,
    FlowGraph,
    NodeKind,
    WaitEventNode,
)
from dsl.functions import FUNCTIONS
from dsl.suggest import did_you_mean
from dsl.walk import walk

BUILTIN_NAMES = frozenset({"summary", "order", "input", "event"})
RESERVED_NAMES = BUILTIN_NAMES | {"error", "true", "false", "null"}
_WAITS = (NodeKind.WAIT_EVENT, NodeKind.WAIT_TIMER, NodeKind.ASK)


def literal_fits(param_type: str, value: Any) -> bool:
    """Whether a constant written in the flow can be passed where ``param_type`` is expected."""
    if param_type == "any":
        return True
    if param_type in ("text", "date"):
        if not isinstance(value, str):
            return False
        if param_type == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                return False
        return True
    if param_type == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if param_type in ("decimal", "money"):
        return isinstance(value, int | Decimal) and not isinstance(value, bool)
    if param_type == "bool":
        return isinstance(value, bool)
    if param_type in ("item_quantities", "sku_quantities", "list"):
        return isinstance(value, list)
    return False  # a record is never written as a literal


def _literal_of(node: ast.Expr) -> tuple[bool, Any]:
    if isinstance(node, ast.Interpolated):
        return True, ""
    return constant_value(node)


class Validator:
    def __init__(self, compiled: CompiledFlow, catalog: Catalog, flows: dict[str, ast.Flow]) -> None:
        self.c = compiled
        self.fg: FlowGraph = compiled.graph
        self.catalog = catalog
        self.flows = flows
        self.out: list[Diagnostic] = []
        self.inputs = {h.name.name for h in compiled.flow.headers if isinstance(h, ast.InputHeader)}
        self.bound_anywhere = self._all_bindings()
        self.fields = self._field_sets()

    def run(self) -> list[Diagnostic]:
        self._headers()
        for node_id, element in self.c.elements.items():
            self._element(node_id, element)
        self._names()
        self._loops()
        # dead code is often a consequence of an error (a jump that went nowhere); say it only once clean
        if not any(d.severity == "error" for d in self.out) and not any(
            d.severity == "error" for d in self.c.diagnostics
        ):
            self._reachability()
        return self.out

    # ------------------------------------------------------------ headers and elements

    def _headers(self) -> None:
        for h in self.c.flow.headers:
            if isinstance(h, ast.InputHeader):
                if h.type.name not in INPUT_TYPES:
                    hint = did_you_mean(h.type.name, INPUT_TYPES)
                    self.out.append(
                        error("unknown-type", f"unknown input type '{h.type.name}'{hint}", h.type.span)
                    )
                elif h.default is not None:
                    ok, value = constant_value(h.default)
                    if ok and not (value is None or literal_fits(h.type.name, value)):
                        message = f"this default does not fit the type {h.type.name}"
                        self.out.append(error("bad-default", message, h.default.span))
            elif isinstance(h, ast.TriggerHeader):
                self._event(h.event)
                if h.when is not None:
                    self._expression(h.when, BUILTIN_NAMES, event=h.event.name)
            elif (
                isinstance(h, ast.KindHeader)
                and h.kind.name == "service"
                and not any(isinstance(x, ast.ActionHeader) for x in self.c.flow.headers)
            ):
                message = "a service flow without an `action` line cannot be started by agents"
                self.out.append(warning("missing-action", message, h.span))

    def _event(self, event: ast.Ident) -> None:
        if event.name not in self.catalog.events:
            hint = did_you_mean(event.name, self.catalog.events)
            self.out.append(error("unknown-event", f"unknown event '{event.name}'{hint}", event.span))

    def _element(self, node_id: str, e: ast.Element) -> None:
        if isinstance(e, ast.Do):
            self._action(e)
        elif isinstance(e, ast.CallFlow):
            self._call(e)
        elif isinstance(e, ast.WaitFor):
            self._event(e.event)
        elif isinstance(e, ast.Ask):
            if not e.outcomes:
                message = "`ask` needs at least one `OUTCOME -> LABEL` line under it"
                self.out.append(error("no-outcomes", message, e.span))
            seen: set[str] = set()
            for o in e.outcomes:
                if o.name.name in seen:
                    message = f"the outcome '{o.name.name}' is already given above"
                    self.out.append(error("duplicate-outcome", message, o.name.span))
                seen.add(o.name.name)
        elif isinstance(e, ast.Decide) and not e.whens:
            self.out.append(
                error("empty-decide", "`decide` needs at least one `when EXPR -> LABEL` line", e.span)
            )
        bind = _bind_of(e)
        if bind is not None and bind.name in RESERVED_NAMES:
            self.out.append(
                error("reserved-name", f"'{bind.name}' is a name the language sets itself", bind.span)
            )

    def _args(self, args: Iterable[ast.Arg], known: dict[str, Any], where: str) -> set[str]:
        given: set[str] = set()
        for arg in args:
            name = arg.name.name
            if name in given:
                self.out.append(error("duplicate-argument", f"'{name}' is given twice", arg.name.span))
            given.add(name)
            if name not in known:
                hint = did_you_mean(name, known)
                self.out.append(
                    error("unknown-argument", f"{where} takes no argument '{name}'{hint}", arg.name.span)
                )
        return given

    def _action(self, e: ast.Do) -> None:
        spec: ActionSpec | None = self.catalog.actions.get(e.action.name)
        if spec is None:
            hint = did_you_mean(e.action.name, self.catalog.actions)
            self.out.append(error("unknown-action", f"unknown action '{e.action.name}'{hint}", e.action.span))
            return
        before = len(self.out)
        given = self._args(e.args, spec.params, f"'{spec.name}'")
        missing = [p.name for p in spec.params.values() if p.required and p.name not in given]
        # a misspelt argument already explains the missing one
        if missing and len(self.out) == before:
            names = ", ".join(missing)
            self.out.append(error("missing-argument", f"'{spec.name}' needs {names}", e.action.span))
        for arg in e.args:
            param = spec.params.get(arg.name.name)
            if param is None:
                continue
            ok, value = _literal_of(arg.value)
            if ok and not (value is None and not param.required) and not literal_fits(param.type, value):
                message = f"'{arg.name.name}' of '{spec.name}' takes {param.type}, not this constant"
                self.out.append(error("argument-type", message, arg.value.span))

    def _call(self, e: ast.CallFlow) -> None:
        callee = self.flows.get(e.flow.name)
        if callee is None:
            known = set(self.flows) | set(self.catalog.flows or ())
            if self.catalog.flows is None or e.flow.name not in self.catalog.flows:
                hint = did_you_mean(e.flow.name, known)
                self.out.append(error("unknown-flow", f"no flow '{e.flow.name}' to call{hint}", e.flow.span))
            return
        inputs = {h.name.name: h for h in callee.headers if isinstance(h, ast.InputHeader)}
        given = self._args(e.args, inputs, f"the flow '{e.flow.name}'")
        missing = [n for n, h in inputs.items() if h.default is None and n not in given]
        if missing:
            message = f"the flow '{e.flow.name}' needs {', '.join(missing)}"
            self.out.append(error("missing-argument", message, e.flow.span))

    # ------------------------------------------------------------ names

    def _all_bindings(self) -> set[str]:
        names: set[str] = set()
        for e in self.c.elements.values():
            bind = _bind_of(e)
            if bind is not None:
                names.add(bind.name)
        return names

    def _in_scope(self) -> dict[str, Collection[str]]:
        """For each node, the names some path from the start can have set on arrival (a fixpoint).

        Scopes are bit masks over the flow's names: along a long flow every element adds a name, and
        copying and merging sets of hundreds of names at each step made this quadratic."""
        graph = self.fg.graph
        index: dict[str, int] = {}

        def bit(name: str) -> int:
            if name not in index:
                index[name] = len(index)
            return 1 << index[name]

        start = 0
        for name in sorted(BUILTIN_NAMES):
            start |= bit(name)
        error_bit = bit("error")
        masks: dict[str, int] = dict.fromkeys(graph.nodes, 0)
        masks[self.fg.start] = start
        work = [self.fg.start]
        while work:
            node_id = work.pop()
            bind = _node_bind(self.fg.node(node_id))
            bind_bit = bit(bind) if bind is not None else 0
            for target, data in graph.succ[node_id].items():
                for kind, _, _ in data["transitions"]:
                    flowing = masks[node_id]
                    if kind is EdgeKind.ERROR:
                        flowing |= error_bit
                    elif kind is not EdgeKind.TIMEOUT:
                        flowing |= bind_bit
                    if flowing & ~masks[target]:
                        masks[target] |= flowing
                        work.append(target)
        return {node_id: _Scope(mask, index) for node_id, mask in masks.items()}

    def _names(self) -> None:
        scope = self._in_scope()
        reachable = self._reachable
        everything = BUILTIN_NAMES | self.bound_anywhere | {"error"}
        for node_id, e in self.c.elements.items():
            names = scope[node_id] if node_id in reachable else everything
            waited = e.event.name if isinstance(e, ast.WaitFor) else None
            for expr, extra in _expressions_of(e):
                self._expression(expr, frozenset(names) | extra if extra else names, event=waited)

    def _field_sets(self) -> dict[str, frozenset[str]]:
        """Names whose every binding has known fields (action results, event payloads)."""
        known: dict[str, frozenset[str]] = {}
        unknown: set[str] = set()
        for e in self.c.elements.values():
            fields: frozenset[str] | None = None
            if isinstance(e, ast.Do) and e.bind is not None:
                spec = self.catalog.actions.get(e.action.name)
                fields = spec.result_fields if spec is not None else None
                name = e.bind.name
            elif isinstance(e, ast.WaitFor) and e.bind is not None:
                event = self.catalog.events.get(e.event.name)
                fields = event.payload_fields if event is not None else None
                name = e.bind.name
            else:
                bind = _bind_of(e)
                if bind is not None:
                    unknown.add(bind.name)
                continue
            if fields is None:
                unknown.add(name)
            else:
                known[name] = known.get(name, frozenset()) | fields
        return {k: v for k, v in known.items() if k not in unknown}

    def _expression(self, expr: ast.Expr, names: Collection[str], event: str | None = None) -> None:
        fields = self.fields
        if event is not None and event in self.catalog.events:
            fields = {**fields, "event": self.catalog.events[event].payload_fields}
        for node in walk(expr):
            if isinstance(node, ast.Name):
                self._name(node, names)
            elif isinstance(node, ast.Field) and isinstance(node.obj, ast.Name):
                root = node.obj.name
                if root == "input" and node.name not in self.inputs:
                    hint = did_you_mean(node.name, self.inputs)
                    message = f"this flow declares no input '{node.name}'{hint}"
                    self.out.append(error("unknown-input", message, node.name_span))
                elif root in fields and root in names and node.name not in fields[root]:
                    hint = did_you_mean(node.name, fields[root])
                    message = f"'{root}' has no field '{node.name}'{hint}"
                    self.out.append(error("unknown-field", message, node.name_span))
            elif isinstance(node, ast.Call):
                check_call(node, self.out)

    def _name(self, node: ast.Name, names: Collection[str]) -> None:
        name = node.name
        if name in names:
            return
        if name == "error":
            message = "'error' is only set on an error path (after `on error ->`)"
        elif name in self.bound_anywhere:
            message = f"'{name}' is not set on any path that reaches here"
        else:
            hint = did_you_mean(name, {*names, *self.bound_anywhere})
            message = f"unknown name '{name}'{hint}"
        self.out.append(error("unknown-name", message, node.span))

    # ------------------------------------------------------------ graph shape

    @functools.cached_property
    def _reachable(self) -> set[str]:
        return {self.fg.start} | set(nx.descendants(self.fg.graph, self.fg.start))

    def _reachability(self) -> None:
        dead = set(self.fg.graph.nodes) - self._reachable - {f"{self.fg.id}.end"}
        covered: set[str] = set()
        # one warning per dead region, at its first element
        for node_id in sorted(dead, key=lambda n: self.fg.node(n).span):
            if node_id in covered:
                continue
            covered |= {node_id} | (nx.descendants(self.fg.graph, node_id) & dead)
            message = "no path from the start reaches this element"
            self.out.append(warning("unreachable", message, self.fg.node(node_id).span))

    def _loops(self) -> None:
        graph = self.fg.graph
        for component in nx.strongly_connected_components(graph):
            if len(component) == 1:
                only = next(iter(component))
                if not graph.has_edge(only, only):
                    continue
            if self._loop_is_bounded(component):
                continue
            first = min(component, key=lambda n: self.fg.node(n).span)
            message = (
                "this loop has no wait and no counter that ends it; add a `wait`, `wait for` or `ask`, "
                "or count rounds with `set` and leave the loop with `if`"
            )
            self.out.append(error("unbounded-loop", message, self.fg.node(first).span))

    def _loop_is_bounded(self, component: set[str]) -> bool:
        nodes = [self.fg.node(n) for n in component]
        if any(n.kind in _WAITS for n in nodes):
            return True
        counters = {n.name for n in nodes if isinstance(n, AssignNode)}
        for n in nodes:
            if not isinstance(n, DecisionNode):
                continue
            leaves = any(t not in component for t in self.fg.graph.successors(n.id))
            uses = {x.name for cond in n.conditions for x in walk(cond.ast) if isinstance(x, ast.Name)}
            if leaves and uses & counters:
                return True
        return False


class _Scope(Collection[str]):
    """The names in scope at a node: a bit mask over an index of the flow's names."""

    __slots__ = ("_index", "_mask")

    def __init__(self, mask: int, index: dict[str, int]) -> None:
        self._mask = mask
        self._index = index

    def __contains__(self, name: object) -> bool:
        position = self._index.get(name) if isinstance(name, str) else None
        return position is not None and bool(self._mask >> position & 1)

    def __iter__(self) -> Iterator[str]:
        return (name for name, position in self._index.items() if self._mask >> position & 1)

    def __len__(self) -> int:
        return self._mask.bit_count()


def check_call(node: ast.Call, out: list[Diagnostic]) -> None:
    if node.func not in FUNCTIONS:
        hint = did_you_mean(node.func, FUNCTIONS)
        out.append(error("unknown-function", f"unknown function '{node.func}'{hint}", node.func_span))
        return
    _, least, most = FUNCTIONS[node.func]
    count = len(node.args)
    if count < least or (most is not None and count > most):
        wanted = str(least) if least == most else f"{least} or more" if most is None else f"{least} to {most}"
        message = f"{node.func}() takes {wanted} argument{'s' if wanted != '1' else ''}, not {count}"
        out.append(error("function-arity", message, node.span))


def _bind_of(e: ast.Element) -> ast.Ident | None:
    if isinstance(e, ast.Do | ast.WaitFor | ast.CallFlow):
        return e.bind
    if isinstance(e, ast.SetStmt):
        return e.name
    return None


def _node_bind(node: Any) -> str | None:
    if isinstance(node, ActionNode | WaitEventNode | CallNode):
        return node.bind
    if isinstance(node, AssignNode):
        return node.name
    return None


def _expressions_of(e: ast.Element) -> list[tuple[ast.Expr, frozenset[str]]]:
    """The expressions of an element, each with names that only it may use (`for each NAME`)."""
    none: frozenset[str] = frozenset()
    if isinstance(e, ast.Do):
        return [(a.value, none) for a in e.args]
    if isinstance(e, ast.SetStmt):
        return [(e.value, none)]
    if isinstance(e, ast.IfStmt):
        return [(e.condition, none)]
    if isinstance(e, ast.Decide):
        return [(w.condition, none) for w in e.whens]
    if isinstance(e, ast.WaitFor):
        return [(e.where, none)] if e.where is not None else []
    if isinstance(e, ast.Ask):
        return [(e.prompt, none)]
    if isinstance(e, ast.CallFlow):
        each = frozenset({e.each.name}) if e.each else none
        found = [(a.value, each) for a in e.args]
        if e.each_in is not None:
            found.insert(0, (e.each_in, none))
        return found
    if isinstance(e, ast.Fail):
        return [(e.message, none)]
    return []


__all__ = ["BUILTIN_NAMES", "Validator", "check_call", "literal_fits"]

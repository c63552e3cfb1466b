"""Runs kept in memory only: no database, no durability. For the benchmark, fast tests and tools.

Same interpreter as the durable driver; waits park the run in a dict and ``publish``,
``complete_task`` and ``run_due`` (with the runtime's clock) wake it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dsl.diagnostics import ExpressionError
from dsl.flowgraph import FlowGraph, WaitEventNode
from engine.interpreter import NOT_FAST, StepEnv, child_result, execute, fast_step, resume
from engine.plan import plan_of
from engine.runtime import Runtime
from engine.scope import Scope
from engine.state import Failure, RunState, StepRecord, WaitSpec


@dataclass
class MemoryRun:
    state: RunState
    graph: FlowGraph
    steps: list[StepRecord] = field(default_factory=list)
    wait: WaitSpec | None = None
    signal: dict[str, Any] | None = None
    failure: Failure | None = None
    pending_children: int = 0
    children: list[str] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.state.status

    @property
    def path(self) -> list[str]:
        return [step.node_id for step in self.steps]


class MemoryEngine:
    def __init__(self, runtime: Runtime, flows: Iterable[FlowGraph], *, record_steps: bool = True) -> None:
        self.runtime = runtime
        self.flows = {graph.id: graph for graph in flows}
        self.runs: dict[str, MemoryRun] = {}
        self.tasks: dict[str, tuple[str, dict[str, Any]]] = {}
        self.record_steps = record_steps
        self._ids = itertools.count(1)
        self._env = StepEnv(runtime, None, self._emit, record=record_steps)
        self._current: MemoryRun | None = None

    # -- starting and waking ------------------------------------------------------------------------
    def start(
        self,
        flow_id: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        subject_id: str | None = None,
        event: Mapping[str, Any] | None = None,
        parent: tuple[str, int] | None = None,
    ) -> MemoryRun:
        graph = self.flows[flow_id]
        variables: dict[str, Any] = {"input": dict(inputs or {})}
        if event is not None:
            variables["event"] = dict(event)
        state = RunState(
            id=f"mem_{next(self._ids)}",
            flow_id=flow_id,
            version_number=1,
            subject_id=subject_id,
            node=graph.start,
            variables=variables,
        )
        if parent is not None:
            state.parent_run_id, state.parent_index = parent
        run = MemoryRun(state, graph)
        self.runs[state.id] = run
        self._drive(run)
        return run

    def publish(
        self, event_name: str, payload: Mapping[str, Any], subject_id: str | None = None
    ) -> list[str]:
        payload = dict(payload)
        touched = []
        for graph in list(self.flows.values()):
            trigger = graph.trigger
            if trigger is None or trigger.event != event_name:
                continue
            if trigger.when is not None:
                scope = Scope({"event": payload}, self.runtime.registry, None, subject_id, self.runtime.clock)
                try:
                    if not trigger.when.evaluate(scope):
                        continue
                except ExpressionError:
                    continue
            touched.append(self.start(graph.id, subject_id=subject_id, event=payload).state.id)
        for run in list(self.runs.values()):
            wait = run.wait
            if (
                wait is None
                or wait.kind != "event"
                or wait.event_name != event_name
                or run.signal is not None
            ):
                continue
            if subject_id is not None and run.state.subject_id not in (None, subject_id):
                continue
            node = run.graph.node(wait.node_id)
            if isinstance(node, WaitEventNode) and node.where is not None:
                scope = Scope(
                    run.state.variables,
                    self.runtime.registry,
                    None,
                    run.state.subject_id,
                    self.runtime.clock,
                    {"event": payload},
                )
                try:
                    if not node.where.evaluate(scope):
                        continue
                except ExpressionError:
                    continue
            run.signal = {"via": "event", "payload": payload}
            touched.append(run.state.id)
            self._wake(run)
        return touched

    def complete_task(self, task_id: str, outcome: str) -> MemoryRun:
        run_id, task = self.tasks.pop(task_id)
        if outcome not in task["outcomes"]:
            raise ValueError(f"outcome must be one of {task['outcomes']}")
        run = self.runs[run_id]
        run.signal = {"via": "outcome", "outcome": outcome}
        self._wake(run)
        return run

    def run_due(self) -> int:
        """Wake every run whose timer, retry or event timeout is due on the runtime's clock."""
        now = self.runtime.clock.now()
        due = [
            r
            for r in self.runs.values()
            if r.wait is not None and r.wait.due_at is not None and r.wait.due_at <= now
        ]
        for run in due:
            self._wake(run)
        return len(due)

    # -- driving ------------------------------------------------------------------------------------
    def _emit(self, event_name: str, payload: Mapping[str, Any]) -> None:
        if self._current is not None:
            self._current.events.append((event_name, dict(payload)))

    def _wake(self, run: MemoryRun) -> None:
        wait = run.wait
        assert wait is not None
        run.wait, signal, run.signal = None, run.signal, None
        early = resume(run.graph, run.state, wait.kind, wait.node_id, signal, self.runtime.clock.now())
        if early is not None:
            self._end(run, early.finished or "completed", early.failure)
            return
        self._drive(run)

    def _drive(self, run: MemoryRun) -> None:
        state = run.state
        previous, self._current = self._current, run
        plan = plan_of(run.graph)
        env, max_steps = self._env, self.runtime.max_steps
        try:
            while True:
                if not self.record_steps and state.step_count < max_steps:
                    node = plan.nodes[state.node or ""]
                    target = fast_step(plan, node, state, env)
                    if target is not NOT_FAST:
                        state.step_count += 1
                        if target is None:
                            self._end(run, "completed", None)
                            return
                        state.node = target
                        continue
                outcome = execute(run.graph, state, self._env)
                if self.record_steps and outcome.step is not None:
                    outcome.step.seq = state.step_count
                    run.steps.append(outcome.step)
                if outcome.finished is not None:
                    self._end(run, outcome.finished, outcome.failure)
                    return
                if outcome.wait is not None:
                    self._park(run, outcome.wait)
                    return
                state.node = outcome.next_node
        finally:
            self._current = previous

    def _park(self, run: MemoryRun, wait: WaitSpec) -> None:
        run.wait = wait
        run.state.status = "waiting"
        if wait.task is not None:
            task_id = f"task_{next(self._ids)}"
            self.tasks[task_id] = (run.state.id, wait.task)
        if wait.kind == "call":
            run.pending_children = len(wait.children)
            for child in wait.children:
                started = self.start(
                    child.flow_id,
                    child.inputs,
                    subject_id=run.state.subject_id,
                    parent=(run.state.id, child.index),
                )
                run.children.append(started.state.id)

    def _end(self, run: MemoryRun, status: str, failure: Failure | None) -> None:
        run.state.status = status
        run.failure = failure
        run.wait = None
        parent_id = run.state.parent_run_id
        if parent_id is None:
            return
        parent = self.runs[parent_id]
        if parent.wait is None or parent.wait.kind != "call":
            return
        if status == "failed":
            parent.signal = {"failed": True, "message": failure.message if failure else "failed"}
            self._wake(parent)
            return
        parent.pending_children -= 1
        if parent.pending_children == 0:
            # By parent index, not start order: a child may finish before its siblings are started.
            children = sorted(
                (r for r in self.runs.values() if r.state.parent_run_id == parent_id),
                key=lambda r: r.state.parent_index or 0,
            )
            results = [child_result(c.state.variables) for c in children]
            parent.signal = {"via": "children", "results": results}
            self._wake(parent)

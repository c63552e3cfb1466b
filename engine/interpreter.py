"""Executing one node of a compiled flow against a run's state.

This module decides; it never stores. The durable driver (``engine.driver``) and the in-memory one
(``engine.memory``) both call :func:`execute` and :func:`resume`, then keep the result their own way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from dsl.diagnostics import ExpressionError
from dsl.flowgraph import (
    ActionNode,
    AskNode,
    AssignNode,
    CallNode,
    DecisionNode,
    EdgeKind,
    FailNode,
    FlowGraph,
    Node,
    NodeKind,
    WaitEventNode,
    WaitTimerNode,
)
from engine.invoke import invoke
from engine.plan import Plan, plan_of
from engine.registry import ActionContext
from engine.runtime import Runtime
from engine.scope import Scope
from engine.state import ChildStart, Failure, Outcome, RunState, StepRecord, WaitSpec

FLOW_CATEGORY = "Flow"
Emitter = Callable[[str, Mapping[str, Any]], None]


class StepEnv:
    """What one step may touch: the runtime, the database session (None in memory), event publishing."""

    def __init__(
        self,
        runtime: Runtime,
        session: Session | None,
        emitter: Emitter | None = None,
        *,
        record: bool = True,
    ) -> None:
        self.runtime = runtime
        self.session = session
        self.emitter = emitter
        # Without records, assignments and decisions skip building step records (the benchmark's mode).
        self.record = record

    def scope(self, state: RunState, extra: Mapping[str, Any] | None = None) -> Scope:
        return Scope(
            state.variables, self.runtime.registry, self.session, state.subject_id, self.runtime.clock, extra
        )


def _step(state: RunState, node_id: str, kind: str, now: datetime, status: str = "completed") -> StepRecord:
    return StepRecord(
        node_id=node_id, kind=kind, attempt=state.attempt, status=status, started_at=now, finished_at=now
    )


def _fail(
    step: StepRecord | None, message: str, category: str, node_id: str | None, retry_node: str | None = None
) -> Outcome:
    return Outcome(step, finished="failed", failure=Failure(message, category, node_id, retry_node))


def _next(plan: Plan, node_id: str, step: StepRecord | None) -> Outcome:
    target = plan.first.get((node_id, EdgeKind.NEXT))
    if target is None:
        return Outcome(step, finished="completed")
    return Outcome(step, next_node=target)


NOT_FAST = "\0not-fast"


def fast_step(plan: Plan, node: Node, state: RunState, env: StepEnv) -> str | None:
    """Assignments and simple ifs without step records: the hot path of long flows in memory.

    Returns the next node (None: the run completed), or ``NOT_FAST`` when the slow path must run it.
    """
    kind = type(node)
    try:
        if kind is AssignNode:
            state.variables[node.name] = node.value.evaluate(env.scope(state))  # type: ignore[union-attr]
            return plan.first.get((node.id, EdgeKind.NEXT))
        if kind is DecisionNode and len(node.conditions) == 1 and (node.id, EdgeKind.WHEN) not in plan.first:  # type: ignore[union-attr]
            taken = EdgeKind.TRUE if node.conditions[0].evaluate(env.scope(state)) else EdgeKind.FALSE  # type: ignore[union-attr]
            return plan.first.get((node.id, taken))
    except ExpressionError:
        pass  # the slow path reports it with a step record
    return NOT_FAST


def execute(graph: FlowGraph, state: RunState, env: StepEnv) -> Outcome:
    """Run the node ``state.node`` and say where the run goes next."""
    assert state.node is not None
    plan = plan_of(graph)
    node = plan.nodes[state.node]
    if state.step_count >= env.runtime.max_steps:
        return _fail(None, f"the run took more than {env.runtime.max_steps} steps", FLOW_CATEGORY, node.id)
    state.step_count += 1
    if not env.record:
        target = fast_step(plan, node, state, env)
        if target is not NOT_FAST:
            return (
                Outcome(None, next_node=target) if target is not None else Outcome(None, finished="completed")
            )
    now = env.runtime.clock.now()
    try:
        if isinstance(node, ActionNode):
            return _action(plan, node, state, env, now)
        scope = env.scope(state)
        if isinstance(node, AssignNode):
            value = node.value.evaluate(scope)
            state.variables[node.name] = value
            step = _step(state, node.id, node.kind, now)
            step.outputs = {node.name: value}
            return _next(plan, node.id, step)
        if isinstance(node, DecisionNode):
            return _decide(plan, node, scope, _step(state, node.id, node.kind, now))
        if isinstance(node, WaitEventNode):
            due = now + timedelta(seconds=node.timeout_s) if node.timeout_s else None
            step = _step(state, node.id, node.kind, now, "waiting")
            return Outcome(step, wait=WaitSpec("event", node.id, due_at=due, event_name=node.event))
        if isinstance(node, WaitTimerNode):
            step = _step(state, node.id, node.kind, now, "waiting")
            due = now + timedelta(seconds=node.duration_s)
            return Outcome(step, wait=WaitSpec("timer", node.id, due_at=due))
        if isinstance(node, AskNode):
            prompt = str(node.prompt.evaluate(scope))
            step = _step(state, node.id, node.kind, now, "waiting")
            task = {"role": node.role, "prompt": prompt, "outcomes": list(node.outcomes)}
            step.outputs = task
            return Outcome(step, wait=WaitSpec("task", node.id, task=task))
        if isinstance(node, CallNode):
            return _call(node, state, env, scope, now)
        if isinstance(node, FailNode):
            message = str(node.message.evaluate(scope))
            error = state.variables.get("error")
            category = node.category or (error.get("category") if isinstance(error, Mapping) else None)
            step = _step(state, node.id, node.kind, now, "failed")
            step.error = message
            return _fail(step, message, category or FLOW_CATEGORY, node.id)
        if node.kind == NodeKind.END:
            return Outcome(_step(state, node.id, node.kind, now), finished="completed")
        raise AssertionError(f"unknown node kind {node.kind}")
    except ExpressionError as exc:
        step = _step(state, node.id, node.kind, now, "failed")
        step.error = f"expression error: {exc}"
        step.error_code = "expression"
        return _fail(step, step.error, FLOW_CATEGORY, node.id, retry_node=node.id)


def _decide(plan: Plan, node: DecisionNode, scope: Scope, step: StepRecord) -> Outcome:
    edges = plan.edges[node.id]
    when = [target for kind, _, target in edges if kind == EdgeKind.WHEN]
    if not when and len(node.conditions) == 1:
        taken = EdgeKind.TRUE if node.conditions[0].evaluate(scope) else EdgeKind.FALSE
        target = plan.first.get((node.id, taken))
        step.outputs = {"branch": taken.value}
    else:
        target = None
        for index, (condition, candidate) in enumerate(zip(node.conditions, when, strict=False)):
            if condition.evaluate(scope):
                target = candidate
                step.outputs = {"branch": "when", "index": index}
                break
        if target is None:
            target = plan.follow(node.id, EdgeKind.OTHERWISE) or plan.follow(node.id, EdgeKind.NEXT)
            step.outputs = {"branch": "otherwise"}
    if target is None:
        return Outcome(step, finished="completed")
    return Outcome(step, next_node=target)


def _action(plan: Plan, node: ActionNode, state: RunState, env: StepEnv, now: datetime) -> Outcome:
    registry = env.runtime.registry
    if state.attempt == 1:
        state.visits[node.id] = state.visits.get(node.id, 0) + 1
        if state.first_attempt_at is None:  # (the driver sets it for an external step, before its commit)
            state.first_attempt_at = now
    step = _step(state, node.id, node.kind, now)
    definition = registry.get(node.action)
    if definition is None:
        return _action_failed(
            plan,
            node,
            state,
            step,
            f"unknown action {node.action}",
            "unknown_action",
            FLOW_CATEGORY,
            retryable=False,
            env=env,
            now=now,
        )
    scope = env.scope(state)
    args = {name: expression.evaluate(scope) for name, expression in node.args.items()}
    step.inputs = args
    ctx = ActionContext(
        session=env.session,
        subject_id=state.subject_id,
        run_id=state.id,
        node_id=node.id,
        attempt=state.attempt,
        business_key=str(state.visits.get(node.id, 1)),
        first_attempt_at=state.first_attempt_at,
        clock=env.runtime.clock,
        emitter=env.emitter,
    )
    timeout = node.timeout_s if node.timeout_s else definition.timeout_s
    result = invoke(definition, args, ctx, timeout)
    step.finished_at = env.runtime.clock.now()
    if result.ok:
        step.outputs = result.value
        if node.bind:
            state.variables[node.bind] = result.value
        state.attempt, state.first_attempt_at = 1, None
        outcome = _next(plan, node.id, step)
        outcome.events = ctx.events
        return outcome
    outcome = _action_failed(
        plan,
        node,
        state,
        step,
        result.message,
        result.code,
        result.category or definition.category,
        retryable=result.retryable,
        env=env,
        now=now,
    )
    if result.refused:
        outcome.refused = result.message
    return outcome


def _action_failed(
    plan: Plan,
    node: ActionNode,
    state: RunState,
    step: StepRecord,
    message: str,
    code: str,
    category: str,
    *,
    retryable: bool,
    env: StepEnv,
    now: datetime,
) -> Outcome:
    step.status = "failed"
    step.error = message
    step.error_code = code
    if retryable and state.attempt <= node.retry:
        step.status = "retrying"
        delay = env.runtime.retry_delay(node.retry_every_s, state.attempt)
        state.attempt += 1
        return Outcome(step, wait=WaitSpec("retry", node.id, due_at=now + timedelta(seconds=delay)))
    state.attempt = 1
    error_edge = plan.follow(node.id, EdgeKind.ERROR)
    if error_edge is not None:
        state.first_attempt_at = None
        state.variables["error"] = {"message": message, "code": code, "category": category, "node": node.id}
        return Outcome(step, next_node=error_edge)
    return _fail(step, message, category, node.id, retry_node=node.id)


def _call(node: CallNode, state: RunState, env: StepEnv, scope: Scope, now: datetime) -> Outcome:
    children: list[ChildStart] = []
    if node.for_each is not None:
        name, items_expr = node.for_each
        items = items_expr.evaluate(scope)
        if not isinstance(items, list | tuple):
            raise ExpressionError(f"'for each' needs a list, not {type(items).__name__}", node.span)
        for index, item in enumerate(items):
            item_scope = env.scope(state, {name: item})
            args = {k: e.evaluate(item_scope) for k, e in node.args.items()}
            children.append(ChildStart(node.flow_id, args, index))
    else:
        children.append(ChildStart(node.flow_id, {k: e.evaluate(scope) for k, e in node.args.items()}, 0))
    step = _step(state, node.id, node.kind, now, "waiting")
    step.inputs = {"flow": node.flow_id, "runs": len(children)}
    return Outcome(step, wait=WaitSpec("call", node.id, children=children))


def resume(
    graph: FlowGraph,
    state: RunState,
    kind: str,
    node_id: str,
    signal: Mapping[str, Any] | None,
    now: datetime,
) -> Outcome | None:
    """Move a parked run past its wait; ``signal`` says what woke it (None: its due time came)."""
    node = graph.node(node_id)
    signal = signal or {}
    via = signal.get("via")
    state.node = None
    target: str | None
    if kind == "retry":
        target = node_id
    elif kind == "timer":
        target = graph.follow(node_id, EdgeKind.NEXT)
    elif kind == "event":
        if via == "event":
            payload = signal.get("payload") or {}
            state.variables["event"] = payload
            if isinstance(node, WaitEventNode) and node.bind:
                state.variables[node.bind] = payload
            target = graph.follow(node_id, EdgeKind.NEXT)
        else:
            target = graph.follow(node_id, EdgeKind.TIMEOUT)
            if target is None:
                return _fail(None, "timed out waiting for an event", FLOW_CATEGORY, node_id)
    elif kind == "task":
        outcome = str(signal.get("outcome"))
        target = graph.follow(node_id, EdgeKind.OUTCOME, outcome)
        if target is None:
            return _fail(None, f"no transition for outcome {outcome!r}", FLOW_CATEGORY, node_id)
    elif kind == "call":
        if signal.get("failed"):
            return _fail(
                None, f"subflow failed: {signal.get('message')}", FLOW_CATEGORY, node_id, retry_node=None
            )
        if isinstance(node, CallNode) and node.bind:
            results = list(signal.get("results") or [])
            state.variables[node.bind] = (
                results if node.for_each is not None else (results[0] if results else {})
            )
        target = graph.follow(node_id, EdgeKind.NEXT)
    else:
        raise ValueError(f"unknown wait kind {kind}")
    if target is None:
        return Outcome(None, finished="completed")
    state.node = target
    return None


def child_result(variables: Mapping[str, Any]) -> dict[str, Any]:
    """What a finished subflow hands its caller: its variables, without the caller's own inputs."""
    return {k: v for k, v in variables.items() if k not in ("input", "event", "error")}

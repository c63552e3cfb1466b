"""Simulate: run a version against a real subject inside a transaction that is always rolled back.

The actions run for real against the session, so the record changes they would make are seen (captured
on each flush before the rollback), but nothing commits. Waits end the simulation where they stand.

Nothing may reach outside either: the session is marked as a simulation, so Ordo's payment steps talk
to a gateway that approves everything and keeps nothing (``orders.simulated_gateway``), and a plugin's
external action, whose calls Ordo cannot hold back, is not run: the simulation stops before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from dsl.flowgraph import ActionNode
from engine import codec, store
from engine.db import Database
from engine.flows import get_version
from engine.inputs import validate_inputs
from engine.interpreter import StepEnv, execute
from engine.plan import plan_of
from engine.registry import SIMULATION_KEY
from engine.runtime import Runtime, default_runtime
from engine.state import RunState

MAX_SIMULATED_STEPS = 1_000


def _describe(obj: Any, change: str) -> dict[str, Any]:
    state = inspect(obj)
    mapper = state.mapper
    identity = [codec.jsonable(getattr(obj, c.key, None)) for c in mapper.primary_key]
    record: dict[str, Any] = {
        "change": change,
        "table": mapper.local_table.name,
        "id": identity[0] if len(identity) == 1 else identity,
    }
    fields: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        history = state.attrs[attr.key].history
        if change == "insert":
            fields[attr.key] = codec.jsonable(getattr(obj, attr.key, None))
        elif change == "update" and history.has_changes():
            fields[attr.key] = {
                "from": codec.jsonable(history.deleted[0] if history.deleted else None),
                "to": codec.jsonable(history.added[0] if history.added else None),
            }
    if change != "delete":
        record["fields"] = fields
    return record


def _outside_call(runtime: Runtime, node: object) -> str | None:
    """Why the simulation stops before ``node``: a plugin action that calls outside; None otherwise."""
    if not isinstance(node, ActionNode):
        return None
    definition = runtime.registry.get(node.action)
    if definition is None or not (definition.external and definition.plugin):
        return None
    return (
        f"{node.action} calls outside Ordo (a plugin's external action): a simulation stops before it, "
        "so that nothing reaches another system"
    )


def simulate(
    database: Database,
    flow_id: str,
    number: int,
    subject_id: str | None,
    inputs: Mapping[str, Any] | None = None,
    *,
    runtime: Runtime | None = None,
) -> dict[str, Any]:
    """``{path, steps, changes, status}`` of running version ``number`` of ``flow_id``; commits nothing."""
    runtime = runtime or default_runtime()
    changes: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    session: Session = database.session_factory()
    try:
        version = get_version(session, flow_id, number)
        graph = runtime.graphs(f"{version.id}:{version.revision}", version.source)[flow_id]
        values = validate_inputs(graph, inputs) if graph.action is not None else dict(inputs or {})

        def capture(sess: Session, _context: Any, _instances: Any) -> None:
            changes.extend(_describe(o, "insert") for o in sess.new)
            changes.extend(_describe(o, "update") for o in sess.dirty if sess.is_modified(o))
            changes.extend(_describe(o, "delete") for o in sess.deleted)

        session.info[SIMULATION_KEY] = True
        event.listen(session, "before_flush", capture)
        # The engine writes run and outbox rows past the ORM; it tells of them here.
        session.info[store.DESCRIBE_KEY] = lambda change: changes.append(codec.jsonable(change))

        def emit(name: str, payload: Mapping[str, Any]) -> None:
            from engine.triggers import publish

            events.append({"name": name, "payload": codec.jsonable(dict(payload))})
            # Published for real inside the doomed transaction, so its outbox row and the runs it
            # would start show among the changes.
            publish(session, name, payload, subject_id, runtime=runtime)

        state = RunState(
            id="simulation",
            flow_id=flow_id,
            version_number=number,
            subject_id=subject_id,
            node=graph.start,
            variables={"input": values},
        )
        env = StepEnv(runtime, session, emit)
        steps: list[dict[str, Any]] = []
        status = "running"
        nodes = plan_of(graph).nodes
        while status == "running" and len(steps) < MAX_SIMULATED_STEPS:
            blocked = _outside_call(runtime, nodes[state.node or ""])
            if blocked is not None:
                steps.append({"node": state.node, "kind": "action", "status": "not run", "error": blocked})
                status = "stopped"
                break
            outcome = execute(graph, state, env)
            if outcome.step is not None:
                step = outcome.step
                steps.append(
                    {
                        "node": step.node_id,
                        "kind": str(step.kind),
                        "status": step.status,
                        "attempt": step.attempt,
                        "inputs": codec.jsonable(step.inputs),
                        "output": codec.jsonable(step.outputs),
                        "error": step.error,
                    }
                )
            if outcome.finished is not None:
                status = outcome.finished
                if outcome.failure is not None:
                    steps.append(
                        {
                            "node": outcome.failure.node_id,
                            "kind": "failure",
                            "status": "failed",
                            "error": outcome.failure.message,
                            "category": outcome.failure.category,
                        }
                    )
            elif outcome.wait is not None:
                # A retry would wait for the clock; a simulation reports where it would park instead.
                status = "waiting"
            else:
                state.node = outcome.next_node
        session.flush()
        return {
            "status": status,
            "path": [s["node"] for s in steps if s["kind"] != "failure" and s["status"] != "not run"],
            "steps": steps,
            "changes": changes,
            "events": events,
        }
    finally:
        session.rollback()
        session.close()

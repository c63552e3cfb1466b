"""Service actions, flow versions, simulation, subflows and workers racing, on both databases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import flows
from engine.clock import ManualClock
from engine.db import Database
from engine.driver import ServiceActionRefused
from engine.inputs import InputError
from engine.models import FlowDefinition, FlowRun, FlowStep, OutboxEvent, RunWait
from engine.runtime import Runtime
from engine.simulate import simulate
from engine.triggers import publish, start_service_action
from engine.worker import run_due_work
from tests.unit.engine.catalog import Effects

Install = Callable[[str], None]

SERVICE = """
flow refund "Refund"
  kind service
  action refund "Refund"
  input amount: money
  input lines: item_quantities
  input reason: text = "Customer request"
  do charge(amount: input.amount) as paid
  done
end
"""


def _count(db: Database, model: type[object]) -> int:
    with db.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0  # type: ignore[arg-type]


def test_service_action_validates_declared_inputs(db: Database, runtime: Runtime, install: Install) -> None:
    install(SERVICE)
    with db.session_factory() as session, pytest.raises(InputError) as raised:
        start_service_action(
            session,
            "os_1",
            "refund",
            {"amount": "abc", "lines": [{"item_id": "i", "quantity": 0}], "colour": "red"},
            runtime=runtime,
        )
    assert {e["field"] for e in raised.value.errors} == {"amount", "lines", "colour"}
    with db.session_factory() as session:
        started = start_service_action(
            session,
            "os_1",
            "refund",
            {"amount": "12.30", "lines": [{"item_id": "i", "quantity": 1}]},
            runtime=runtime,
        )
    assert started.status == "completed"
    assert str(started.outputs["paid"]["charged"]) == "12.30"


def test_a_refused_service_action_writes_nothing(db: Database, runtime: Runtime, install: Install) -> None:
    install('flow no "No"\n  action nope "Nope"\n  set x = 1\n  do refuse()\nend\n')
    with db.session_factory() as session, pytest.raises(ServiceActionRefused, match="not now"):
        start_service_action(session, "os_1", "nope", {}, runtime=runtime)
    assert _count(db, FlowRun) == 0 and _count(db, FlowStep) == 0 and _count(db, RunWait) == 0


def test_simulate_reports_path_and_changes_and_commits_nothing(
    db: Database, runtime: Runtime, install: Install, effects: Effects
) -> None:
    install(
        'flow sim "Sim"\n  action sim "Sim"\n  do emit(event: "thing.happened", id: "t1")\n'
        "  do charge(amount: 3) as paid\n  if paid.charged > 1 -> big\n  done\n"
        'big:\n  set size = "big"\nend\n'
    )
    result = simulate(db, "sim", 1, "os_1", {}, runtime=runtime)
    assert result["status"] == "completed"
    assert result["path"] == ["sim.1", "sim.2", "sim.3", "big", "sim.end"]
    assert result["steps"][1]["output"]["charged"] == "3"
    assert result["events"] == [{"name": "thing.happened", "payload": {"id": "t1"}}]
    assert any(c["table"] == "outbox_events" and c["change"] == "insert" for c in result["changes"])
    assert _count(db, OutboxEvent) == 0 and _count(db, FlowRun) == 0


def test_clone_edit_activate_and_diff(db: Database, runtime: Runtime, tmp_path: Path) -> None:
    (tmp_path / "paying.flow").write_text(
        'flow paying "Paying"\n  action pay "Pay"\n  do charge(amount: 1)\nend\n'
    )
    with db.session_factory() as session:
        assert flows.load_starter_flows(session, tmp_path, runtime=runtime) == ["paying"]
        assert flows.load_starter_flows(session, tmp_path, runtime=runtime) == []
        clone = flows.clone(session, "paying", "my_paying", "My paying")
        draft = flows.get_version(session, "my_paying", 1)
        assert draft.status == "draft" and draft.source.startswith('flow my_paying "My paying"')
        with pytest.raises(flows.FlowError):
            flows.edit_draft(session, "paying", 1, "x")
        with pytest.raises(flows.StaleVersion):
            flows.edit_draft(session, "my_paying", 1, draft.source, expected_revision=draft.revision + 1)
        edited = flows.edit_draft(
            session,
            "my_paying",
            1,
            draft.source.replace("do charge(amount: 1)", "do charge(amount: 2)\n  set x = 1"),
            if_match=draft.etag,
        )
        assert edited.revision == 2
        flows.edit_draft(session, "my_paying", 1, draft.source.replace("charge(", "nothing("))
        with pytest.raises(flows.ActivationRefused) as refused:
            flows.activate(session, "my_paying", 1, runtime=runtime)
        assert refused.value.diagnostics[0].code == "unknown-action"
        flows.edit_draft(session, "my_paying", 1, edited.source.replace("nothing(", "charge("))
        flows.activate(session, "my_paying", 1, runtime=runtime)
        session.commit()
        origin = session.get(FlowDefinition, "paying")
        assert origin is not None and origin.active_version is None and clone.active_version == 1
        second = flows.new_draft(session, "my_paying")
        flows.edit_draft(session, "my_paying", second.number, second.source.replace("  set x = 1\n", ""))
        change = flows.diff_versions(session, "my_paying", 1, 2, runtime=runtime)
        assert change.nodes_removed == ["my_paying.2"]
        assert change.nodes_changed == []
        assert ("my_paying.1", "next", "", "my_paying.end") in change.edges_added
        started = start_service_action(session, "os_1", "pay", {}, runtime=runtime)
        run = session.get(FlowRun, started.run_id)
        assert run is not None and run.flow_id == "my_paying"


def test_call_runs_subflows_as_child_runs(
    db: Database, runtime: Runtime, install: Install, effects: Effects
) -> None:
    install(
        'flow parent "Parent"\n  action go "Go"\n  call child(amount: x) for each x in [1, 2] as out\n'
        "  set total = sum(out.paid.charged)\nend\n"
        'flow child "Child"\n  input amount: money\n  do charge(amount: input.amount) as paid\nend\n'
    )
    with db.session_factory() as session:
        started = start_service_action(session, "os_1", "go", {}, runtime=runtime)
        assert started.status == "completed"
        assert str(started.outputs["total"]) == "3"
        children = session.scalars(select(FlowRun).where(FlowRun.parent_run_id == started.run_id)).all()
        assert sorted(c.status for c in children) == ["completed", "completed"]


@pytest.mark.slow
def test_workers_racing_never_run_a_step_twice(
    db: Database, runtime: Runtime, install: Install, effects: Effects, clock: ManualClock
) -> None:
    install('flow w "W"\n  trigger on order_summary.created\n  wait 1m\n  do charge(amount: 1)\nend\n')
    with db.session_factory() as session:
        for n in range(40):
            publish(session, "order_summary.created", {"id": f"os_{n}"}, f"os_{n}", runtime=runtime)
        session.commit()
    assert run_due_work(db, clock, "starter", limit=100, runtime=runtime) == 40
    clock.advance(60)

    def work(name: str) -> None:
        while run_due_work(db, clock, name, limit=5, runtime=runtime):
            pass

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert effects.calls["charge"] == 40
    assert sum(effects.effects.values()) == 40
    with db.session_factory() as session:
        statuses = session.scalars(select(FlowRun.status)).all()
        assert statuses == ["completed"] * 40

"""Durable runs on SQLite and PostgreSQL: steps commit, waits park in the database, workers resume."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from engine import flows
from engine.clock import ManualClock
from engine.db import Database
from engine.models import FlowRun, FlowStep, OutboxEvent, ProcessException, RunWait, Task
from engine.registry import RunFailure
from engine.runtime import Runtime
from engine.service import complete_task, drive_runs
from engine.triggers import publish
from engine.worker import run_due_work
from tests.unit.engine.catalog import Effects

Install = Callable[[str], None]

TRIGGERED = """
flow on_created "On created"
  trigger on order_summary.created when summary.lifecycle == "managed"
  do charge(amount: summary.total) as paid
  if paid.charged > 100 -> big
  done
big:
  set size = "big"
  done
end
"""


def _publish(
    db: Database, runtime: Runtime, event: str, payload: dict[str, object], subject: str
) -> list[str]:
    with db.session_factory() as session:
        run_ids = publish(session, event, payload, subject, runtime=runtime)
        session.commit()
        drive_runs(session, run_ids, runtime=runtime)
        return run_ids


def test_an_event_starts_matching_flows_and_every_step_is_recorded(
    db: Database, runtime: Runtime, install: Install, effects: Effects
) -> None:
    install(TRIGGERED)
    effects.summaries["os_1"] = {"lifecycle": "managed", "total": 150}
    effects.summaries["os_2"] = {"lifecycle": "unmanaged", "total": 150}
    [run_id] = _publish(db, runtime, "order_summary.created", {"id": "os_1"}, "os_1")
    assert _publish(db, runtime, "order_summary.created", {"id": "os_2"}, "os_2") == []
    with db.session_factory() as session:
        run = session.get(FlowRun, run_id)
        assert run is not None and run.status == "completed" and run.subject_id == "os_1"
        steps = session.scalars(
            select(FlowStep).where(FlowStep.run_id == run_id).order_by(FlowStep.seq)
        ).all()
        assert [s.node_id for s in steps] == ["on_created.1", "on_created.2", "big", "big.2"]
        assert steps[0].outputs["charged"] == {"$dec": "150"}
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 2
        assert session.scalar(select(func.count()).select_from(RunWait)) == 0


RETRY = """
flow pay "Pay"
  action pay "Pay"
  do charge(amount: 5) retry 2 every 30s
end
"""


def test_retries_are_due_work_and_exhaustion_raises_a_process_exception(
    db: Database, runtime: Runtime, install: Install, effects: Effects, clock: ManualClock
) -> None:
    from engine.triggers import start_service_action

    install(RETRY)
    failures: list[RunFailure] = []
    runtime.registry.on_run_failed(failures.append)
    effects.fail_first["charge"] = 5
    with db.session_factory() as session:
        started = start_service_action(session, "os_1", "pay", {}, runtime=runtime)
    assert started.status == "waiting"
    assert run_due_work(db, clock, "w1", runtime=runtime) == 0
    clock.advance(30)
    assert run_due_work(db, clock, "w1", runtime=runtime) == 1
    clock.advance(60)
    assert run_due_work(db, clock, "w1", runtime=runtime) == 1
    with db.session_factory() as session:
        run = session.get(FlowRun, started.run_id)
        assert run is not None and run.status == "failed"
        [exception] = session.scalars(select(ProcessException)).all()
        assert (exception.category, exception.run_id, exception.step_node) == ("Payment", run.id, "pay.1")
        assert exception.subject_id == "os_1"
        attempts = session.scalars(select(FlowStep.attempt).where(FlowStep.run_id == run.id)).all()
        assert sorted(attempts) == [1, 2, 3]
    assert len(set(effects.keys)) == 1
    assert [f.exception_id for f in failures] == [exception.id]


def test_retrying_a_failed_step_reuses_its_idempotency_key(
    db: Database, runtime: Runtime, install: Install, effects: Effects, clock: ManualClock
) -> None:
    from engine.service import retry_exception
    from engine.triggers import start_service_action

    install('flow pay "Pay"\n  action pay "Pay"\n  do charge(amount: 5)\nend\n')
    effects.fail_first["charge"] = 1
    with db.session_factory() as session:
        started = start_service_action(session, "os_1", "pay", {}, runtime=runtime)
        assert started.status == "failed"
        exception = session.scalars(select(ProcessException)).one()
        clock.advance(3600)  # a manager retries an hour later
        retry_exception(session, exception.id, runtime=runtime)
        run = session.get(FlowRun, started.run_id)
        assert run is not None and run.status == "completed"
    assert len(effects.keys) == 2 and len(set(effects.keys)) == 1
    # And it decides as of the first attempt, as every retry does.
    assert len(effects.decided) == 2 and len(set(effects.decided)) == 1


WAIT = """
flow w "W"
  trigger on order_summary.created
  do create_thing(name: "box") as box
  wait for thing.happened where event.id == box.id as got
  set result = got.value
end
"""


def test_a_parked_run_resumes_only_on_an_event_whose_where_holds(
    db: Database, runtime: Runtime, install: Install
) -> None:
    install(WAIT)
    [run_id] = _publish(db, runtime, "order_summary.created", {"id": "os_1"}, "os_1")
    _publish(db, runtime, "thing.happened", {"id": "thing_2", "value": "other"}, "os_1")
    with db.session_factory() as session:
        run = session.get(FlowRun, run_id)
        assert run is not None and run.status == "waiting"
    _publish(db, runtime, "thing.happened", {"id": "thing_1", "value": "mine"}, "os_1")
    with db.session_factory() as session:
        run = session.get(FlowRun, run_id)
        assert run is not None and run.status == "completed"
        assert run.variables["vars"]["result"] == "mine"


def test_a_timer_resumes_when_the_clock_passes_it_and_a_worker_runs(
    db: Database, runtime: Runtime, install: Install, clock: ManualClock
) -> None:
    install('flow t "T"\n  trigger on order_summary.created\n  wait 2h\n  set woke = true\nend\n')
    [run_id] = _publish(db, runtime, "order_summary.created", {"id": "os_1"}, "os_1")
    clock.advance(7199)
    assert run_due_work(db, clock, "w1", runtime=runtime) == 0
    clock.advance(1)
    assert run_due_work(db, clock, "w1", runtime=runtime) == 1
    with db.session_factory() as session:
        run = session.get(FlowRun, run_id)
        assert run is not None and run.status == "completed"


ASK = """
flow a "A"
  trigger on order_summary.created
  ask role "fulfillment_manager" "Approve?"
    approved -> yes
    rejected -> no
yes:
  set answer = "yes"
  done
no:
  fail "rejected" category "Order Approval"
end
"""


def test_ask_creates_a_task_and_completing_it_resumes_along_the_outcome(
    db: Database, runtime: Runtime, install: Install
) -> None:
    install(ASK)
    [first] = _publish(db, runtime, "order_summary.created", {"id": "os_1"}, "os_1")
    [second] = _publish(db, runtime, "order_summary.created", {"id": "os_2"}, "os_2")
    with db.session_factory() as session:
        tasks = {t.subject_id: t for t in session.scalars(select(Task)).all()}
        assert tasks["os_1"].role == "fulfillment_manager" and tasks["os_1"].outcomes == [
            "approved",
            "rejected",
        ]
        complete_task(session, tasks["os_1"].id, "approved", completed_by="mgr", runtime=runtime)
        complete_task(session, tasks["os_2"].id, "rejected", completed_by="mgr", runtime=runtime)
    with db.session_factory() as session:
        one, two = session.get(FlowRun, first), session.get(FlowRun, second)
        assert one is not None and one.status == "completed"
        assert two is not None and two.status == "failed"
        exception = session.scalars(select(ProcessException)).one()
        assert (exception.category, exception.message, exception.run_id) == (
            "Order Approval",
            "rejected",
            second,
        )


def test_a_run_stays_on_its_version_after_a_new_one_is_activated_mid_wait(
    db: Database, runtime: Runtime, install: Install
) -> None:
    install(
        'flow v "V"\n  trigger on order_summary.created\n  wait for thing.happened\n  set seen = "v1"\nend\n'
    )
    [run_id] = _publish(db, runtime, "order_summary.created", {"id": "os_1"}, "os_1")
    with db.session_factory() as session:
        draft = flows.new_draft(session, "v")
        flows.edit_draft(session, "v", draft.number, draft.source.replace('"v1"', '"v2"'))
        flows.activate(session, "v", draft.number, runtime=runtime)
        session.commit()
    [new_run_id] = [r for r in _publish(db, runtime, "order_summary.created", {"id": "os_2"}, "os_2")]
    _publish(db, runtime, "thing.happened", {"id": "x", "value": "y"}, "os_1")
    _publish(db, runtime, "thing.happened", {"id": "x", "value": "y"}, "os_2")
    with db.session_factory() as session:
        old, new = session.get(FlowRun, run_id), session.get(FlowRun, new_run_id)
        assert old is not None and new is not None
        assert (old.version_number, old.status, old.variables["vars"]["seen"]) == (1, "completed", "v1")
        assert (new.version_number, new.variables["vars"]["seen"]) == (2, "v2")


def test_a_hanging_plugin_fails_its_step_and_the_engine_keeps_serving(
    db: Database, runtime: Runtime, install: Install, effects: Effects
) -> None:
    from engine.triggers import start_service_action

    install(
        'flow h "H"\n  action hang "Hang"\n  do acme.hang(text: "x")\n    on error -> oops\n  done\n'
        'oops:\n  fail error.message category "Plugin"\nend\n'
        'flow p "P"\n  action pay "Pay"\n  do charge(amount: 1)\nend\n'
    )
    with db.session_factory() as session:
        hung = start_service_action(session, "os_1", "hang", {}, runtime=runtime)
        paid = start_service_action(session, "os_1", "pay", {}, runtime=runtime)
    assert (hung.status, paid.status) == ("failed", "completed")
    with db.session_factory() as session:
        exception = session.scalars(select(ProcessException)).one()
        assert exception.category == "Plugin" and "timeout" in exception.message


def test_retrying_a_failed_expression_makes_the_next_action_a_new_visit(
    db: Database, runtime: Runtime, install: Install, effects: Effects
) -> None:
    """Only a failed action is retried as its earlier attempt (same key, same decision time); after a
    failed expression, the action that follows is a first attempt of its own."""
    from engine.service import retry_exception
    from engine.triggers import start_service_action

    install('flow pay "Pay"\n  action pay "Pay"\n  do charge(amount: 5)\n  set z = 0\n  set y = 1 / z\nend\n')
    with db.session_factory() as session:
        started = start_service_action(session, "os_1", "pay", {}, runtime=runtime)
        assert started.status == "failed"
        exception = session.scalars(select(ProcessException)).one()
        assert exception.retry_node is not None and exception.step_node == exception.retry_node
        retry_exception(session, exception.id, runtime=runtime)  # the division fails again
        run = session.get_one(FlowRun, started.run_id, populate_existing=True)
        assert run.status == "failed"
        assert run.variables["attempt"] == 1

"""Steps share transactions: fewer commits, the same records and the same guarantees."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event, func, select

from engine.clock import ManualClock
from engine.db import Database
from engine.models import FlowRun, FlowStep, OutboxEvent, ProcessException, RunWait
from engine.registry import ActionContext
from engine.runtime import Runtime
from engine.service import drive_runs
from engine.triggers import publish
from engine.worker import run_due_work
from tests.unit.engine.catalog import Done, Effects, Note

Install = Callable[[str], None]

MIXED = """
flow mixed "Mixed"
  trigger on order_summary.created
  set a = 1
  if a > 0 -> go
  done
go:
  do emit(event: "thing.happened", id: "t1")
  set b = 2
  do decline(text: "no")
    on error -> handled
  done
handled:
  set c = 3
  done
end
"""

RETRY_FIRST = """
flow pay "Pay"
  trigger on order_summary.created
  set a = 1
  do charge(amount: 5) retry 1 every 30s
  set b = 2
  done
end
"""


OUTSIDE = """
flow outside "Outside"
  trigger on order_summary.created
  do emit(event: "thing.happened", id: "t1")
  do look(text: "before the call")
  do charge(amount: 5)
  do emit(event: "thing.happened", id: "t2")
  done
end
"""


def _start(db: Database, runtime: Runtime, subject: str) -> str:
    with db.session_factory() as session:
        [run_id] = publish(session, "order_summary.created", {"id": subject}, subject, runtime=runtime)
        session.commit()
    return run_id


def _steps(db: Database, run_id: str) -> list[tuple[str, str]]:
    with db.session_factory() as session:
        steps = session.scalars(select(FlowStep).where(FlowStep.run_id == run_id).order_by(FlowStep.seq))
        return [(s.node_id, s.status) for s in steps]


def test_non_action_steps_commit_with_the_actions_and_every_step_is_recorded(
    db: Database, runtime: Runtime, install: Install
) -> None:
    install(MIXED)
    run_id = _start(db, runtime, "os_1")
    commits: list[object] = []
    count = commits.append
    event.listen(db.engine, "commit", count)
    try:
        with db.session_factory() as session:
            drive_runs(session, [run_id], runtime=runtime)
    finally:
        event.remove(db.engine, "commit", count)
    assert _steps(db, run_id) == [
        ("mixed.1", "completed"),
        ("mixed.2", "completed"),
        ("go", "completed"),
        ("go.2", "completed"),
        ("go.3", "failed"),
        ("handled", "completed"),
        ("handled.2", "completed"),
    ]
    # Seven steps, one transaction (no action calls outside the database): the declined action ran in
    # a savepoint, so its own writes were rolled back and the emit's outbox row before it stayed.
    assert len(commits) == 1
    with db.session_factory() as session:
        run = session.get(FlowRun, run_id)
        assert run is not None and run.status == "completed"
        variables = run.variables["vars"]
        assert (variables["a"], variables["b"], variables["c"]) == (1, 2, 3)
        assert variables["error"]["message"] == "no"
        made = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.name == "thing.happened")
        assert session.scalar(made) == 1
        assert session.scalar(select(func.count()).select_from(RunWait)) == 0


def test_a_first_action_failing_keeps_the_steps_before_it_and_parks_unclaimed(
    db: Database, runtime: Runtime, install: Install, effects: Effects, clock: ManualClock
) -> None:
    install(RETRY_FIRST)
    effects.fail_first["charge"] = 1
    run_id = _start(db, runtime, "os_1")
    with db.session_factory() as session:
        drive_runs(session, [run_id], runtime=runtime, worker_id="inline")
    assert _steps(db, run_id) == [("pay.1", "completed"), ("pay.2", "retrying")]
    with db.session_factory() as session:
        [row] = session.scalars(select(RunWait)).all()
        # The rollback of the failed action took the uncommitted claim along; the parked run is free.
        assert (row.kind, row.claimed_by, row.node_id) == ("retry", None, "pay.2")
    clock.advance(30)
    assert run_due_work(db, clock, "w1", runtime=runtime) == 1
    assert _steps(db, run_id)[2:] == [("pay.2", "completed"), ("pay.3", "completed"), ("pay.4", "completed")]
    assert list(effects.effects.values()) == [1]
    with db.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ProcessException)) == 0


def test_a_run_claimed_by_a_live_driver_is_left_alone(
    db: Database, runtime: Runtime, install: Install, effects: Effects
) -> None:
    install(RETRY_FIRST)
    run_id = _start(db, runtime, "os_1")
    with db.session_factory() as session:
        row = session.scalars(select(RunWait).where(RunWait.run_id == run_id)).one()
        row.claimed_by, row.claimed_until = "other", runtime.clock.now().replace(year=2100)
        session.commit()
        [result] = drive_runs(session, [run_id], runtime=runtime, worker_id="inline")
    assert result.status == "claimed"
    assert _steps(db, run_id) == []
    assert effects.calls["charge"] == 0


def _before_each_charge(runtime: Runtime, probe: Callable[[ActionContext], None]) -> None:
    """The test catalog's external ``charge``, with ``probe`` run just before it."""
    charge = runtime.registry.actions["charge"]

    def probed(ctx: ActionContext, inputs: object) -> object:
        probe(ctx)
        return charge.func(ctx, inputs)

    runtime.registry.register(
        "charge",
        probed,
        input_model=charge.input_model,
        output_model=charge.output_model,
        external=True,
        replace=True,
    )
    runtime.invalidate_catalog()


def test_an_external_action_runs_only_after_what_led_up_to_it_committed(
    db: Database, runtime: Runtime, install: Install, effects: Effects
) -> None:
    # ``look`` (internal) and ``charge`` (external) each count, from a connection of their own, the
    # outbox rows other connections can see: committed ones.
    seen: dict[str, int] = {}
    committed = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.name == "thing.happened")

    def look(ctx: ActionContext, inputs: Note) -> Done:
        with db.engine.connect() as other:
            seen["look"] = int(other.scalar(committed) or 0)
        return Done()

    runtime.registry.register("look", look)

    def look_at_charge(ctx: ActionContext) -> None:
        with db.engine.connect() as other:
            seen["charge"] = int(other.scalar(committed) or 0)

    _before_each_charge(runtime, look_at_charge)
    install(OUTSIDE)
    commits: list[object] = []
    count = commits.append
    event.listen(db.engine, "commit", count)
    try:
        with db.session_factory() as session:
            [run_id] = publish(session, "order_summary.created", {"id": "os_1"}, "os_1", runtime=runtime)
            # The change that started the run is not committed: it commits with the run's steps.
            drive_runs(session, [run_id], runtime=runtime)
    finally:
        event.remove(db.engine, "commit", count)
    # Nothing was committed when the internal action ran; the first emit was when the charge did.
    assert seen == {"look": 0, "charge": 1}
    # One commit before the external call, one at the end.
    assert len(commits) == 2
    assert [status for _, status in _steps(db, run_id)] == ["completed"] * 5
    assert list(effects.effects.values()) == [1]
    with db.session_factory() as session:
        assert session.scalar(committed) == 2


TWO_CALLS = """
flow two "Two calls"
  trigger on order_summary.created
  do charge(amount: 5)
  do charge(amount: 6)
  done
end
"""


def test_an_external_step_has_its_decision_time_stored_before_its_call_goes_out(
    db: Database, runtime: Runtime, install: Install, effects: Effects, clock: ManualClock
) -> None:
    """A worker that dies after the call went out, before the answer was recorded, leaves the run to
    another: it must decide as of the same time, so it has to be stored before the call. That holds
    for an external step right after another external one that wrote nothing (no change to commit)."""
    stored: list[object] = []
    decided: list[object] = []

    def read_the_stored_run(ctx: ActionContext) -> None:
        with db.engine.connect() as other:
            variables = other.scalar(select(FlowRun.variables).where(FlowRun.id == ctx.run_id))
        stored.append((variables or {}).get("first_attempt_at"))
        decided.append(ctx.decided_at().isoformat())
        clock.advance(5)

    _before_each_charge(runtime, read_the_stored_run)
    install(TWO_CALLS)
    with db.session_factory() as session:
        [run_id] = publish(session, "order_summary.created", {"id": "os_1"}, "os_1", runtime=runtime)
        drive_runs(session, [run_id], runtime=runtime)
    assert stored == decided
    assert len(set(decided)) == 2  # each step its own time
    with db.session_factory() as session:
        run = session.get_one(FlowRun, run_id)
        assert run.status == "completed"
        assert "first_attempt_at" not in run.variables

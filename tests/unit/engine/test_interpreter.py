"""The interpreter in memory, on the test catalog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import dsl
from engine.clock import ManualClock
from engine.memory import MemoryEngine
from engine.runtime import Runtime
from engine.state import RunState
from tests.unit.engine.catalog import Effects

Make = Callable[[str], MemoryEngine]

DECIDE = """
flow pick "Pick"
  input n: int
  decide
    when input.n > 100 -> big
    when input.n > 10 -> medium
    otherwise -> small
big:
  set size = "big"
  done
medium:
  set size = "medium"
  done
small:
  set size = "small"
  done
end
"""


def test_decide_takes_the_first_true_branch(engine_for: Make) -> None:
    engine = engine_for(DECIDE)
    sizes = {n: engine.start("pick", {"n": n}).state.variables["size"] for n in (500, 50, 5)}
    assert sizes == {500: "big", 50: "medium", 5: "small"}


def test_if_without_else_falls_through(engine_for: Make) -> None:
    engine = engine_for("""
flow f "F"
  input amount: money
  set doubled = input.amount * 2
  if doubled > 10 -> big
  do charge(amount: doubled) as c
  done
big:
  do charge(amount: 1) as c
  done
end
""")
    small = engine.start("f", {"amount": Decimal("3.10")})
    assert small.status == "completed"
    assert small.state.variables["c"]["charged"] == Decimal("6.20")
    big = engine.start("f", {"amount": Decimal("30")})
    assert big.state.variables["c"]["charged"] == Decimal("1")
    assert "big" in big.path and "big" not in small.path


RETRY = """
flow pay "Pay"
  do charge(amount: 5) as c retry 2 every 10s
    on error -> problem
  done
problem:
  fail "could not charge: {error.message}" category "Payment"
end
"""


def test_retry_backs_off_then_follows_error_edge(
    engine_for: Make, effects: Effects, clock: ManualClock
) -> None:
    effects.fail_first["charge"] = 10
    engine = engine_for(RETRY)
    run = engine.start("pay")
    assert run.status == "waiting" and run.wait is not None and run.wait.kind == "retry"
    first_due = run.wait.due_at
    clock.advance(9)
    assert engine.run_due() == 0
    clock.advance(1)
    assert engine.run_due() == 1
    assert run.wait is not None and run.wait.due_at is not None and first_due is not None
    # Back-off: the second retry waits twice as long as the first.
    assert (run.wait.due_at - clock.now()).total_seconds() == 20
    clock.advance(20)
    engine.run_due()
    assert run.status == "failed"
    assert effects.calls["charge"] == 3
    assert run.failure is not None
    assert run.failure.category == "Payment"
    assert run.failure.message == "could not charge: gateway timeout"


def test_idempotency_key_is_stable_across_retries(
    engine_for: Make, effects: Effects, clock: ManualClock
) -> None:
    effects.fail_first["charge"] = 2
    engine = engine_for(RETRY)
    run = engine.start("pay")
    for _ in range(2):
        clock.advance(60)
        engine.run_due()
    assert run.status == "completed"
    assert len(effects.keys) == 3 and len(set(effects.keys)) == 1
    assert effects.keys[0] == f"{run.state.id}:pay.1:1"
    assert run.state.variables["c"]["attempt"] == 3


def test_every_retry_decides_as_of_its_first_attempt(
    engine_for: Make, effects: Effects, clock: ManualClock
) -> None:
    effects.fail_first["charge"] = 2
    engine = engine_for(RETRY)
    started = clock.now()
    run = engine.start("pay")
    # Stored as a run waiting for its retry is, and read back.
    stored = RunState(id="r", flow_id="pay", version_number=1, subject_id=None, node=None)
    stored.load_variables(run.state.dump_variables())
    assert stored.attempt == 2 and stored.first_attempt_at == started
    for _ in range(2):
        clock.advance(60)
        engine.run_due()
    assert run.status == "completed"
    assert effects.decided == [started, started, started]
    # Done with the step: nothing of it is left to store.
    assert run.state.first_attempt_at is None
    assert "first_attempt_at" not in run.state.dump_variables()


def test_a_new_visit_of_a_node_decides_as_of_its_own_first_attempt(
    engine_for: Make, effects: Effects, clock: ManualClock
) -> None:
    engine = engine_for("""
flow twice "Twice"
  set n = 0
again:
  do charge(amount: 1)
  set n = n + 1
  wait 1h
  if n < 2 -> again
  done
end
""")
    first = clock.now()
    run = engine.start("twice")
    for _ in range(2):
        clock.advance(3600)
        engine.run_due()
    assert run.status == "completed"
    assert effects.decided == [first, first + timedelta(hours=1)]


def test_a_loop_gets_a_new_key_on_each_visit(engine_for: Make, effects: Effects) -> None:
    engine = engine_for("""
flow loop "Loop"
  set n = 0
again:
  do charge(amount: 1)
  set n = n + 1
  if n < 3 -> again
  done
end
""")
    assert engine.start("loop").status == "completed"
    assert len(set(effects.keys)) == 3


def test_exhausted_retries_without_error_edge_fail_with_the_action_category(
    engine_for: Make, effects: Effects
) -> None:
    effects.fail_first["charge"] = 1
    run = engine_for('flow p "P"\n  do charge(amount: 1)\nend\n').start("p")
    assert run.status == "failed"
    assert run.failure is not None and run.failure.category == "Payment"
    assert run.failure.retry_node == "p.1"


def test_fail_uses_its_category_and_interpolates(engine_for: Make) -> None:
    run = engine_for('flow f "F"\n  input n: int\n  fail "bad {input.n}" category "Stock"\nend\n').start(
        "f", {"n": 7}
    )
    assert run.status == "failed"
    assert run.failure is not None
    assert (run.failure.message, run.failure.category) == ("bad 7", "Stock")


WAIT = """
flow w "W"
  do create_thing(name: "box") as box
  wait for thing.happened where event.id == box.id as got timeout 1h -> late
  set result = got.value
  done
late:
  set result = "late"
  done
end
"""


def test_wait_for_event_resumes_only_when_where_holds(engine_for: Make) -> None:
    engine = engine_for(WAIT)
    run = engine.start("w")
    assert run.status == "waiting"
    engine.publish("thing.happened", {"id": "thing_999", "value": "other"})
    assert run.status == "waiting"
    engine.publish("thing.happened", {"id": "thing_1", "value": "mine"})
    assert run.status == "completed"
    assert run.state.variables["result"] == "mine"


def test_wait_for_event_times_out_along_its_timeout_edge(engine_for: Make, clock: ManualClock) -> None:
    engine = engine_for(WAIT)
    run = engine.start("w")
    clock.advance(3599)
    engine.run_due()
    assert run.status == "waiting"
    clock.advance(1)
    engine.run_due()
    assert run.state.variables["result"] == "late"


def test_timer_resumes_when_the_clock_passes_it(engine_for: Make, clock: ManualClock) -> None:
    engine = engine_for('flow t "T"\n  wait 5m\n  set woke = true\nend\n')
    run = engine.start("t")
    clock.advance(299)
    engine.run_due()
    assert run.status == "waiting"
    clock.advance(1)
    engine.run_due()
    assert run.status == "completed" and run.state.variables["woke"] is True


ASK = """
flow a "A"
  input n: int
  ask role "fulfillment_manager" "Approve {input.n}?"
    approved -> yes
    rejected -> no
yes:
  set answer = "yes"
  done
no:
  set answer = "no"
  done
end
"""


def test_ask_creates_a_task_and_resumes_along_the_outcome(engine_for: Make) -> None:
    engine = engine_for(ASK)
    run = engine.start("a", {"n": 3})
    assert run.status == "waiting"
    [(task_id, (run_id, task))] = engine.tasks.items()
    assert run_id == run.state.id
    assert task == {
        "role": "fulfillment_manager",
        "prompt": "Approve 3?",
        "outcomes": ["approved", "rejected"],
    }
    engine.complete_task(task_id, "rejected")
    assert run.state.variables["answer"] == "no"


def test_records_bound_with_as_are_read_live(engine_for: Make) -> None:
    engine = engine_for("""
flow live "Live"
  do create_thing(name: "box") as box
  do set_thing_status(thing: box, status: "shipped")
  if box.status == "shipped" -> fresh
  set seen = "stale"
  done
fresh:
  set seen = "fresh"
  done
end
""")
    assert engine.start("live").state.variables["seen"] == "fresh"


def test_call_runs_a_subflow_for_each_item(engine_for: Make, effects: Effects) -> None:
    engine = engine_for("""
flow parent "Parent"
  call child(amount: x) for each x in [1, 2, 3] as results
  set total = sum(results.c.charged)
  done
end

flow child "Child"
  input amount: money
  do charge(amount: input.amount) as c
end
""")
    run = engine.start("parent")
    assert run.status == "completed"
    assert run.state.variables["total"] == Decimal("6")
    assert effects.calls["charge"] == 3


def test_steps_per_run_are_bounded(engine_for: Make) -> None:
    source = 'flow spin "Spin"\n  set n = 0\nagain:\n  set n = n + 1\n  if n < 1000000 -> again\nend\n'
    run = engine_for(source).start("spin")
    assert run.status == "failed"
    assert run.failure is not None and "more than 200 steps" in run.failure.message


def test_bad_input_shape_fails_the_step_with_a_clear_error(engine_for: Make) -> None:
    source = 'flow b "B"\n  do echo(value: "lots") as e\n  do charge(amount: e.value)\nend\n'
    run = engine_for(source).start("b")
    assert run.status == "failed"
    assert run.steps[-1].error_code == "bad_input"
    assert run.failure is not None and "amount" in run.failure.message


def test_refusal_is_reported_and_not_retried(engine_for: Make) -> None:
    run = engine_for('flow r "R"\n  do refuse() retry 3\nend\n').start("r")
    assert run.status == "failed"
    assert run.steps[-1].error == "not now"


def test_the_unrecorded_fast_path_gives_the_same_results(runtime: Runtime) -> None:
    graphs = dsl.compile_flows(DECIDE, runtime.catalog())
    recorded, fast = MemoryEngine(runtime, graphs), MemoryEngine(runtime, graphs, record_steps=False)
    for n in (500, 50, 5):
        a, b = recorded.start("pick", {"n": n}), fast.start("pick", {"n": n})
        assert a.state.variables == b.state.variables
        assert a.state.step_count == b.state.step_count
    assert fast.start("pick", {"n": 1}).steps == []


def test_a_failure_that_cannot_heal_skips_the_remaining_retries(engine_for: Make, effects: Effects) -> None:
    run = engine_for("""
flow pay "Pay"
  do decline(text: "card declined") retry 3 every 30s
    on error -> problem
  done
problem:
  fail "could not charge: {error.message}" category "Payment"
end
""").start("pay")
    assert run.status == "failed"
    assert effects.calls["decline"] == 1
    assert run.failure is not None and run.failure.message == "could not charge: card declined"


def test_a_compiled_graphs_plan_goes_with_it(runtime: Runtime) -> None:
    # Simulations compile flows again and again in a long-running server: no plan may outlive its graph.
    import gc
    import weakref

    from engine import plan

    graph = dsl.compile_flows(DECIDE, runtime.catalog())[0]
    first = plan.plan_of(graph)
    assert plan.plan_of(graph) is first
    alive = weakref.ref(graph.graph)
    del graph, first
    gc.collect()
    assert alive() is None

"""Interpreter benchmark: one 20-element flow three ways, in memory, plus the persisted cost per step.

The flow is a straight line of 20 elements with a two-way decision every fifth element: four
assignments, then an ``if`` that either skips or takes one extra assignment. The same shape runs as
an Ordo flow on the in-memory engine, as a BPMN process on SpiffWorkflow 3 (script tasks and
exclusive gateways), and as a hand-written Python function. Then the Ordo flow runs durably on
SQLite, every step committed, to show what persistence costs per step.

    .venv/bin/python benchmarks/interpreter.py [--seconds 3] [--persisted-runs 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dsl
from engine.clock import ManualClock
from engine.memory import MemoryEngine
from engine.registry import ActionRegistry
from engine.runtime import Runtime

BLOCKS = 4  # 4 blocks of 5 elements = 20


def ordo_source() -> str:
    lines = ['flow bench "Bench"', "  trigger on bench.start", "  set n = 0", "  set m = 0"]
    for block in range(BLOCKS):
        lines += ["  set n = n + 1"] * (3 if block == 0 else 4)
        lines += [f"  if n % 2 == {block % 2} -> b{block}", "  set m = m + 1", f"b{block}:"]
    lines += ["  done", "end"]
    return "\n".join(lines) + "\n"


def python_flow() -> dict[str, int]:
    n = 0
    m = 0
    for block in range(BLOCKS):
        n += 3 if block == 0 else 4
        if n % 2 != block % 2:
            m += 1
    return {"n": n, "m": m}


def bpmn_source() -> str:
    """The same shape in BPMN: script tasks for assignments, exclusive gateways for decisions."""
    elements: list[str] = []
    flows: list[str] = []
    counter = 0

    def flow(source: str, target: str, condition: str | None = None) -> None:
        nonlocal counter
        counter += 1
        body = (
            (
                f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
                "</bpmn:conditionExpression>"
            )
            if condition
            else ""
        )
        flows.append(
            f'<bpmn:sequenceFlow id="f{counter}" sourceRef="{source}" targetRef="{target}">{body}'
            "</bpmn:sequenceFlow>"
        )

    def script(task_id: str, code: str) -> None:
        elements.append(
            f'<bpmn:scriptTask id="{task_id}" scriptFormat="python"><bpmn:script>{code}'
            "</bpmn:script></bpmn:scriptTask>"
        )

    elements.append('<bpmn:startEvent id="start"/>')
    script("init", "n = 0\nm = 0")
    flow("start", "init")
    previous = "init"
    for block in range(BLOCKS):
        for i in range(3 if block == 0 else 4):
            task = f"s{block}_{i}"
            script(task, "n = n + 1")
            flow(previous, task)
            previous = task
        gateway, extra, join = f"g{block}", f"x{block}", f"j{block}"
        elements.append(f'<bpmn:exclusiveGateway id="{gateway}"/>')
        elements.append(f'<bpmn:exclusiveGateway id="{join}"/>')
        flow(previous, gateway)
        script(extra, "m = m + 1")
        flow(gateway, join, f"n % 2 == {block % 2}")
        flow(gateway, extra, f"n % 2 != {block % 2}")
        flow(extra, join)
        previous = join
    elements.append('<bpmn:endEvent id="end"/>')
    flow(previous, "end")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="bench">'
        '<bpmn:process id="bench" isExecutable="true">'
        + "".join(elements)
        + "".join(flows)
        + "</bpmn:process></bpmn:definitions>\n"
    )


def bench_registry() -> ActionRegistry:
    registry = ActionRegistry()
    registry.register_event("bench.start", {"i"})
    return registry


def rate(fn: Callable[[], Any], seconds: float) -> float:
    fn()
    runs = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            fn()
        runs += 20
    return runs / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--persisted-runs", type=int, default=200)
    args = parser.parse_args()

    runtime = Runtime(registry=bench_registry(), clock=ManualClock())
    graphs = dsl.compile_flows(ordo_source(), runtime.catalog())
    engine = MemoryEngine(runtime, graphs, record_steps=False)

    def ordo_run() -> dict[str, Any]:
        run = engine.start("bench")
        del engine.runs[run.state.id]  # keep memory flat over millions of runs
        return run.state.variables

    expected = python_flow()
    got = ordo_run()
    assert {"n": got["n"], "m": got["m"]} == expected, (got, expected)

    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.parser import BpmnParser

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.bpmn"
        path.write_text(bpmn_source())
        bpmn = BpmnParser()
        bpmn.add_bpmn_file(str(path))
        spec = bpmn.get_spec("bench")

    def spiff_run() -> dict[str, Any]:
        workflow = BpmnWorkflow(spec)
        workflow.do_engine_steps()
        assert workflow.is_completed()
        return dict(workflow.data)

    spiff_data = spiff_run()
    assert {"n": spiff_data["n"], "m": spiff_data["m"]} == expected, spiff_data

    python_rate = rate(python_flow, args.seconds)
    ordo_rate = rate(ordo_run, args.seconds)
    spiff_rate = rate(spiff_run, args.seconds)
    print("in memory, runs per second (20-element flow, decision every fifth element)")
    print(f"  hand-written Python   {python_rate:12,.0f}")
    print(
        f"  Ordo (in memory)      {ordo_rate:12,.0f}   {ordo_rate / spiff_rate:6.1f}x SpiffWorkflow, "
        f"{python_rate / ordo_rate:5.1f}x slower than Python"
    )
    print(f"  SpiffWorkflow 3       {spiff_rate:12,.0f}")
    persisted(args.persisted_runs)


def persisted(runs: int) -> None:
    """Every step committed on SQLite: the run row, its step row and its wait row each time."""
    from sqlalchemy import func, select

    from engine.db import Base, Database
    from engine.flows import create_flow
    from engine.models import FlowStep
    from engine.service import drive_runs
    from engine.triggers import publish

    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{tmp}/bench.db")
        Base.metadata.create_all(database.engine)
        runtime = Runtime(registry=bench_registry(), clock=ManualClock())
        with database.session_factory() as session:
            create_flow(session, ordo_source(), activate_now=True, runtime=runtime)
            session.commit()
        started = time.perf_counter()
        with database.session_factory() as session:
            for i in range(runs):
                run_ids = publish(session, "bench.start", {"i": i}, f"s{i}", runtime=runtime)
                session.commit()
                drive_runs(session, run_ids, runtime=runtime)
        elapsed = time.perf_counter() - started
        with database.session_factory() as session:
            steps = session.scalar(select(func.count()).select_from(FlowStep)) or 1
        database.dispose()
    print(
        f"persisted on SQLite: {runs / elapsed:,.0f} runs/s, {steps / runs:.0f} steps per run, "
        f"{elapsed / steps * 1e6:,.0f} µs per step (committed at the run's end: no external action)"
    )


if __name__ == "__main__":
    main()

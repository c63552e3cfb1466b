"""``ordo worker`` processes on PostgreSQL: a worker killed mid-flight loses nothing and doubles nothing
(acceptance 2), and four workers share a thousand runs without running a step twice (acceptance 3).

The workers are real subprocesses. Their runs call ``example.record_effect`` from the example plugin
(installed in the dev environment, found through its entry point), which writes one row per idempotency
key in the step's own transaction and counts a second commit for the same key as ``attempts`` > 1.
Each test works in a PostgreSQL schema of its own, built by the migrations, so the tables the rest of the
suite shares are never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from engine.db import Database
from engine.flows import create_flow
from engine.models import FlowRun, FlowStep, RunWait
from engine.registry import ActionRegistry
from engine.runtime import Runtime
from engine.triggers import publish
from migrations.runner import upgrade
from migrations.schema import load_all_models
from tests.conftest import PG_URL, require_or_skip

pytestmark = pytest.mark.slow

ORDO = Path(sys.executable).parent / "ordo"
# Short claims, so a killed worker's runs are taken over in seconds rather than a minute.
WORKER_ARGS = ["--idle", "0.05", "--batch", "10", "--lease", "2"]


class Fixture:
    def __init__(self, url: str, database: Database, runtime: Runtime, logs: Path) -> None:
        self.url = url
        self.database = database
        self.runtime = runtime
        self.logs = logs
        self.workers: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.workers)}.log").open("wb")
        process = subprocess.Popen(
            [str(ORDO), "worker", "--db", self.url, *WORKER_ARGS],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.workers.append((process, log))
        return process

    def stop_all(self) -> None:
        for process, log in self.workers:
            if process.poll() is None:
                process.kill()
            process.wait(10)
            log.close()

    def worker_logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.logs.glob("*.log"))
        )

    def install(self, source: str) -> None:
        with self.database.session_factory() as session:
            create_flow(session, source, activate_now=True, runtime=self.runtime)
            session.commit()

    def start_runs(self, count: int) -> None:
        with self.database.session_factory() as session:
            for n in range(count):
                publish(session, "example.tick", {"n": n}, f"s{n}", runtime=self.runtime)
            session.commit()

    def scalar(self, sql: str) -> int:
        with self.database.engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())

    def wait_for(self, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return
            for process, _ in self.workers:
                assert process.poll() is None or process.returncode == -signal.SIGKILL, (
                    f"a worker exited with {process.returncode}:\n{self.worker_logs()}"
                )
            time.sleep(0.1)
        pytest.fail(f"timed out waiting for {what}: {self.progress()}\n{self.worker_logs()}")

    def progress(self) -> str:
        with self.database.engine.connect() as conn:
            runs = conn.execute(text("SELECT status, count(*) FROM flow_runs GROUP BY status")).all()
            waits = conn.execute(
                text(
                    "SELECT kind, node_id, resume IS NOT NULL, claimed_by IS NOT NULL, due_at <= now(),"
                    " count(*) FROM run_waits GROUP BY 1, 2, 3, 4, 5"
                )
            ).all()
        return f"runs {runs}; waits {waits}"

    def finished(self, total: int) -> bool:
        return self.scalar("SELECT count(*) FROM flow_runs WHERE status = 'completed'") >= total

    def assert_exactly_once(self, runs: int, effects_per_run: int) -> None:
        with self.database.session_factory() as session:
            statuses = dict(
                session.execute(select(FlowRun.status, func.count()).group_by(FlowRun.status)).all()
            )
            assert statuses == {"completed": runs}
            assert session.scalar(select(func.count()).select_from(RunWait)) == 0
            doubled_steps = session.execute(
                select(FlowStep.run_id, FlowStep.node_id, FlowStep.attempt, func.count())
                .group_by(FlowStep.run_id, FlowStep.node_id, FlowStep.attempt)
                .having(func.count() > 1)
            ).all()
            assert doubled_steps == []
            action_steps = session.scalar(
                select(func.count()).select_from(FlowStep).where(FlowStep.kind == "action")
            )
            assert action_steps == runs * effects_per_run
        # One row per idempotency key (its primary key), each committed once, none missing.
        assert self.scalar("SELECT count(*) FROM example_effects") == runs * effects_per_run
        assert self.scalar("SELECT coalesce(sum(attempts), 0) FROM example_effects") == runs * effects_per_run
        assert (
            self.scalar(
                "SELECT count(*) FROM (SELECT run_id FROM example_effects GROUP BY run_id"
                f" HAVING count(*) = {effects_per_run}) AS complete"
            )
            == runs
        )


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Fixture]:
    if not PG_URL:
        require_or_skip("PostgreSQL tests need ORDO_TEST_DATABASE_URL")
    if not ORDO.exists():
        require_or_skip(f"{ORDO} is not installed")
    registry = ActionRegistry()
    registry.load_plugins()
    if "example.record_effect" not in registry.actions:
        require_or_skip("the example plugin is not installed (make installs it: pip install -e examples/...)")
    schema = f"ordo_workers_{uuid.uuid4().hex[:8]}"
    admin = Database(PG_URL)
    with admin.engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema} -csynchronous_commit=off"})
    url_text = url.render_as_string(hide_password=False)
    database: Database | None = None
    fixture: Fixture | None = None
    try:
        upgrade(url_text)
        database = Database(url_text)
        # The models fill in what the migrations do not build (yet); on a migrated schema this adds nothing.
        load_all_models().create_all(database.engine)
        from ordo_example_plugin import create_effects_table

        with database.engine.begin() as conn:
            create_effects_table(conn)
        fixture = Fixture(url_text, database, Runtime(registry=registry), tmp_path)
        yield fixture
    finally:
        if fixture is not None:
            fixture.stop_all()
        if database is not None:
            database.dispose()
        with admin.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


CRASH_FLOW = """
flow crash_probe "Crash probe"
  trigger on example.tick
  do example.record_effect(label: "before")
  wait 1s
  do example.record_effect(label: "after")
  done
end
"""


def test_a_worker_killed_mid_flight_loses_no_run_and_doubles_no_effect(procs: Fixture) -> None:
    runs = 200
    procs.install(CRASH_FLOW)
    procs.start_runs(runs)
    first = procs.start_worker()
    # Kill it while runs are everywhere: some past their first effect, some parked on the timer.
    procs.wait_for(
        lambda: procs.scalar("SELECT count(*) FROM example_effects") >= runs // 2,
        30,
        "the first worker to apply effects",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    completed = procs.scalar("SELECT count(*) FROM flow_runs WHERE status = 'completed'")
    assert completed < runs, "every run finished before the kill: the test proved nothing"
    procs.start_worker()
    procs.wait_for(lambda: procs.finished(runs), 40, "every run to finish after the restart")
    procs.assert_exactly_once(runs, effects_per_run=2)


SCALE_FLOW = """
flow scale_probe "Scale probe"
  trigger on example.tick
  do example.record_effect(label: "start")
  wait for example.go timeout 3s -> late
  do example.record_effect(label: "woken")
  -> finish
late:
  do example.record_effect(label: "late")
finish:
  wait 1s
  do example.record_effect(label: "end")
  done
end
"""


def test_four_workers_finish_a_thousand_runs_with_waits_and_timers_once_each(procs: Fixture) -> None:
    runs = 1000
    procs.install(SCALE_FLOW)
    procs.start_runs(runs)
    for _ in range(4):
        procs.start_worker()
    # Wake the even runs with their event as they park on it; the odd ones time out.
    woken: set[str] = set()
    deadline = time.monotonic() + 60
    while not procs.finished(runs) and time.monotonic() < deadline:
        with procs.database.session_factory() as session:
            parked = session.scalars(
                select(RunWait.subject_id).where(RunWait.kind == "event", RunWait.resume.is_(None))
            ).all()
            for subject in parked:
                if subject is not None and int(subject[1:]) % 2 == 0 and subject not in woken:
                    publish(session, "example.go", {"n": int(subject[1:])}, subject, runtime=procs.runtime)
                    woken.add(subject)
            session.commit()
        time.sleep(0.2)
    procs.wait_for(lambda: procs.finished(runs), 5, "every run to finish")
    procs.assert_exactly_once(runs, effects_per_run=3)
    # Both branches ran: events woke some runs, timeouts moved the others on.
    assert procs.scalar("SELECT count(*) FROM example_effects WHERE label = 'woken'") > 0
    assert procs.scalar("SELECT count(*) FROM example_effects WHERE label = 'late'") > 0

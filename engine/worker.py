"""Workers: claim due work (timers, retries, woken waits, started runs) and drive it; beside that, in
a thread of its own, publish the outbox to webhook endpoints (``engine.webhooks``).

On PostgreSQL many workers share the table: ``FOR UPDATE SKIP LOCKED`` hands each row to one worker,
and the claim (``claimed_by``/``claimed_until``) keeps it theirs after the short claiming transaction.
A worker that dies loses its claims when they expire, and another worker finishes its runs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

import httpx
from sqlalchemy import or_, select, update

from engine import codec
from engine.clock import Clock
from engine.db import Database
from engine.driver import drive
from engine.models import RunWait
from engine.runtime import Runtime, default_runtime
from engine.webhooks import TIMEOUT_S, http_sender, run_outbound

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{codec.new_token()[:8]}"


def claim_due(database: Database, runtime: Runtime, worker_id: str, limit: int) -> list[str]:
    """Claim up to ``limit`` due wait rows for ``worker_id``; returns their run ids."""
    now = runtime.clock.now()
    query = (
        select(RunWait)
        .where(
            RunWait.due_at.is_not(None),
            RunWait.due_at <= now,
            or_(RunWait.claimed_until.is_(None), RunWait.claimed_until < now),
        )
        .order_by(RunWait.due_at)
        .limit(limit)
    )
    if database.dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    until = now + timedelta(seconds=runtime.lease_s)
    claimed: list[str] = []
    with database.session_factory() as session:
        rows = session.scalars(query).all()
        for row in rows:
            # The conditional update is the claim on every database: on SQLite, where nothing is locked
            # by the SELECT, two workers may read the same row, and only one update matches.
            result = session.execute(
                update(RunWait)
                .where(
                    RunWait.id == row.id, or_(RunWait.claimed_until.is_(None), RunWait.claimed_until < now)
                )
                .values(claimed_by=worker_id, claimed_until=until)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                claimed.append(row.run_id)
        session.commit()
    return claimed


def run_due_work(
    database: Database,
    clock: Clock | None = None,
    worker_id: str | None = None,
    limit: int = 100,
    *,
    runtime: Runtime | None = None,
) -> int:
    """Drive the runs whose wait is due; returns how many runs were claimed."""
    runtime = runtime or default_runtime()
    if clock is not None and clock is not runtime.clock:
        runtime = Runtime(
            registry=runtime.registry,
            clock=clock,
            max_steps=runtime.max_steps,
            lease_s=runtime.lease_s,
            _graphs=runtime._graphs,
        )
    worker_id = worker_id or worker_name()
    run_ids = claim_due(database, runtime, worker_id, limit)
    for run_id in run_ids:
        with database.session_factory() as session:
            try:
                drive(session, runtime, [run_id], worker_id=worker_id)
            except Exception:  # one broken run must not stop the worker
                session.rollback()
                log.exception("driving run %s failed", run_id)
    return len(run_ids)


def work_forever(
    database: Database,
    *,
    runtime: Runtime | None = None,
    worker_id: str | None = None,
    idle_s: float = 0.5,
    stop: threading.Event | None = None,
    limit: int = 50,
) -> None:
    """The loop of ``ordo worker``: drive due work, sleep a little when there is none; the outbound
    thread (webhooks) runs beside it until ``stop`` is set."""
    stop = stop or threading.Event()
    worker_id = worker_id or worker_name()
    outbound = threading.Thread(
        target=outbound_forever,
        kwargs={
            "database": database,
            "runtime": runtime,
            "worker_id": worker_id,
            "idle_s": idle_s,
            "stop": stop,
        },
        name="ordo-outbound",
        daemon=True,
    )
    outbound.start()
    try:
        while not stop.is_set():
            try:
                claimed = run_due_work(database, worker_id=worker_id, limit=limit, runtime=runtime)
            except Exception:
                log.exception("worker %s: claiming due work failed", worker_id)
                claimed = 0
            if claimed == 0:
                stop.wait(idle_s)
    finally:
        stop.set()
        outbound.join(OUTBOUND_JOIN_S)


# A delivery in flight when the worker stops may take this long to give up (the request's timeout
# applies to connecting, sending and reading the status each); the deliveries not begun yet are given
# back at once.
OUTBOUND_JOIN_S = 3 * TIMEOUT_S + 2.0


def outbound_forever(
    database: Database,
    *,
    runtime: Runtime | None = None,
    worker_id: str,
    idle_s: float = 0.5,
    stop: threading.Event,
) -> None:
    """Fan the outbox out to webhook endpoints and deliver, until ``stop``: apart from the runs' loop,
    so an endpoint that is slow or down never holds up a flow."""
    clock = (runtime or default_runtime()).clock
    with httpx.Client(follow_redirects=False) as client:
        send = http_sender(client)
        while not stop.is_set():
            try:
                busy = run_outbound(database, clock, worker_id, send=send, stop=stop)
            except Exception:
                log.exception("worker %s: webhook delivery failed", worker_id)
                busy = 0
            if busy == 0:
                stop.wait(idle_s)


class BackgroundWorker:
    """The in-process worker ``ordo serve`` runs beside the API (a daemon thread)."""

    def __init__(self, database: Database, *, runtime: Runtime | None = None, idle_s: float = 0.5) -> None:
        self._database = database
        self._runtime = runtime
        self._idle_s = idle_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=work_forever,
            kwargs={
                "database": self._database,
                "runtime": self._runtime,
                "idle_s": self._idle_s,
                "stop": self._stop,
            },
            name="ordo-worker",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout_s: float = OUTBOUND_JOIN_S + 3.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None


def wait_idle(database: Database, runtime: Runtime | None = None, timeout_s: float = 10.0) -> None:
    """Drive due work until none is left (tests and ``ordo bench`` use it instead of sleeping)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if run_due_work(database, runtime=runtime) == 0:
            return

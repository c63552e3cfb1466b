"""``ordo bench``: orders per second through the whole first half of the lifecycle, beside a raw-SQL floor.

The Ordo side places each order through the API's own path (capture, the fulfillment flow: routing,
reservation, authorization, fulfillment orders), then ships every fulfillment order (the invoice and
capture flow). The floor writes the same rows with plain SQL: the writes of one Ordo order, the test
gateway's included, are recorded at the driver (INSERT, UPDATE, DELETE, no reads, no logic) and
replayed for each further order with fresh ids, each request's writes in one transaction (the order's
capture, then each shipment: three requests, hours apart in real life, that no implementation can
commit together). The ratio says what the engine and the domain cost on top of the unavoidable
writes. The same writes in a single transaction per order are timed too, and reported beside it.
"""

from __future__ import annotations

import re
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from sqlalchemy import Table, bindparam, event, select
from sqlalchemy.engine import Engine

from api.bootstrap import build_runtime, prepare_database
from api.ordering import place_order, ship_fulfillment_order
from engine.db import Database, new_id
from engine.runtime import Runtime
from migrations.schema import load_all_models
from orders import setup
from orders.intake import OrderInput
from orders.models import FulfillmentOrder

ID_TOKEN = r"\b[a-z]+_[0-9a-f]{32}\b"
WRITES = ("insert", "update", "delete")
SKUS = ("BENCH-A", "BENCH-B", "BENCH-C")
# Orders per round: Ordo's, then the floors' replays of as many, then the next round.
ROUND = 25


@dataclass
class Phase:
    orders: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


@dataclass
class BenchReport:
    ordo: Phase = field(default_factory=Phase)
    # The floor the ratio is taken against: each request's writes in one transaction.
    floor: Phase = field(default_factory=Phase)
    # The same writes, a whole order's in one transaction (no real order can be written so).
    floor_one_transaction: Phase = field(default_factory=Phase)
    # Peak resident memory (MiB) after each thousand Ordo orders: flat means nothing accumulates.
    memory_mib: list[tuple[int, float]] = field(default_factory=list)
    statements_per_order: int = 0
    requests_per_order: int = 0

    @property
    def ratio(self) -> float:
        return self.ordo.per_second / self.floor.per_second if self.floor.per_second else 0.0


class _Ticker:
    """Advances a progress bar, redrawing it at most every half second."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._next = 0.0

    def advance(self, task: TaskID) -> None:
        self._progress.advance(task)
        now = time.monotonic()
        if now >= self._next:
            self._progress.refresh()
            self._next = now + 0.5


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_order_number(index: int, prefix: str) -> str:
    return f"{prefix}-{index:08d}"


def bench_order(index: int, prefix: str) -> OrderInput:
    return OrderInput.model_validate(
        {
            "order_number": bench_order_number(index, prefix),
            "channel": "bench",
            "currency": "USD",
            "customer": {"email": f"buyer{index}@example.com", "name": f"Buyer {index}"},
            "ship_to": {
                "name": "Buyer",
                "line1": "1 Main St",
                "city": "Springfield",
                "region": "IL",
                "postal_code": "62701",
                "country": "US",
            },
            "delivery_method": "STANDARD",
            "lines": [
                {"sku": "BENCH-A", "name": "A", "quantity": 2, "unit_price": "19.99", "tax": "3.20"},
                {"sku": "BENCH-B", "name": "B", "quantity": 1, "unit_price": "5.00", "tax": "0.40"},
            ],
            "adjustments": "-2.00",
            "shipping": {"amount": "5.00", "tax": "0.40"},
            "payment": {"gateway": "test", "token": "tok_ok"},
        }
    )


def _seed(database: Database, orders: int) -> None:
    with database.uow() as uow:
        session = uow.session
        setup.put_location(
            session, "BWH1", name="Bench 1", kind="warehouse", ships=True, pickup=False, priority=1
        )
        setup.put_location(
            session, "BWH2", name="Bench 2", kind="warehouse", ships=True, pickup=False, priority=2
        )
        setup.put_delivery_method(session, "STANDARD", name="Standard", kind="ship")
        # Enough stock for every order three times over (Ordo's and both floors'), split so orders split too.
        setup.put_inventory(session, "BWH1", "BENCH-A", on_hand=6 * orders + 10)
        setup.put_inventory(session, "BWH2", "BENCH-B", on_hand=3 * orders + 10)
        uow.commit()


_FOS = cast(Table, FulfillmentOrder.__table__)
_FO_IDS = select(_FOS.c.id).where(_FOS.c.order_summary_id == bindparam("b_summary")).order_by(_FOS.c.id)


def _fulfillment_order_ids(database: Database, summary_id: str) -> list[str]:
    """What the warehouse is told to ship (the bench's client side: a plain read, no ORM)."""
    with database.engine.connect() as conn:
        ids = list(conn.execute(_FO_IDS, {"b_summary": summary_id}).scalars())
        conn.commit()  # not a rollback, as Ordo's sessions end a read (see engine.transactions)
    return ids


def _ship(database: Database, runtime: Runtime, fo_id: str) -> None:
    """One shipment, as its own request: a session of its own, as the API gives each."""
    with database.session_factory() as session:
        ship_fulfillment_order(session, runtime, fo_id, carrier="UPS", tracking_number=f"T{fo_id[-10:]}")


def process_order(database: Database, runtime: Runtime, index: int, prefix: str) -> None:
    summary_id = place_order(database, runtime, bench_order(index, prefix))
    for fo_id in _fulfillment_order_ids(database, summary_id):
        _ship(database, runtime, fo_id)


Writes = list[tuple[str, Any]]


def _record_order(database: Database, runtime: Runtime, prefix: str) -> list[Writes]:
    """Order 0 of the run, its writes recorded request by request: the capture, then each shipment."""
    requests: list[Writes] = []
    with record_writes() as writes:
        summary_id = place_order(database, runtime, bench_order(0, prefix))
    requests.append(writes)
    for fo_id in _fulfillment_order_ids(database, summary_id):
        with record_writes() as writes:
            _ship(database, runtime, fo_id)
        requests.append(writes)
    return requests


@contextmanager
def record_writes() -> Iterator[Writes]:
    """The INSERT/UPDATE/DELETE statements sent on any engine while the block runs (Ordo's and the test
    gateway's own), with their parameters."""
    recorded: Writes = []

    def before(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, executemany: bool
    ) -> None:
        if statement.lstrip().lower().startswith(WRITES):
            recorded.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", before)
    try:
        yield recorded
    finally:
        event.remove(Engine, "before_cursor_execute", before)


def _existing_ids(database: Database) -> set[str]:
    """Ids that were there before the recorded order (locations, stock, keys): the replay keeps them."""
    ids: set[str] = set()
    with database.engine.connect() as conn:
        for table in load_all_models().sorted_tables:
            if "id" in table.c:
                ids.update(str(v) for v in conn.execute(select(table.c.id)).scalars())
    return ids


Fill = Callable[[dict[str, str]], Any]


def _constant(value: Any) -> Fill:
    return lambda _fresh: value


class _Templates:
    """Turns recorded parameters into templates, noting each recorded id it makes a slot for."""

    def __init__(self, keep: set[str], number: str) -> None:
        self._pattern = re.compile(f"({ID_TOKEN}|{re.escape(number)})")
        self._keep = keep
        self._number = number
        # Each recorded id with its prefix: the replay draws a new one of each per order.
        self.ids: dict[str, str] = {}

    def of(self, value: Any) -> Fill | None:
        """How to rebuild ``value`` for another order: None when it stays as recorded."""
        if isinstance(value, str):
            return self._of_string(value)
        if isinstance(value, tuple | list):
            parts = [self.of(item) for item in value]
            if not any(parts):
                return None
            kind = type(value)
            fills = [part or _constant(item) for part, item in zip(parts, value, strict=True)]
            return lambda fresh: kind(fill(fresh) for fill in fills)
        if isinstance(value, dict):
            entries = {key: self.of(item) for key, item in value.items()}
            if not any(entries.values()):
                return None
            pairs = [(key, entries[key] or _constant(item)) for key, item in value.items()]
            return lambda fresh: {key: fill(fresh) for key, fill in pairs}
        return None

    def _of_string(self, value: str) -> Fill | None:
        """``value`` with each recorded id (and the order number) as a slot; None when it has none."""
        pieces = self._pattern.split(value)
        texts, slots = [pieces[0]], []
        for index in range(1, len(pieces), 2):
            token, after = pieces[index], pieces[index + 1]
            if token in self._keep:
                texts[-1] += token + after
                continue
            if token != self._number:
                self.ids[token] = token.partition("_")[0]
            slots.append(token)
            texts.append(after)
        if not slots:
            return None
        first, rest = texts[0], tuple(zip(slots, texts[1:], strict=True))

        def fill(fresh: dict[str, str]) -> str:
            out = [first]
            for slot, text in rest:
                out.append(fresh[slot])
                out.append(text)
            return "".join(out)

        return fill


@dataclass(frozen=True)
class ReplayPlan:
    """One order's recorded writes, ready to be sent again for another order: each parameter that held
    a new id or the order number is a template, worked out once, so that a replay costs what writing
    the rows costs (fresh ids and string joins), not a search of every parameter."""

    requests: list[list[tuple[str, Any, Fill | None]]]
    # Each recorded id with its prefix: the replay draws a new one of each per order.
    ids: tuple[tuple[str, str], ...]
    number: str


def plan_replay(requests: list[Writes], keep: set[str], number: str) -> ReplayPlan:
    templates = _Templates(keep, number)
    planned = [
        [(statement, parameters, templates.of(parameters)) for statement, parameters in request]
        for request in requests
    ]
    return ReplayPlan(planned, tuple(templates.ids.items()), number)


def replay(database: Database, plan: ReplayPlan, new_number: str, *, one_transaction: bool = False) -> None:
    """One order's recorded writes again, with fresh ids and ``new_number``: each request's in a
    transaction of its own (or, with ``one_transaction``, all of them in one)."""
    fresh = {old: new_id(prefix) for old, prefix in plan.ids}
    fresh[plan.number] = new_number
    batches = [[w for request in plan.requests for w in request]] if one_transaction else plan.requests
    for batch in batches:
        with database.engine.begin() as conn:
            for statement, parameters, fill in batch:
                conn.exec_driver_sql(statement, fill(fresh) if fill is not None else parameters)


def run_bench(url: str, orders: int, console: Console | None = None) -> BenchReport:
    console = console or Console(stderr=True)
    database = Database(url)
    runtime = build_runtime()
    prepare_database(database, runtime)
    _seed(database, orders)
    report = BenchReport()

    # Order numbers unique to this run, so a bench never collides with earlier runs' orders.
    run = f"B{int(time.time())}"
    # The first order is recorded (and not timed): its writes are the floor's template.
    keep = _existing_ids(database)
    requests = _record_order(database, runtime, run)
    report.statements_per_order = sum(len(request) for request in requests)
    report.requests_per_order = len(requests)
    plan = plan_replay(requests, keep, bench_order_number(0, run))

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    seconds = {"ordo": 0.0, "floor": 0.0, "one": 0.0}
    # Drawn by hand, twice a second, so a progress bar redrawing itself from a thread of its own costs
    # the timed loops nothing.
    with Progress(*columns, console=console, transient=True, auto_refresh=False) as progress:
        tick = _Ticker(progress)
        task = progress.add_task("Ordo and the floors", total=orders)
        # Interleaved in rounds, so a machine that slows down or speeds up meanwhile (other work, a
        # warming cache) moves both sides alike and leaves the ratio alone.
        for first in range(1, orders + 1, ROUND):
            indexes = range(first, min(first + ROUND, orders + 1))
            started = time.perf_counter()
            for index in indexes:
                process_order(database, runtime, index, run)
                if index % 1000 == 0 or index == orders:
                    report.memory_mib.append((index, _peak_mib()))
            seconds["ordo"] += time.perf_counter() - started
            for kind, prefix in (("floor", f"F{run}"), ("one", f"G{run}")):
                started = time.perf_counter()
                for index in indexes:
                    replay(database, plan, bench_order_number(index, prefix), one_transaction=kind == "one")
                seconds[kind] += time.perf_counter() - started
            for _ in indexes:
                tick.advance(task)
    report.ordo = Phase(orders, seconds["ordo"])
    report.floor = Phase(orders, seconds["floor"])
    report.floor_one_transaction = Phase(orders, seconds["one"])
    database.dispose()
    return report


def print_report(report: BenchReport, url: str, console: Console) -> None:
    ordo, floor = report.ordo, report.floor
    console.print(f"database: {url.split('@')[-1]}")
    console.print(f"Ordo:          {ordo.per_second:9.1f} orders/s ({ordo.orders} in {ordo.seconds:.1f} s)")
    console.print(
        f"raw SQL floor: {floor.per_second:9.1f} orders/s ({report.statements_per_order} writes per order, "
        f"each of its {report.requests_per_order} requests' in one transaction)"
    )
    console.print(f"ratio (Ordo / floor): {report.ratio:.3f}")
    single = report.floor_one_transaction
    single_ratio = ordo.per_second / single.per_second if single.per_second else 0.0
    console.print(
        f"the same writes, one transaction per order: {single.per_second:.1f} orders/s "
        f"(Ordo / that: {single_ratio:.3f})"
    )
    marks = ", ".join(f"{n}: {mib:.0f} MiB" for n, mib in report.memory_mib)
    console.print(f"peak memory after orders: {marks}")

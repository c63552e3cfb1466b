"""``ordo bench``: orders per second through the whole first half of the lifecycle, beside a raw-SQL floor.

The Ordo side places each order through the API's own path (capture, the fulfillment flow: routing,
reservation, authorization, fulfillment orders), then ships every fulfillment order (the invoice and
capture flow). The floor writes the same rows with plain SQL: the writes of one Ordo order are
recorded at the driver (INSERT, UPDATE, DELETE, no reads, no logic) and replayed for each further
order, with fresh ids, in one transaction per order. The ratio says what the engine and the domain
cost on top of the unavoidable writes.
"""

from __future__ import annotations

import re
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from api.bootstrap import build_runtime, prepare_database
from api.ordering import place_order, ship_fulfillment_order
from engine.db import Database, new_id
from engine.runtime import Runtime
from migrations.schema import load_all_models
from orders import setup
from orders.intake import OrderInput
from orders.models import FulfillmentOrder

ID_PATTERN = re.compile(r"\b([a-z]+)_[0-9a-f]{32}\b")
WRITES = ("insert", "update", "delete")
SKUS = ("BENCH-A", "BENCH-B", "BENCH-C")


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
    floor: Phase = field(default_factory=Phase)
    # Peak resident memory (MiB) after each thousand Ordo orders: flat means nothing accumulates.
    memory_mib: list[tuple[int, float]] = field(default_factory=list)
    statements_per_order: int = 0

    @property
    def ratio(self) -> float:
        return self.ordo.per_second / self.floor.per_second if self.floor.per_second else 0.0


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_order(index: int, prefix: str) -> OrderInput:
    return OrderInput.model_validate(
        {
            "order_number": f"{prefix}-{index:08d}",
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
        # Enough stock for every order, twice over (Ordo's and the floor's), split so orders split too.
        setup.put_inventory(session, "BWH1", "BENCH-A", on_hand=4 * orders + 10)
        setup.put_inventory(session, "BWH2", "BENCH-B", on_hand=2 * orders + 10)
        uow.commit()


def _ship_all(database: Database, runtime: Runtime, summary_id: str) -> None:
    with database.session_factory() as session:
        fo_ids = list(
            session.scalars(
                select(FulfillmentOrder.id).where(FulfillmentOrder.order_summary_id == summary_id)
            )
        )
        for fo_id in fo_ids:
            ship_fulfillment_order(session, runtime, fo_id, carrier="UPS", tracking_number=f"T{fo_id[-10:]}")


def process_order(database: Database, runtime: Runtime, index: int, prefix: str) -> None:
    summary_id = place_order(database, runtime, bench_order(index, prefix))
    _ship_all(database, runtime, summary_id)


@contextmanager
def record_writes(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The INSERT/UPDATE/DELETE statements the engine sends while the block runs, with parameters."""
    recorded: list[tuple[str, Any]] = []

    def before(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, executemany: bool
    ) -> None:
        if statement.lstrip().lower().startswith(WRITES):
            recorded.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield recorded
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _existing_ids(database: Database) -> set[str]:
    """Ids that were there before the recorded order (locations, stock, keys): the replay keeps them."""
    ids: set[str] = set()
    with database.engine.connect() as conn:
        for table in load_all_models().sorted_tables:
            if "id" in table.c:
                ids.update(str(v) for v in conn.execute(select(table.c.id)).scalars())
    return ids


def _rewriter(keep: set[str], number: str, new_number: str) -> Callable[[Any], Any]:
    mapping: dict[str, str] = {}

    def fresh(match: re.Match[str]) -> str:
        old = match.group(0)
        if old in keep:
            return old
        if old not in mapping:
            mapping[old] = new_id(match.group(1))
        return mapping[old]

    def rewrite(value: Any) -> Any:
        if isinstance(value, str):
            return ID_PATTERN.sub(fresh, value).replace(number, new_number)
        if isinstance(value, tuple | list):
            return type(value)(rewrite(v) for v in value)
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        return value

    return rewrite


def replay(
    database: Database, writes: list[tuple[str, Any]], keep: set[str], number: str, new_number: str
) -> None:
    rewrite = _rewriter(keep, number, new_number)
    with database.engine.begin() as conn:
        for statement, parameters in writes:
            conn.exec_driver_sql(statement, rewrite(parameters))


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
    with record_writes(database.engine) as writes:
        process_order(database, runtime, 0, run)
    report.statements_per_order = len(writes)

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("Ordo", total=orders)
        started = time.perf_counter()
        for index in range(1, orders + 1):
            process_order(database, runtime, index, run)
            progress.advance(task)
            if index % 1000 == 0 or index == orders:
                report.memory_mib.append((index, _peak_mib()))
        report.ordo = Phase(orders, time.perf_counter() - started)

        task = progress.add_task("raw SQL floor", total=orders)
        started = time.perf_counter()
        for index in range(1, orders + 1):
            replay(
                database,
                writes,
                keep,
                bench_order(0, run).order_number,
                bench_order(index, f"F{run}").order_number,
            )
            progress.advance(task)
        report.floor = Phase(orders, time.perf_counter() - started)
    database.dispose()
    return report


def print_report(report: BenchReport, url: str, console: Console) -> None:
    ordo, floor = report.ordo, report.floor
    console.print(f"database: {url.split('@')[-1]}")
    console.print(f"Ordo:          {ordo.per_second:9.1f} orders/s ({ordo.orders} in {ordo.seconds:.1f} s)")
    console.print(
        f"raw SQL floor: {floor.per_second:9.1f} orders/s ({report.statements_per_order} writes per order)"
    )
    console.print(f"ratio (Ordo / floor): {report.ratio:.3f}")
    marks = ", ".join(f"{n}: {mib:.0f} MiB" for n, mib in report.memory_mib)
    console.print(f"peak memory after orders: {marks}")

"""``ordo bench`` drives real orders and replays their writes as the floor."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from api.bench import run_bench
from engine.db import Database
from orders.models import GatewayCall, Invoice, OrderSummary


def test_bench_runs_orders_through_the_lifecycle_and_the_floor(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    report = run_bench(url, 3)
    assert report.ordo.orders == 3 and report.floor.orders == 3 and report.floor_one_transaction.orders == 3
    assert report.ordo.per_second > 0 and report.floor.per_second > 0
    assert report.floor_one_transaction.per_second > 0
    assert report.statements_per_order > 20
    # The capture and the two shipments, each replayed in a transaction of its own.
    assert report.requests_per_order == 3
    assert report.memory_mib and report.memory_mib[-1][0] == 3
    database = Database(url)
    with database.session_factory() as session:
        # The recorded order, three timed ones, and three replayed by each floor, each with two invoices
        # and the test gateway's three calls (an authorization, two captures).
        assert session.scalar(select(func.count()).select_from(OrderSummary)) == 10
        assert session.scalar(select(func.count()).select_from(Invoice)) == 20
        assert session.scalar(select(func.count()).select_from(GatewayCall)) == 30
    database.dispose()

"""``ordo bench`` drives real orders and replays their writes as the floor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from api.bench import plan_replay, run_bench
from engine.db import Database, new_id
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


def test_a_replay_plan_gives_every_order_fresh_ids_and_its_own_number() -> None:
    summary, item, location = new_id("os"), new_id("osi"), new_id("loc")
    requests: list[list[tuple[str, Any]]] = [
        [
            ("INSERT a", (summary, "B1-00000000", 3, None)),
            ("INSERT b", [(item, summary, location), (new_id("osi"), summary, location)]),
        ],
        [("INSERT c", {"payload": f'{{"summary": "{summary}", "number": "B1-00000000"}}', "n": 1})],
        # An id right after a raw newline (repr writes it as a backslash and an "n", a word character).
        [("INSERT d", ("note:\n" + summary,))],
    ]
    plan = plan_replay(requests, {location}, "B1-00000000")
    # The summary's and the two items' ids are drawn afresh; the kept location's is not.
    assert len(plan.ids) == 3
    fresh = {old: new_id(prefix) for old, prefix in plan.ids}
    fresh[plan.number] = "F1-00000007"
    # What replay() sends for that order.
    first, second, third, fourth = (
        (statement, fill(fresh) if fill is not None else parameters)
        for request in plan.requests
        for statement, parameters, fill in request
    )
    new_summary = fresh[summary]
    assert new_summary != summary and new_summary.startswith("os_")
    assert first[1] == (new_summary, "F1-00000007", 3, None)
    rows = second[1]
    assert isinstance(rows, list) and [row[1:] for row in rows] == [(new_summary, location)] * 2
    assert rows[0][0] != rows[1][0] and item not in (rows[0][0], rows[1][0])
    assert third[1] == {"payload": f'{{"summary": "{new_summary}", "number": "F1-00000007"}}', "n": 1}
    assert fourth[1] == ("note:\n" + new_summary,)

"""The order console on 100,000 orders: dashboard and search response times, SQLite and PostgreSQL.

Seeds the real schema (``migrations.runner.upgrade``) with bulk inserts through SQLAlchemy Core, then
times the console's pages through the app itself (FastAPI's TestClient, a logged-in agent, HTML
rendered), so each figure is what the server spends on a request: routing, auth, queries, templates.

    .venv/bin/python benchmarks/console.py [--orders 100000] [--rounds 30] [--pg-url URL | --no-pg]

PostgreSQL runs in a database of its own, ``ordo_console_bench``, created and dropped here.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import Table, create_engine, insert, text
from sqlalchemy.engine import Connection, make_url

from api.app import create_app
from api.bootstrap import build_runtime, prepare_database
from api.keys import Role, create_key
from engine.db import Base, Database
from migrations.runner import upgrade
from migrations.schema import load_all_models

BENCH_DB = "ordo_console_bench"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
STATUSES = [("Fulfilled", 55), ("Waiting to Fulfill", 20), ("Partially Fulfilled", 8), ("Canceled", 5),
            ("Closed", 8), ("Pending Approval", 2), ("Rejected", 2)]  # fmt: skip
OPEN_FO = {"Waiting to Fulfill": "Allocated", "Partially Fulfilled": "Picked"}
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lee"]
BATCH = 5000


def table(name: str) -> Table:
    return Base.metadata.tables[name]


def new_id(prefix: str, n: int) -> str:
    return f"{prefix}_{n:032x}"


def seed(conn: Connection, orders: int, now: datetime) -> dict[str, str]:
    """Inserts ``orders`` orders with summaries, items, fulfillment orders, exceptions, returns, tasks."""
    rng = random.Random(8)
    weights = [w for _, w in STATUSES]
    conn.execute(
        insert(table("locations")), [{"id": "loc_b1", "code": "WH1", "name": "WH1", "created_at": now}]
    )
    conn.execute(
        insert(table("delivery_methods")),
        [{"id": "dm_b1", "code": "STANDARD", "name": "Std", "created_at": now}],
    )
    rows: dict[str, list[dict[str, Any]]] = {}
    sample: dict[str, str] = {}

    def flush(force: bool = False) -> None:
        # Every table at once, parents first: the foreign keys are checked on SQLite too.
        if not force and len(rows.get("order_item_summaries", [])) < BATCH:
            return
        for name in ("orders", "order_summaries", "order_item_summaries", "fulfillment_orders",
                     "process_exceptions", "return_orders", "tasks"):  # fmt: skip
            if rows.get(name):
                conn.execute(insert(table(name)), rows[name])
                rows[name] = []

    for n in range(orders):
        created = now - timedelta(seconds=rng.randrange(0, 365 * 86400))
        status = rng.choices([s for s, _ in STATUSES], weights)[0]
        customer = n % 20000
        name = f"{FIRST[customer % 10]} {LAST[(customer // 10) % 10]} {customer}"
        email = f"customer{customer}@example.com"
        number = f"B{n:07d}"
        total = Decimal(rng.randrange(1000, 90000)) / 100
        customer_cols = {"customer_email": email, "customer_name": name, "ship_to_name": name}
        oid, sid = new_id("ord", n), new_id("os", n)
        rows.setdefault("orders", []).append(
            {"id": oid, "created_at": created, "order_number": number, "channel": "web", "currency": "USD",
             **customer_cols}
        )  # fmt: skip
        rows.setdefault("order_summaries", []).append(
            {"id": sid, "created_at": created, "updated_at": created, "order_id": oid, "order_number": number,
             "status": status, "channel": "web", "currency": "USD", "ordered_total": total,
             "invoiced_total": total if status == "Fulfilled" else Decimal(0),
             "captured_total": total if status == "Fulfilled" else Decimal(0), **customer_cols}
        )  # fmt: skip
        for line in range(1 + n % 2):
            rows.setdefault("order_item_summaries", []).append(
                {"id": new_id(f"ois{line}", n), "created_at": created, "updated_at": created,
                 "order_summary_id": sid, "line_number": line + 1, "sku": f"SKU-{rng.randrange(500):04d}",
                 "quantity_ordered": 1, "unit_price": total, "line_total": total}
            )  # fmt: skip
        if status in OPEN_FO:
            rows.setdefault("fulfillment_orders", []).append(
                {"id": new_id("fo", n), "created_at": created, "updated_at": created, "order_summary_id": sid,
                 "location_id": "loc_b1", "delivery_method_id": "dm_b1", "status": OPEN_FO[status]}
            )  # fmt: skip
        if n % 50 == 7:
            category = ("Payment", "Stock", "Fulfillment")[n % 3]
            rows.setdefault("process_exceptions", []).append(
                {"id": new_id("pe", n), "created_at": created, "updated_at": created, "category": category,
                 "status": "New" if n % 100 == 7 else "Resolved", "message": "seeded", "subject_id": sid}
            )  # fmt: skip
        if n % 100 == 11:
            rows.setdefault("return_orders", []).append(
                {"id": new_id("ro", n), "created_at": created, "updated_at": created, "order_summary_id": sid,
                 "status": "Submitted" if n % 200 == 11 else "Closed"}
            )  # fmt: skip
        if status == "Pending Approval":
            rows.setdefault("tasks", []).append(
                {"id": new_id("task", n), "created_at": created, "role": "fulfillment_manager",
                 "prompt": f"Approve {number}?", "outcomes": ["approved", "rejected"], "subject_id": sid}
            )  # fmt: skip
        if n == orders // 2:
            sample = {"email": email, "name": LAST[(customer // 10) % 10].lower(), "number": number[:6]}
        flush()
    flush(force=True)
    sample["sku"] = "SKU-0042"
    return sample


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def timed(call: Callable[[], Any], rounds: int) -> list[float]:
    """Milliseconds per call, after one untimed call."""
    call()  # warm the caches (compiled templates, statements) once before timing
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text[:300]
    return samples


def measure(url: str, orders: int, rounds: int) -> list[tuple[str, list[float]]]:
    upgrade(url)
    load_all_models()
    database = Database(url)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with database.engine.begin() as conn:
        sample = seed(conn, orders, now)
    # Fresh statistics and (on PostgreSQL) a visibility map, as autovacuum gives a live database.
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if database.dialect == "postgresql" else "ANALYZE"))
    print(f"  seeded {orders:,} orders in {time.perf_counter() - started:.1f} s")
    runtime = build_runtime()
    prepare_database(database, runtime, migrate=False)
    with database.uow() as uow:
        key = create_key(uow.session, role=Role.AGENT, name="bench agent")
        uow.commit()
    results: list[tuple[str, list[float]]] = []
    month_ago, five_weeks_ago, half_year_ago = (str((now - timedelta(days=d)).date()) for d in (30, 40, 180))
    with TestClient(create_app(database, runtime)) as client:
        token = client.get("/ui/login").text.split('name="csrf_token" value="')[1].split('"')[0]
        logged_in = client.post("/ui/login", data={"key": key, "csrf_token": token}, follow_redirects=False)
        assert logged_in.status_code == 303, logged_in.text
        first = client.get("/ui/orders").text
        cursor = first.split('id="next-page" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        queries = {
            "dashboard": "/ui/dashboard",
            "search: first page": "/ui/orders",
            "search: next page (cursor)": cursor,
            "search: customer email": f"/ui/orders?q={quote(sample['email'])}",
            "search: name fragment": f"/ui/orders?q={sample['name']}",
            "search: order number prefix": f"/ui/orders?q={sample['number']}",
            "search: SKU": f"/ui/orders?sku={sample['sku']}",
            "search: status": "/ui/orders?status=Waiting+to+Fulfill",
            "search: date range": f"/ui/orders?from={five_weeks_ago}&to={month_ago}",
            "search: has exceptions": "/ui/orders?has_exceptions=yes",
            "search: returns awaiting": "/ui/orders?returns=awaiting",
            "search: status + SKU + dates": (
                f"/ui/orders?status=Fulfilled&sku={sample['sku']}&from={half_year_ago}"
            ),
        }  # fmt: skip
        for label, path in queries.items():

            def get(path: str = path) -> Any:
                return client.get(path, headers={"HX-Request": "true"})

            results.append((label, timed(get, rounds)))
    database.dispose()
    return results


def report(title: str, results: list[tuple[str, list[float]]]) -> None:
    print(f"\n{title}\n| request | p50 ms | p95 ms |\n|---|---:|---:|")
    for label, samples in results:
        print(f"| {label} | {statistics.median(samples):.1f} | {percentile(samples, 0.95):.1f} |")
    searches = [s for label, values in results if label.startswith("search") for s in values]
    print(f"| **search, all kinds** | {statistics.median(searches):.1f} | {percentile(searches, 0.95):.1f} |")


def postgres(admin_url: str) -> Iterator[str]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB}"))
        conn.execute(text(f"CREATE DATABASE {BENCH_DB}"))
    try:
        yield make_url(admin_url).set(database=BENCH_DB).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a PostgreSQL server's maintenance database URL")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as directory:
            print("SQLite")
            report("SQLite", measure(f"sqlite:///{Path(directory) / 'bench.db'}", args.orders, args.rounds))
    if not args.no_pg:
        print("\nPostgreSQL")
        for url in postgres(args.pg_url):
            report("PostgreSQL", measure(url, args.orders, args.rounds))


if __name__ == "__main__":
    main()

"""Fixtures shared by the whole suite.

Every database test runs twice: on SQLite and on PostgreSQL. The PostgreSQL half needs
``ORDO_TEST_DATABASE_URL``; without it the half is skipped with a reason, unless ``ORDO_REQUIRE_ALL=1``
(as in CI), where a missing database fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.db import Base, Database
from tests.support.schema import load_all_models

PG_URL = os.environ.get("ORDO_TEST_DATABASE_URL", "")
REQUIRE_ALL = os.environ.get("ORDO_REQUIRE_ALL") == "1"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def require_or_skip(reason: str) -> None:
    """Skip with ``reason``, or fail when the run requires every test (``ORDO_REQUIRE_ALL=1``)."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (ORDO_REQUIRE_ALL=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        require_or_skip(f"{SHARED} is not there")
    return SHARED


def _fresh_schema(database: Database) -> None:
    load_all_models()
    if database.dialect == "postgresql":
        with database.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(database.engine)


def _empty_tables(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(
                text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            )
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'ordo-test.db'}"
    if not PG_URL:
        require_or_skip("PostgreSQL tests need ORDO_TEST_DATABASE_URL")
    return PG_URL


_databases: dict[str, Database] = {}


def _database(url: str) -> Database:
    """One connected database per URL for the whole run, its schema made fresh on first use."""
    if url not in _databases:
        database = Database(url)
        _fresh_schema(database)
        _databases[url] = database
    return _databases[url]


@pytest.fixture(scope="session", autouse=True)
def _dispose_databases() -> Iterator[None]:
    yield
    for database in _databases.values():
        database.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A database with the whole schema and no rows, on SQLite and on PostgreSQL."""
    database = _database(database_url)
    _empty_tables(database)
    yield database


@pytest.fixture
def pg_db() -> Iterator[Database]:
    """PostgreSQL alone, for what only a server database can show (concurrent writers, row locks)."""
    if not PG_URL:
        require_or_skip("PostgreSQL tests need ORDO_TEST_DATABASE_URL")
    database = _database(PG_URL)
    _empty_tables(database)
    yield database


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Shows how many database tests ran on each database, so CI's log proves both halves ran."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if getattr(report, "when", "call") not in ("call", "setup") or not nodeid:
                continue
            if outcome == "passed" and report.when != "call":
                continue
            for dialect in ("sqlite", "postgresql"):
                if f"[{dialect}" in nodeid or f"-{dialect}]" in nodeid or f"-{dialect}-" in nodeid:
                    counts.setdefault(dialect, {}).setdefault(outcome, 0)
                    counts[dialect][outcome] += 1
    if counts:
        terminalreporter.section("database tests by database")
        for dialect, by_outcome in sorted(counts.items()):
            line = ", ".join(f"{n} {outcome}" for outcome, n in sorted(by_outcome.items()))
            terminalreporter.write_line(f"{dialect}: {line}")

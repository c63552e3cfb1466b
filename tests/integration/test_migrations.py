"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from api.cli import app
from engine.db import Database, make_engine
from migrations.runner import alembic_config, upgrade
from migrations.schema import load_all_models
from orders.models import Payment
from orders.payments import ensure_funds
from tests.conftest import PG_URL, require_or_skip
from tests.integration.orders.conftest import NOW, capture, setup_world, worked_example_body

SCRATCH_SCHEMA = "ordo_migration_check"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    if not PG_URL:
        require_or_skip("PostgreSQL tests need ORDO_TEST_DATABASE_URL")
    admin = Database(PG_URL)
    # A schema of its own, so this test never disturbs the tables other tests share.
    with admin.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCRATCH_SCHEMA}"))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={SCRATCH_SCHEMA}"})
    yield url.render_as_string(hide_password=False)
    with admin.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE"))
    admin.dispose()


def test_migrations_build_the_schema_the_models_declare(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, load_all_models())
    finally:
        engine.dispose()
    assert differences == [], f"models and migrations disagree; add a migration: {differences}"


def test_migrated_checks_allow_every_value_the_models_allow(empty_database_url: str) -> None:
    """Alembic's comparison leaves CHECK constraints out: a status added to a model needs a migration
    that widens its CHECK, or the first row with it is refused."""
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        inspector = inspect(engine)
        for table in load_all_models().sorted_tables:
            reflected = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name)}
            for constraint in table.constraints:
                if not isinstance(constraint, CheckConstraint) or " IN (" not in str(constraint.sqltext):
                    continue
                name = str(constraint.name)
                assert name in reflected, f"{table.name} has no CHECK {name}"
                for value in re.findall(r"'[^']*'", str(constraint.sqltext)):
                    assert value in reflected[name], f"{name} refuses {value}"
    finally:
        engine.dispose()


def test_db_upgrade_command_creates_every_table(empty_database_url: str) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade", "--db", empty_database_url])
    assert result.exit_code == 0, result.output
    engine = make_engine(empty_database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    expected = {table.name for table in load_all_models().sorted_tables}
    assert expected <= tables
    assert "alembic_version" in tables


def test_upgrading_twice_changes_nothing(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    assert len(versions) == 1


def test_events_in_the_outbox_before_webhooks_count_as_published(empty_database_url: str) -> None:
    upgrade(empty_database_url, "8d4a6c1e3f20")  # the revision before webhooks
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO outbox_events (id, name, payload, subject_id, created_at, published_at)"
                    " VALUES ('evt_old', 'order_summary.created', '{}', NULL, '2026-01-01 00:00:00', NULL)"
                )
            )
        upgrade(empty_database_url)
        with engine.connect() as conn:
            published = conn.execute(
                text("SELECT published_at FROM outbox_events WHERE id = 'evt_old'")
            ).scalar()
    finally:
        engine.dispose()
    assert published is not None


def test_widening_the_authorization_status_keeps_every_row_and_the_rows_pointing_at_them(
    empty_database_url: str,
) -> None:
    """On SQLite the table is rebuilt: the captures that point at its rows must not stop that, and
    nothing may be lost either way."""
    upgrade(empty_database_url, "53893638310b")  # the revision before Expired
    database = Database(empty_database_url)
    try:
        with database.session_factory() as session:
            setup_world(session)
            summary = capture(session, worked_example_body())
            auth = ensure_funds(session, summary, summary.balance_due, key="m:auth", at=NOW)
            assert auth is not None
            session.add(Payment(summary=summary, authorization=auth, amount=D("5.00"), gateway="test"))
            auth.remaining -= D("5.00")
            session.commit()
            auth_id = auth.id
        upgrade(empty_database_url)
        with database.engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM payments")).scalar() == 1
            conn.execute(
                text("UPDATE payment_authorizations SET status = 'Expired' WHERE id = :id"), {"id": auth_id}
            )
        command.downgrade(alembic_config(empty_database_url), "53893638310b")
        with database.engine.connect() as conn:
            row = conn.execute(
                text("SELECT status, remaining FROM payment_authorizations WHERE id = :id"), {"id": auth_id}
            ).one()
            assert conn.execute(text("SELECT count(*) FROM payments")).scalar() == 1
        assert row.status == "Voided" and D(row.remaining) == 0
        upgrade(empty_database_url)
    finally:
        database.dispose()

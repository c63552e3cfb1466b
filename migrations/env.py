"""Alembic environment: migrates the database named by the config's ``sqlalchemy.url``."""

from __future__ import annotations

from typing import Any, Literal, cast

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import String
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from engine.db import make_engine
from migrations.schema import load_all_models

config = context.config
target_metadata = load_all_models()


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Writes our column types as plain SQLAlchemy types, so a migration never imports model code."""
    if type_ != "type" or not isinstance(obj, TypeDecorator):
        return False
    name = type(obj).__name__
    if name == "Money":
        # Exact on both databases: NUMERIC on PostgreSQL, integer ten-thousandths on SQLite.
        return "sa.Numeric(precision=20, scale=4).with_variant(sa.BigInteger(), 'sqlite')"
    if name == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    if name == "StrEnumType":
        return f"sa.String(length={cast(String, obj.impl_instance).length})"
    if name == "JSONType":
        return "sa.JSON()"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        render_item=render_item,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # The caller's connection, and the caller's transaction: it is used as it comes.
        _run_on(cast(Connection, connection))
        return
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name != "sqlite":
                _run_on(conn)
                return
            # Batch mode rebuilds a table by copying it and dropping the old one, which SQLite refuses
            # while another table's rows point at it and it enforces foreign keys (Ordo's connections
            # do). The copy keeps every row and id, so no key is left pointing at nothing. The switch
            # only takes effect outside a transaction.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
            try:
                _run_on(conn)
            finally:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
    finally:
        engine.dispose()


def _run_on(connection: Connection) -> None:
    # SQLite cannot ALTER most things in place; batch mode rebuilds tables the way Alembic knows how.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""The unit of work and the SQLite connection settings."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from engine.db import Database, new_id


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'ordo.db'}")
    with database.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    database.dispose()


def test_unit_of_work_rolls_back_unless_committed(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'ordo.db'}")
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (body TEXT)"))
    with database.uow() as uow:
        uow.session.execute(text("INSERT INTO notes VALUES ('forgotten')"))
    with database.uow() as uow:
        uow.session.execute(text("INSERT INTO notes VALUES ('kept')"))
        uow.commit()
    with database.engine.connect() as conn:
        assert [row[0] for row in conn.execute(text("SELECT body FROM notes"))] == ["kept"]
    database.dispose()


def test_ids_are_prefixed_and_unique() -> None:
    ids = {new_id("os") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("os_") for i in ids)

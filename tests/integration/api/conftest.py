"""An API client over the test database, with a key per role and the starter flows loaded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.bootstrap import build_runtime, prepare_database
from api.keys import Role, create_key
from engine.clock import ManualClock
from engine.db import Database
from engine.runtime import Runtime


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]
    runtime: Runtime
    database: Database

    def headers(self, role: str = "admin", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}", **extra}

    def get(self, path: str, role: str = "admin", **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers(role), **kwargs)

    def post(self, path: str, body: Any = None, role: str = "admin", **headers: str) -> Any:
        return self.client.post(path, json=body, headers=self.headers(role, **headers))

    def put(self, path: str, body: Any, role: str = "admin", **headers: str) -> Any:
        return self.client.put(path, json=body, headers=self.headers(role, **headers))


def _api(database: Database) -> Iterator[Api]:
    runtime = build_runtime(clock=ManualClock())
    prepare_database(database, runtime, migrate=False)
    with database.uow() as uow:
        keys = {role.value: create_key(uow.session, role=role, name=f"test {role.value}") for role in Role}
        uow.commit()
    with TestClient(create_app(database, runtime)) as client:
        yield Api(client, keys, runtime, database)


@pytest.fixture
def api(db: Database) -> Iterator[Api]:
    """The API over SQLite and over PostgreSQL."""
    yield from _api(db)


@pytest.fixture
def pg_api(pg_db: Database) -> Iterator[Api]:
    """The API over PostgreSQL alone."""
    yield from _api(pg_db)

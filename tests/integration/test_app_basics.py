"""The app answers health checks without a key, and refuses calls without a valid one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import require_roles
from api.keys import Role, create_key
from engine.db import Database


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    app = create_app(db)

    @app.get("/api/v1/_managers_only", dependencies=[Depends(require_roles(Role.MANAGER))])
    def managers_only() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(app) as test_client:
        yield test_client


def _key(db: Database, role: Role) -> str:
    with db.uow() as uow:
        secret = create_key(uow.session, role=role, name=f"test {role}")
        uow.commit()
    return secret


def test_healthz_needs_no_key(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_missing_or_wrong_key_is_401_problem(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/_managers_only", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 401


def test_roles_are_enforced(client: TestClient, db: Database) -> None:
    allowed = {Role.ADMIN: 200, Role.MANAGER: 200, Role.AGENT: 403, Role.INTEGRATOR: 403}
    for role, status in allowed.items():
        response = client.get("/api/v1/_managers_only", headers={"Authorization": f"Bearer {_key(db, role)}"})
        assert response.status_code == status, role

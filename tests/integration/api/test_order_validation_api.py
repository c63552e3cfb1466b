"""Every invalid order body gets 422 naming the offending field, and the database is unchanged."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from engine.db import Base
from tests.integration.api.conftest import Api
from tests.integration.orders.conftest import setup_world, worked_example_body
from tests.integration.orders.test_intake_validation import CASES, Edit


def _row_counts(api: Api) -> dict[str, int]:
    with api.database.session_factory() as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
def world_api(api: Api) -> Api:
    with api.database.session_factory() as session:
        setup_world(session)
        session.commit()
    return api


def test_the_table_has_at_least_fifteen_cases() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize(("label", "edit", "field"), CASES, ids=[c[0] for c in CASES])
def test_invalid_body_is_422_naming_the_field_and_writes_nothing(
    world_api: Api, label: str, edit: Edit, field: str
) -> None:
    body = copy.deepcopy(worked_example_body())
    edit(body)
    before = _row_counts(world_api)
    response = world_api.post(
        "/api/v1/orders", body, role="integrator", **{"Idempotency-Key": f"bad-{label}"}
    )
    assert response.status_code == 422, (label, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = [error["field"] for error in response.json()["errors"]]
    assert any(f == field or f.startswith(field + ".") for f in fields), (label, fields)
    assert _row_counts(world_api) == before
    # Nothing was stored for the key either: the corrected order may reuse it.
    fixed = world_api.post(
        "/api/v1/orders", worked_example_body(), role="integrator", **{"Idempotency-Key": f"bad-{label}"}
    )
    assert fixed.status_code == 201, fixed.text

"""A request body over the limit is a 413 problem and writes nothing, declared or streamed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.integration.api.conftest import Api
from tests.integration.api.test_order_validation_api import _row_counts
from tests.integration.api.test_worked_example import example_order

LIMIT = 4096


@pytest.fixture
def small(api: Api) -> Iterator[TestClient]:
    with TestClient(create_app(api.database, api.runtime, max_body_bytes=LIMIT)) as client:
        yield client


def _big_order() -> dict[str, object]:
    body = example_order("BIG-1")
    body["customer"] = {"email": "ada@example.com", "name": "x" * 200}
    body["lines"] = body["lines"] * 40  # about 4.5 KB of JSON
    return body


def test_a_declared_body_over_the_limit_is_413_and_writes_nothing(api: Api, small: TestClient) -> None:
    before = _row_counts(api)
    response = small.post(
        "/api/v1/orders",
        json=_big_order(),
        headers=api.headers("integrator", **{"Idempotency-Key": "big"}),
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "4,096 bytes" in response.json()["detail"]
    assert _row_counts(api) == before


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_a_streamed_body_is_counted_as_it_arrives(api: Api, small: TestClient, content_type: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'", "kind": "warehouse", "ships": true, "pickup": false, "priority": 3}'

    before = _row_counts(api)
    response = small.put(
        "/api/v1/locations/WH9",
        content=chunks(),
        headers=api.headers("admin", **{"Content-Type": content_type}),
    )
    assert "content-length" not in {name.lower() for name in response.request.headers}
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert _row_counts(api) == before


def test_a_body_under_the_limit_goes_through(api: Api, small: TestClient) -> None:
    response = small.post("/api/v1/flows/check", json={"source": 'flow x "X"\nend\n'}, headers=api.headers())
    assert response.status_code == 200, response.text

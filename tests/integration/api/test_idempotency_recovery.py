"""An Idempotency-Key whose first request failed or died part-way: the order it saved is the answer, and
a key that saved nothing is free again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api import idempotency, ordering
from api.app import create_app
from api.bootstrap import commit_and_drive
from api.records import ApiKey, IdempotencyRecord
from orders.models import OrderSummary
from tests.integration.api.conftest import Api
from tests.integration.api.test_worked_example import example_order, place, setup_stock


def _post(api: Api, body: dict[str, Any], key: str) -> Any:
    return api.post("/api/v1/orders", body, role="integrator", **{"Idempotency-Key": key})


def _summaries(api: Api) -> int:
    with api.database.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(OrderSummary)) or 0)


def test_a_failure_after_the_order_was_saved_answers_with_the_order(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_stock(api)

    def drive_then_fail(session: Session, *args: Any) -> None:
        commit_and_drive(session, *args)
        raise RuntimeError("the connection dropped after the flows ran")

    monkeypatch.setattr(ordering, "commit_and_drive", drive_then_fail)
    first = _post(api, example_order("EX-F"), "k-fail")
    assert first.status_code == 201, first.text
    monkeypatch.undo()
    again = _post(api, example_order("EX-F"), "k-fail")
    assert again.status_code == 201 and again.json() == first.json()
    assert _summaries(api) == 1
    assert first.json()["order_number"] == "EX-F" and first.json()["totals"]["authorized"] == "51.98"


def test_a_failure_before_anything_was_saved_is_a_500_problem_and_frees_the_key(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_stock(api)

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(ordering, "capture_order", broken)
    with TestClient(create_app(api.database, api.runtime), raise_server_exceptions=False) as client:
        failed = client.post(
            "/api/v1/orders",
            json=example_order("EX-B"),
            headers=api.headers("integrator", **{"Idempotency-Key": "k-boom"}),
        )
    assert failed.status_code == 500
    assert failed.headers["content-type"].startswith("application/problem+json")
    assert "boom" not in failed.text  # no internals leak
    assert _summaries(api) == 0
    monkeypatch.undo()
    assert _post(api, example_order("EX-B"), "k-boom").status_code == 201
    assert _summaries(api) == 1


def _orphan_claim(api: Api, key: str, *, age_s: float) -> None:
    """What a process killed after saving an order, before storing its response, leaves behind."""
    with api.database.session_factory() as session:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == key)
            .values(
                status_code=None,
                response_body=None,
                created_at=datetime.now(UTC) - timedelta(seconds=age_s),
            )
        )
        session.commit()


def test_an_abandoned_claim_answers_with_the_order_it_saved(api: Api) -> None:
    setup_stock(api)
    first = place(api, example_order("EX-D"), key="k-dead")
    _orphan_claim(api, "k-dead", age_s=idempotency.CLAIM_LEASE_S + 5)
    again = _post(api, example_order("EX-D"), "k-dead")
    assert again.status_code == 201
    assert again.json()["id"] == first["id"]
    assert _summaries(api) == 1


def test_an_abandoned_claim_that_saved_nothing_lets_the_key_run_again(api: Api) -> None:
    setup_stock(api)
    digest = idempotency.request_hash(example_order("EX-E"))
    caller = _caller_id(api)
    factory = api.database.session_factory
    assert idempotency.claim(factory, key="k-e", caller=caller, digest=digest, method="POST", path="/x")
    _orphan_claim(api, "k-e", age_s=idempotency.CLAIM_LEASE_S + 5)
    created = _post(api, example_order("EX-E"), "k-e")
    assert created.status_code == 201
    assert _summaries(api) == 1


def test_a_live_claim_is_waited_for_then_409(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    setup_stock(api)
    monkeypatch.setattr(idempotency, "WAIT_FOR_FIRST_S", 0.2)
    digest = idempotency.request_hash(example_order("EX-W"))
    factory = api.database.session_factory
    assert idempotency.claim(
        factory, key="k-w", caller=_caller_id(api), digest=digest, method="POST", path="/x"
    )
    busy = _post(api, example_order("EX-W"), "k-w")
    assert busy.status_code == 409 and busy.json()["title"] == "Request in progress"
    assert _summaries(api) == 0


def _caller_id(api: Api) -> str:
    """The integrator key's id, which scopes its Idempotency-Keys."""
    with api.database.session_factory() as session:
        caller = session.scalar(select(ApiKey.id).where(ApiKey.role == "integrator"))
    assert caller is not None
    return caller


def test_a_late_take_over_leaves_the_claim_that_replaced_the_dead_one_alone(api: Api) -> None:
    factory = api.database.session_factory
    caller = _caller_id(api)
    claim = {"key": "k-race", "caller": caller, "digest": "d", "method": "POST", "path": "/x"}
    dead = idempotency.claim(factory, **claim)
    assert dead is not None

    def recover(_resource: str) -> idempotency.StoredResponse:
        raise AssertionError("the dead claim created nothing")

    # Two repeats both saw the dead claim; the first gives it up and claims the key afresh.
    assert idempotency.settle(factory, key="k-race", caller=caller, token=dead, recover=recover) is None
    live = idempotency.claim(factory, **claim)
    assert live is not None and live != dead
    # The second, late, must neither free the new claim nor answer for it.
    assert idempotency.settle(factory, key="k-race", caller=caller, token=dead, recover=recover) is None
    assert idempotency.claim(factory, **claim) is None
    late = idempotency.StoredResponse(409, {"detail": "late"})
    idempotency.store(factory, key="k-race", caller=caller, token=dead, response=late)
    idempotency.release(factory, key="k-race", caller=caller, token=dead)
    with factory() as session:
        record = session.get(IdempotencyRecord, ("k-race", caller))
        assert record is not None and record.claim_token == live and record.status_code is None

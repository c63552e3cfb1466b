"""A gateway that times out once: a flow that retries every second completes, charging once."""

from __future__ import annotations

from sqlalchemy import select

from engine.clock import ManualClock
from engine.worker import run_due_work
from orders.models import GatewayCall
from tests.integration.api.conftest import Api
from tests.integration.api.test_worked_example import example_order, fulfillment_orders, place, setup_stock


def activate_edited_clone(api: Api, origin: str, clone: str, old: str, new: str) -> None:
    """Clone ``origin`` as ``clone``, replace ``old`` by ``new`` in its text and activate it: the
    clone then takes the origin's place."""
    cloned = api.post(f"/api/v1/flows/{origin}/clone", {"id": clone, "title": clone})
    assert cloned.status_code == 201, cloned.text
    version = api.get(f"/api/v1/flows/{clone}/versions/1")
    source = version.json()["source"]
    assert old in source
    saved = api.put(
        f"/api/v1/flows/{clone}/versions/1",
        {"source": source.replace(old, new)},
        **{"If-Match": version.headers["ETag"]},
    )
    assert saved.status_code == 200, saved.text
    assert api.post(f"/api/v1/flows/{clone}/versions/1/activate").status_code == 200
    flows = {f["id"]: f for f in api.get("/api/v1/flows").json()["items"]}
    # The clone replaces its origin: only one flow reacts to new orders.
    assert flows[origin]["active_version"] is None
    assert flows[clone]["active_version"] == 1


def activate_fast_retry_clone(api: Api) -> None:
    activate_edited_clone(
        api, "create_fulfillment_orders", "fast_retry", "retry 3 every 30s", "retry 3 every 1s"
    )


def test_flaky_gateway_with_a_one_second_retry_completes_with_one_authorization(api: Api) -> None:
    setup_stock(api)
    activate_fast_retry_clone(api)
    created = place(api, example_order(token="tok_flaky"))
    assert fulfillment_orders(api, created["id"]) == []  # parked on its retry

    clock = api.runtime.clock
    assert isinstance(clock, ManualClock)
    clock.advance(1)
    assert run_due_work(api.database, runtime=api.runtime) == 1

    summary = api.get(f"/api/v1/order-summaries/{created['id']}").json()
    assert summary["process_exceptions"] == []
    assert summary["totals"]["authorized"] == "51.98"
    assert len(fulfillment_orders(api, created["id"])) == 2
    with api.database.session_factory() as session:
        authorizations = session.scalars(
            select(GatewayCall).where(GatewayCall.operation == "authorize")
        ).all()
    # One business call, seen twice by the gateway (the timeout, then the retry with the same key).
    assert [(call.calls, call.outcome) for call in authorizations] == [(2, "approved")]

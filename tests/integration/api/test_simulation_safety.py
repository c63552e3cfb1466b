"""A simulation against a real order reaches no outside system: Ordo's payment steps talk to a gateway
that keeps nothing, and a plugin's external action is not run at all."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.db import Database
from engine.flows import create_flow
from engine.registry import ActionContext
from orders.models import AuthorizationStatus, GatewayCall, PaymentAuthorization
from tests.integration.api.conftest import Api
from tests.integration.api.service_helpers import item_id, summary
from tests.integration.api.test_worked_example import example_order, place, setup_stock
from tests.unit.engine.catalog import Amount, Charged


def _gateway_calls(database: Database) -> int:
    with database.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(GatewayCall)) or 0)


def _active_version(api: Api, flow_id: str) -> int:
    flows = {f["id"]: f for f in api.get("/api/v1/flows").json()["items"]}
    return int(flows[flow_id]["active_version"])


def test_simulating_a_cancel_voids_nothing_at_the_gateway(api: Api) -> None:
    setup_stock(api)
    sid = place(api, example_order())["id"]
    view = summary(api, sid)
    lines = [{"item_id": item_id(view, sku), "quantity": q} for sku, q in (("SKU-A", 2), ("SKU-B", 1))]
    calls = _gateway_calls(api.database)

    number = _active_version(api, "cancel_units")
    response = api.post(
        f"/api/v1/flows/cancel_units/versions/{number}/simulate",
        {"order_summary_id": sid, "inputs": {"lines": lines}},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "completed"
    release = next(step for step in result["steps"] if step["node"] == "release")
    assert release["output"] == {"released": "51.98"}

    # The void was the simulated gateway's: no call reached the test gateway, the order is as it was.
    assert _gateway_calls(api.database) == calls
    assert summary(api, sid) == view
    with api.database.session_factory() as session:
        [auth] = session.scalars(
            select(PaymentAuthorization).where(PaymentAuthorization.order_summary_id == sid)
        )
        assert auth.status == AuthorizationStatus.AUTHORIZED


def test_a_plugins_external_action_is_not_run_in_a_simulation(api: Api) -> None:
    called: list[str] = []

    def charge(ctx: ActionContext, inputs: Amount) -> Charged:
        called.append(ctx.run_id)
        return Charged(charged=inputs.amount, key=ctx.idempotency_key, attempt=ctx.attempt)

    api.runtime.registry.register("acme.charge", charge, plugin=True, category="Payment")
    api.runtime.invalidate_catalog()
    source = (
        'flow acme_sim "Acme"\n  kind service\n  action acme "Acme"\n'
        '  set note = "before"\n  do acme.charge(amount: 3) as paid\n  set note = "after"\n  done\nend\n'
    )
    with api.database.uow() as uow:
        create_flow(uow.session, source, activate_now=True, runtime=api.runtime)
        uow.commit()
    setup_stock(api)
    sid = place(api, example_order())["id"]

    result = api.post("/api/v1/flows/acme_sim/versions/1/simulate", {"order_summary_id": sid}).json()
    assert result["status"] == "stopped"
    assert result["steps"][-1]["status"] == "not run"
    assert "acme.charge calls outside Ordo" in result["steps"][-1]["error"]
    blocked = result["steps"][-1]["node"]
    assert blocked not in result["path"] and called == []

"""What is installed: the actions flows can use, and the plugins that loaded or failed, in the API,
the designer's steps page and ``ordo plugins``."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from typer.testing import CliRunner

import api.installed
import engine.plugins
from api.cli import app as cli
from api.installed import plugin_statuses
from engine.db import Database
from engine.registry import ActionContext, ActionRegistry, PluginRegistrar
from orders.gateway_plugins import GatewayLoadError, GatewayPlugins
from tests.integration.api.conftest import Api, _api
from tests.integration.designer.conftest import log_in


class Probe(BaseModel):
    sku: str
    limit: Decimal = Decimal(1)


class Probed(BaseModel):
    found: bool


def _probe(ctx: ActionContext, inputs: Probe) -> Probed:
    return Probed(found=True)


def _good(registrar: PluginRegistrar) -> None:
    registrar.register("probe", _probe, description="Looks the SKU up elsewhere")


def _half(registrar: PluginRegistrar) -> None:
    registrar.register("probe", _probe)
    raise ImportError("No module named 'acme_missing'")


class FakeEntryPoint:
    def __init__(self, name: str, target: Any) -> None:
        self.name, self.value, self._target = name, f"acme_pkg:{name}", target

    def load(self) -> Any:
        return self._target


@pytest.fixture
def broken_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed action plugins: ``acme`` loads, ``half`` registers an action and then fails."""
    points = [FakeEntryPoint("acme", _good), FakeEntryPoint("half", _half)]
    monkeypatch.setattr(
        engine.plugins, "entry_points", lambda group: points if group == "ordo.actions" else []
    )


@pytest.fixture
def broken_api(db: Database, broken_plugins: None) -> Iterator[Api]:
    """The API whose runtime loaded the plugins of ``broken_plugins``."""
    yield from _api(db)


def test_flow_actions_describe_built_in_and_plugin_actions_and_the_events(api: Api) -> None:
    response = api.get("/api/v1/flow-actions", role="agent")
    assert response.status_code == 200, response.text
    body = response.json()
    actions = {a["name"]: a for a in body["items"]}
    route = actions["route_order"]
    assert route["category"] == "Stock" and not route["plugin"] and not route["external"]
    assert {"name": "strategy", "type": "text", "required": False} in route["params"]
    assert "allocations" in route["result_fields"]
    assert actions["capture_funds"]["external"] and actions["ensure_funds"]["external"]
    # The example plugin installed beside Ordo: namespaced, external unless it says otherwise.
    score = actions["example.fraud_score"]
    assert score["plugin"] and score["external"] and score["timeout_s"] == 5.0  # its own limit
    assert [(p["name"], p["type"], p["required"]) for p in score["params"]] == [
        ("email", "text", True),
        ("amount", "decimal", True),
    ]
    assert score["result_fields"] == ["flagged", "score"]
    assert set(score["input_schema"]["properties"]) == {"email", "amount"}
    events = {e["name"]: e["payload_fields"] for e in body["events"]}
    assert events["fulfillment_order.shipped"] == ["fulfillment_order"]
    # Sorted for reading: by category, then name.
    keys = [(a["category"], a["name"]) for a in body["items"]]
    assert keys == sorted(keys)


def test_plugins_list_what_loaded_and_what_failed_and_why(broken_api: Api) -> None:
    response = broken_api.get("/api/v1/plugins", role="integrator")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["failed"] == 1
    found = {(p["group"], p["name"]): p for p in body["items"]}
    good = found[("ordo.actions", "acme")]
    assert good["status"] == "loaded" and good["actions"] == ["acme.probe"] and good["error"] is None
    bad = found[("ordo.actions", "half")]
    assert bad["status"] == "failed" and bad["entry_point"] == "half = acme_pkg:half"
    assert "No module named 'acme_missing'" in bad["error"] and bad["actions"] == []
    # The example gateway (a real distribution) is listed with where it came from.
    gateway = found[("ordo.gateways", "example")]
    assert gateway["status"] == "loaded" and gateway["distribution"] == "ordo-example-plugin"
    # What the failed plugin registered before it failed is gone: no flow can use half a plugin.
    names = {a["name"] for a in broken_api.get("/api/v1/flow-actions").json()["items"]}
    assert "acme.probe" in names and "half.probe" not in names


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("manager", 403), ("integrator", 200)])
def test_only_admins_and_integrators_see_the_plugins(api: Api, role: str, status: int) -> None:
    assert api.get("/api/v1/plugins", role=role).status_code == status
    assert api.get("/api/v1/plugins", role="admin").status_code == 200


def test_a_gateway_plugin_that_failed_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    failed = GatewayPlugins(
        (), (GatewayLoadError("acme = acme_pay:Gateway", "TypeError: the gateway has no void"),)
    )
    monkeypatch.setattr(api.installed, "gateway_plugins", lambda: failed)
    [status] = [s for s in plugin_statuses(ActionRegistry()) if s.group == "ordo.gateways"]
    assert (status.name, status.loaded, status.error) == ("acme", False, "TypeError: the gateway has no void")


def test_the_steps_page_shows_actions_events_and_failed_plugins(broken_api: Api) -> None:
    agent = TestClient(broken_api.client.app)
    assert log_in(agent, broken_api.keys["agent"]).status_code == 303
    seen_by_agent = agent.get("/ui/steps")
    assert seen_by_agent.status_code == 200 and 'data-action="acme.probe"' in seen_by_agent.text
    # Plugin status is an admin's (and an integrator's, in the API): an agent sees the steps only.
    assert 'id="plugin-errors"' not in seen_by_agent.text and "acme_missing" not in seen_by_agent.text
    assert 'id="plugin-errors"' not in agent.get("/ui/flows").text
    client = TestClient(broken_api.client.app)
    assert log_in(client, broken_api.keys["admin"]).status_code == 303
    page = client.get("/ui/steps")
    assert page.status_code == 200, page.text
    assert 'data-action="route_order"' in page.text and 'data-action="acme.probe"' in page.text
    assert "Looks the SKU up elsewhere" in page.text
    assert 'data-event="fulfillment_order.shipped"' in page.text
    assert 'id="plugin-errors"' in page.text and "No module named &#39;acme_missing&#39;" in page.text
    flows = client.get("/ui/flows")
    assert "1 plugin failed to load" in flows.text and 'href="/ui/steps#plugin-errors"' in flows.text


def test_the_flows_page_has_no_plugin_warning_when_all_loaded(api: Api) -> None:
    client = TestClient(api.client.app)
    assert log_in(client, api.keys["admin"]).status_code == 303
    page = client.get("/ui/flows")
    assert page.status_code == 200 and 'id="plugin-errors"' not in page.text
    assert 'id="plugin-errors"' not in client.get("/ui/steps").text


def test_ordo_plugins_lists_them_and_fails_when_one_did_not_load(broken_plugins: None) -> None:
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 1, result.output
    assert "loaded  ordo.actions  acme = acme_pkg:acme" in result.output
    assert "action acme.probe" in result.output
    assert (
        "FAILED  ordo.actions  half = acme_pkg:half: ImportError: No module named 'acme_missing'"
        in result.output
    )


def test_ordo_plugins_exits_0_when_every_plugin_loaded() -> None:
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert (
        "loaded  ordo.actions  example = ordo_example_plugin:register (ordo-example-plugin 0.1.0)"
        in result.output
    )
    assert "action example.fraud_score" in result.output


def _redefine_shipped(registrar: PluginRegistrar) -> None:
    registrar.register_event("fulfillment_order.shipped", {"hijacked"})


def _replace_then_fail(registrar: PluginRegistrar) -> None:
    registrar.register("probe", _probe, description="second version", replace=True)
    raise RuntimeError("broken after replacing")


def test_a_plugin_cannot_change_an_event_and_a_failed_one_restores_what_it_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    points = [
        FakeEntryPoint("acme", _good),
        FakeEntryPoint("hijack", _redefine_shipped),
        # A second distribution under the same namespace, which replaces acme.probe and then fails.
        FakeEntryPoint("acme", _replace_then_fail),
    ]
    monkeypatch.setattr(
        engine.plugins, "entry_points", lambda group: points if group == "ordo.actions" else []
    )
    registry = ActionRegistry()
    registry.register_event("fulfillment_order.shipped", {"fulfillment_order"})
    errors = registry.load_plugins()
    assert [e.entry_point.split(" = ")[0] for e in errors] == ["hijack", "acme"]
    assert "already declared with other payload fields" in errors[0].message
    assert registry.events["fulfillment_order.shipped"].payload_fields == frozenset({"fulfillment_order"})
    assert registry.actions["acme.probe"].description == "Looks the SKU up elsewhere"

"""Payment gateways from the ``ordo.gateways`` entry points: the example plugin's is found and
registered; broken ones are reported and leave the rest working."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orders import gateway
from orders.gateway_plugins import load_gateway_plugins
from tests.support.distributions import fake_distribution, install_example_plugin


@pytest.fixture(autouse=True)
def own_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test registers into a copy of the gateways, so nothing it loads outlives it."""
    monkeypatch.setattr(gateway, "_gateways", dict(gateway._gateways))


class _Complete:
    def authorize(self, *_args: Any, **_kwargs: Any) -> None: ...
    def capture(self, *_args: Any, **_kwargs: Any) -> None: ...
    def refund(self, *_args: Any, **_kwargs: Any) -> None: ...
    def void(self, *_args: Any, **_kwargs: Any) -> None: ...


class _NoVoid:
    def authorize(self, *_args: Any, **_kwargs: Any) -> None: ...
    def capture(self, *_args: Any, **_kwargs: Any) -> None: ...
    def refund(self, *_args: Any, **_kwargs: Any) -> None: ...


def _explodes() -> None:
    raise RuntimeError("no credentials configured")


def test_the_example_plugin_gateway_is_registered_under_its_entry_point_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_example_plugin(tmp_path, monkeypatch, {"ordo.gateways": "ordo.test_gateways.example"})
    gateway._gateways.pop("example", None)  # as if the venv had no copy of the plugin
    assert load_gateway_plugins("ordo.test_gateways.example") == []
    assert "example" in gateway.gateway_names()
    assert type(gateway.get_gateway("example")).__name__ == "ExampleGateway"


def test_broken_gateways_are_reported_and_the_good_one_still_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = "tests.unit.orders.test_gateway_plugins"
    group = "ordo.test_gateways.mixed"
    fake_distribution(
        tmp_path,
        monkeypatch,
        "acme-payments",
        {
            group: {
                "acme": f"{here}:_Complete",
                "Acme-Pay": f"{here}:_Complete",
                "test": f"{here}:_Complete",
                "partial": f"{here}:_NoVoid",
                "exploding": f"{here}:_explodes",
                "missing": "acme_payments_not_installed:Gateway",
            }
        },
    )
    errors = load_gateway_plugins(group)
    reasons = {error.entry_point.split(" = ")[0]: error.error for error in errors}
    assert set(reasons) == {"Acme-Pay", "test", "partial", "exploding", "missing"}
    assert "is not 1-64 of a-z" in reasons["Acme-Pay"]
    assert "already registered" in reasons["test"]
    assert reasons["partial"] == "TypeError: the gateway has no void"
    assert reasons["exploding"] == "RuntimeError: no credentials configured"
    assert reasons["missing"].startswith("ModuleNotFoundError")
    assert isinstance(gateway.get_gateway("acme"), _Complete)
    assert type(gateway.get_gateway("test")).__name__ == "TestGateway"  # not replaced
    assert {"partial", "exploding", "missing", "Acme-Pay"}.isdisjoint(gateway.gateway_names())
    # Loaded once: asking again reports the same and registers nothing twice.
    assert load_gateway_plugins(group) == errors

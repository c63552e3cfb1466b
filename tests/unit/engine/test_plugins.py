"""Plugin actions: a raising one follows its error edge, a hanging one times out, a wrong shape fails."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

import engine.plugins
from engine.memory import MemoryEngine
from engine.registry import ActionContext, ActionRegistry, PluginRegistrar
from tests.unit.engine.catalog import Effects

Make = Callable[[str], MemoryEngine]

GUARDED = """
flow g "G"
  do acme.{name}(text: "x")
    on error -> oops
  set outcome = "ok"
  done
oops:
  set outcome = error.code
  done
end
"""


def test_a_raising_plugin_step_follows_its_error_edge(engine_for: Make) -> None:
    run = engine_for(GUARDED.replace("{name}", "boom")).start("g")
    assert run.status == "completed"
    assert run.state.variables["outcome"] == "exception"
    assert run.state.variables["error"]["message"] == "RuntimeError: plugin exploded"
    assert run.state.variables["error"]["category"] == "Plugin"


def test_a_hanging_plugin_times_out_and_the_engine_keeps_running(engine_for: Make, effects: Effects) -> None:
    engine = engine_for(GUARDED.replace("{name}", "hang") + '\nflow quick "Q"\n  do charge(amount: 2)\nend\n')
    started = time.monotonic()
    run = engine.start("g")
    assert time.monotonic() - started < 2
    assert run.state.variables["outcome"] == "timeout"
    assert engine.start("quick").status == "completed"
    assert effects.calls["charge"] == 1


def test_a_plugin_returning_the_wrong_shape_fails_its_step(engine_for: Make) -> None:
    run = engine_for(GUARDED.replace("{name}", "bad_shape")).start("g")
    assert run.state.variables["outcome"] == "bad_output"


def test_step_timeout_in_the_flow_bounds_any_action(engine_for: Make) -> None:
    run = engine_for('flow t "T"\n  do acme.hang(text: "x") timeout 1s\nend\n').start("t")
    assert run.status == "failed"
    assert run.failure is not None and "timeout" in run.failure.message


class Score(BaseModel):
    email: str


class Scored(BaseModel):
    score: Decimal


def _register(registrar: PluginRegistrar) -> None:
    @registrar.action("fraud_score")
    def fraud_score(ctx: ActionContext, inputs: Score) -> Scored:
        return Scored(score=Decimal("0.5"))


class FakeEntryPoint:
    def __init__(self, name: str, target: Any) -> None:
        self.name, self.value, self._target = name, f"fake:{name}", target

    def load(self) -> Any:
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_entry_point_plugins_register_under_their_namespace_and_failures_are_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    points = [
        FakeEntryPoint("acme", _register),
        FakeEntryPoint("broken", ImportError("no module named broken")),
    ]
    monkeypatch.setattr(
        engine.plugins, "entry_points", lambda group: points if group == "ordo.actions" else []
    )
    registry = ActionRegistry()
    errors = registry.load_plugins()
    assert "acme.fraud_score" in registry.actions
    assert registry.actions["acme.fraud_score"].plugin
    assert registry.actions["acme.fraud_score"].category == "Plugin"
    assert [e.entry_point for e in errors] == ["broken = fake:broken"]
    assert "no module named broken" in errors[0].message


def test_plugins_must_be_namespaced() -> None:
    registry = ActionRegistry()

    def act(ctx: ActionContext, inputs: Score) -> Scored:
        return Scored(score=Decimal(0))

    with pytest.raises(ValueError, match="namespaced"):
        registry.register("fraud_score", act, plugin=True)
    registry.register("acme.fraud_score", act, plugin=True)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("acme.fraud_score", act, plugin=True)


def _register_half(registrar: PluginRegistrar) -> None:
    """Registers an action and an event, then fails: as a plugin whose second import is broken."""
    registrar.register("first", _first)
    registrar.register_event("half.happened", {"x"})
    raise RuntimeError("the second action's module is missing")


def _first(ctx: ActionContext, inputs: Score) -> Scored:
    return Scored(score=Decimal(1))


def test_a_plugin_that_fails_half_way_leaves_nothing_registered_and_a_good_one_is_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    points = [FakeEntryPoint("acme", _register), FakeEntryPoint("half", _register_half)]
    monkeypatch.setattr(
        engine.plugins, "entry_points", lambda group: points if group == "ordo.actions" else []
    )
    registry = ActionRegistry()
    errors = registry.load_plugins()
    assert [e.entry_point for e in errors] == ["half = fake:half"]
    assert "second action's module is missing" in errors[0].message
    assert "half.first" not in registry.actions
    assert "half.happened" not in registry.events
    [loaded] = registry.plugins
    assert (loaded.namespace, loaded.entry_point, loaded.actions) == (
        "acme",
        "acme = fake:acme",
        ("acme.fraud_score",),
    )
    assert loaded.distribution is None  # a fake entry point has no distribution behind it

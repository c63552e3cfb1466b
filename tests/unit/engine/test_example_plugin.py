"""The example plugin distribution in ``examples/`` is found through its ``ordo.actions`` entry point.

Rather than pip-installing into the test environment, the test puts the package and a dist-info
holding its entry points on ``sys.path``: ``importlib.metadata`` discovers it exactly as an installed
distribution.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import dsl
from engine.clock import ManualClock
from engine.memory import MemoryEngine
from engine.registry import ActionRegistry
from engine.runtime import Runtime
from tests.support.distributions import install_example_plugin


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_example_plugin(tmp_path, monkeypatch, {"ordo.actions": "ordo.actions"})


FLOW = """
flow guarded "Guarded"
  input email: text
  do example.fraud_score(email: input.email, amount: 2000) as risk
  if risk.flagged -> review
  do example.slow_lookup(seconds: 30)
    on error -> slow
  done
review:
  do example.always_fails()
    on error -> broken
  done
slow:
  set outcome = error.code
  done
broken:
  set outcome = error.message
  done
end
"""


@pytest.mark.usefixtures("installed")
def test_the_example_plugin_is_discovered_and_its_failures_stay_in_their_steps() -> None:
    registry = ActionRegistry()
    assert registry.load_plugins() == []
    assert {"example.fraud_score", "example.slow_lookup", "example.always_fails"} <= set(registry.actions)
    runtime = Runtime(registry=registry, clock=ManualClock())
    engine = MemoryEngine(runtime, dsl.compile_flows(FLOW, runtime.catalog()))
    risky = engine.start("guarded", {"email": "x@mailinator.com"})
    assert risky.state.variables["outcome"] == "RuntimeError: the example service is down"
    started = time.monotonic()
    calm = engine.start("guarded", {"email": "x@shop.test"})
    assert calm.state.variables["outcome"] == "timeout"
    assert time.monotonic() - started < 5

from __future__ import annotations

from collections.abc import Callable

import pytest

import dsl
from engine.clock import ManualClock
from engine.memory import MemoryEngine
from engine.runtime import Runtime
from tests.unit.engine.catalog import Effects, build_registry


@pytest.fixture
def effects() -> Effects:
    return Effects()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def runtime(effects: Effects, clock: ManualClock) -> Runtime:
    return Runtime(registry=build_registry(effects), clock=clock, max_steps=200)


@pytest.fixture
def engine_for(runtime: Runtime) -> Callable[[str], MemoryEngine]:
    def make(source: str) -> MemoryEngine:
        return MemoryEngine(runtime, dsl.compile_flows(source, runtime.catalog()))

    return make

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.clock import ManualClock
from engine.db import Database
from engine.flows import create_flow
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
def install(db: Database, runtime: Runtime) -> Callable[[str], None]:
    def install_flows(source: str) -> None:
        with db.session_factory() as session:
            create_flow(session, source, activate_now=True, runtime=runtime)
            session.commit()

    return install_flows

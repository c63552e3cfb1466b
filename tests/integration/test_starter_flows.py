"""Every starter flow checks clean against the real catalog (the app skips a broken one silently at
start), and the service flows load active with the actions the contract names."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.bootstrap import STARTER_FLOWS_DIR, build_runtime
from dsl import Severity, format_source
from engine import flows as flow_service
from engine.db import Database

STARTERS = sorted(STARTER_FLOWS_DIR.glob("*.flow"))


@pytest.mark.parametrize("path", STARTERS, ids=[p.name for p in STARTERS])
def test_starter_flow_checks_clean(path: Path) -> None:
    result = flow_service.check(path.read_text(encoding="utf-8"), build_runtime())
    assert result.ok, [f"{d.span.line}:{d.span.column} {d.code} {d.message}" for d in result.errors]
    assert not [d for d in result.diagnostics if d.severity is not Severity.ERROR]


@pytest.mark.parametrize("path", STARTERS, ids=[p.name for p in STARTERS])
def test_starter_flow_is_in_canonical_form(path: Path) -> None:
    # What admins clone should already be what `ordo flow fmt` writes, so their diffs stay their own.
    text = path.read_text(encoding="utf-8")
    assert format_source(text) == text


def test_service_starters_load_active_with_the_contract_actions(db: Database) -> None:
    runtime = build_runtime()
    with db.session_factory() as session:
        flow_service.load_starter_flows(session, STARTER_FLOWS_DIR, runtime=runtime)
        session.commit()
        actions = {
            flow.action_name: flow.active_version
            for flow in flow_service.list_flows(session)
            if flow.action_name is not None
        }
    assert actions == {"cancel": 1, "return": 1, "exchange": 1, "reship": 1, "discount": 1}

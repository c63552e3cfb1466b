"""`ordo flow check|fmt|graph` through typer's CliRunner, against the contract catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import api.cli_flow
from api.cli_flow import flow_app
from tests.support.contract_catalog import contract_catalog
from tests.unit.dsl.helpers import CASES

runner = CliRunner()


@pytest.fixture(autouse=True)
def _catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.cli_flow, "current_catalog", contract_catalog)


def test_dsl_cli_check_clean_and_bad() -> None:
    good = runner.invoke(flow_app, ["check", str(CASES / "good" / "cancel.flow")])
    assert good.exit_code == 0 and good.output == ""
    bad_path = CASES / "bad" / "unknown_name.flow"
    bad = runner.invoke(flow_app, ["check", str(bad_path)])
    assert bad.exit_code == 1
    assert bad.output.splitlines()[0] == (
        f"{bad_path}:7:6: error: unknown name 'routng'; did you mean 'routing'? [unknown-name]"
    )


def test_dsl_cli_warnings_exit_zero(tmp_path: Path) -> None:
    path = tmp_path / "w.flow"
    path.write_text('flow t "T"\n  done\n  done\nend\n')
    result = runner.invoke(flow_app, ["check", str(path)])
    assert result.exit_code == 0 and "warning:" in result.output and "[unreachable]" in result.output


def test_dsl_cli_fmt_check_and_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "f.flow"
    messy = 'flow t "T"\n      done\nend\n'
    path.write_text(messy)
    checked = runner.invoke(flow_app, ["fmt", "--check", str(path)])
    assert checked.exit_code == 1 and path.read_text() == messy
    rewritten = runner.invoke(flow_app, ["fmt", str(path)])
    assert rewritten.exit_code == 0 and path.read_text() == 'flow t "T"\n  done\nend\n'
    again = runner.invoke(flow_app, ["fmt", "--check", str(path)])
    assert again.exit_code == 0


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "json", "svg"])
def test_dsl_cli_graph(fmt: str) -> None:
    result = runner.invoke(flow_app, ["graph", str(CASES / "good" / "return.flow"), "--format", fmt])
    assert result.exit_code == 0
    if fmt == "json":
        assert json.loads(result.output)["start"] == "return_items.1"
    else:
        assert {"mermaid": "flowchart TD", "dot": "digraph", "svg": "<svg"}[fmt] in result.output

"""The contract's flows against the real catalog: the built-in actions as the app registers them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dsl
from api.bootstrap import build_runtime
from dsl import Severity
from tests.unit.dsl.helpers import expected

ORDO = Path(sys.executable).parent / "ordo"


def test_contract_flows_check_clean_and_bad_ones_fail_where_they_say(shared_dir: Path) -> None:
    catalog = build_runtime().catalog()
    flows = shared_dir / "contract" / "flows"
    good, bad = sorted(flows.glob("*.flow")), sorted((flows / "bad").glob("*.flow"))
    assert len(good) >= 6 and len(bad) >= 6
    for path in good:
        result = dsl.check(path.read_text(), catalog)
        assert result.diagnostics == [], (path.name, result.diagnostics)
    for path in bad:
        source = path.read_text()
        errors = [d for d in dsl.check(source, catalog).diagnostics if d.severity is Severity.ERROR]
        assert errors, path.name
        assert (errors[0].span.line, errors[0].span.column, errors[0].code) == expected(source), path.name


def test_ordo_flow_check_command_on_the_contract(shared_dir: Path) -> None:
    flows = shared_dir / "contract" / "flows"
    clean = subprocess.run(
        [str(ORDO), "flow", "check", *map(str, sorted(flows.glob("*.flow")))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout == ""
    path = flows / "bad" / "unknown_action.flow"
    refused = subprocess.run(
        [str(ORDO), "flow", "check", str(path)], capture_output=True, text=True, check=False
    )
    assert refused.returncode == 1
    line, column, code = expected(path.read_text())
    assert refused.stdout.startswith(f"{path}:{line}:{column}: error: ")
    assert refused.stdout.rstrip().endswith(f"[{code}]")

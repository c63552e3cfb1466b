"""Acceptance 1: the contract's good flows check clean, the bad ones fail exactly where they say."""

from __future__ import annotations

from pathlib import Path

import pytest

import dsl
from tests.support.contract_catalog import contract_catalog
from tests.unit.dsl.helpers import CASES, expected, first_error

GOOD = sorted((CASES / "good").glob("*.flow"))
BAD = sorted((CASES / "bad").glob("*.flow"))


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_dsl_own_good_copies_check_clean(path: Path) -> None:
    result = dsl.check(path.read_text(), contract_catalog())
    assert result.diagnostics == []
    assert len(result.flows) == 1


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_dsl_own_bad_cases_fail_where_they_say(path: Path) -> None:
    source = path.read_text()
    assert first_error(source) == expected(source)


def test_dsl_shared_contract_flows(shared_dir: Path) -> None:
    flows = shared_dir / "contract" / "flows"
    good = sorted(flows.glob("*.flow"))
    bad = sorted((flows / "bad").glob("*.flow"))
    assert good and bad
    for path in good:
        result = dsl.check(path.read_text(), contract_catalog())
        assert result.diagnostics == [], (path.name, result.diagnostics)
    for path in bad:
        source = path.read_text()
        assert first_error(source) == expected(source), path.name


def test_dsl_shared_copies_are_current(shared_dir: Path) -> None:
    """Our copies in tests/ stay the same as the contract's."""
    flows = shared_dir / "contract" / "flows"
    for path in [*flows.glob("*.flow"), *(flows / "bad").glob("*.flow")]:
        mine = CASES / ("bad" if path.parent.name == "bad" else "good") / path.name
        assert mine.read_text() == path.read_text(), path.name

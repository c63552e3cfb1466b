"""Shared helpers for the flow language's tests."""

from __future__ import annotations

import re
from pathlib import Path

import dsl
from dsl.diagnostics import Severity
from tests.support.contract_catalog import contract_catalog

CASES = Path(__file__).resolve().parent / "cases"
EXPECT = re.compile(r"#\s*expect:\s*(\d+):(\d+)\s+([a-z-]+)")


def expected(source: str) -> tuple[int, int, str]:
    match = EXPECT.match(source.splitlines()[0])
    assert match, "a bad case starts with '# expect: LINE:COL CODE'"
    return int(match[1]), int(match[2]), match[3]


def first_error(source: str) -> tuple[int, int, str]:
    result = dsl.check(source, contract_catalog())
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert errors, "expected the text to be refused"
    return errors[0].span.line, errors[0].span.column, errors[0].code


def flow(body: str, header: str = "  kind custom") -> str:
    """A one-flow source around element lines."""
    return f'flow t "T"\n{header}\n\n{body}\nend\n'

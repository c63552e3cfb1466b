"""The accelerated parser (lark_cython building syntax trees as it reduces, dsl.reductions) and the
plain route (Lark's trees, walked by dsl.build_ast.AstBuilder) give the same results.

Both must give identical syntax trees with every span, diagnostics (LINE:COL included) and graphs on
every case, every contract flow (good and bad), the starter flows and a set of broken texts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import dsl
import dsl.reductions
from dsl import ast
from dsl.build_ast import parse_expression, parse_source
from dsl.diagnostics import Span
from dsl.export import to_json
from dsl.parser import lark_parser, may_nest_deeply
from tests.support.contract_catalog import contract_catalog
from tests.unit.dsl.helpers import CASES, flow

SHARED_FLOWS = Path(__file__).resolve().parents[3].parent / "shared" / "contract" / "flows"
STARTERS = Path(__file__).resolve().parents[3] / "starter_flows"

BROKEN = [
    flow("  do route_order(strategy: ) as r"),
    flow('  set x = "not closed'),
    flow("  set x = 1 +"),
    flow("  set x = (1 + 2"),
    flow("  set x = [1, 2"),
    flow("  set x = a.b.c.(d)"),
    flow("  set x = 1 $ 2"),
    flow('  set x = "a {y +} b"'),
    flow('  set x = "a {y b"'),
    flow('  set x = "a {} b } c"'),
    flow("  set x = " + "(" * 150 + "1" + ")" * 150),
    flow("  set x = " + "not " * 150 + "true"),
    flow("  set x = " + "-" * 150 + "1"),
    flow("  set x = a" + ".b" * 150),
    flow("  if x > 1 ->"),
    flow("  decide\n    when x -> a\n    otherwise"),
    flow('  ask role "r" "p"\n    yes ->'),
    'flow t "T"\n  kind custom\n  done',
    'flow t "T"\n  kind custom\n  done\nend flow u "U"\n  done\nend\n',
    "flow",
    "",
    "\n\n# only a comment\n",
    "end",
    'flow t "T"\n  kind custom\n  wait 5x\nend\n',
]

EXPRESSIONS = [
    'total > 100 and tier == "gold" and (country == "AU" or qty >= 5)',
    "-(a.b + 2) * f(x, [1, 2.5, -3], )",
    'not x in [1] or y not in z and "s{a.b} {c}"',
    "a.b.c.d",
    "(a).b and (((x + 1)) * y) > -(z) or not (true) and [null, false, 1.5] == (f())",
    "( a ) in ( [ ( 1 ) ] ) and ((b)) not in (c) and (-1) < - 2",
    "((((1))))",
    "1 +",
    "(1",
    "",
    "a @ b",
    "(" * 200 + "1" + ")" * 200,
]


def _sources() -> Iterator[tuple[str, str]]:
    for folder in ("good", "bad"):
        for path in sorted((CASES / folder).glob("*.flow")):
            yield f"cases/{folder}/{path.name}", path.read_text()
    if SHARED_FLOWS.is_dir():
        for path in sorted([*SHARED_FLOWS.glob("*.flow"), *(SHARED_FLOWS / "bad").glob("*.flow")]):
            yield f"shared/{path.relative_to(SHARED_FLOWS)}", path.read_text()
    for path in sorted(STARTERS.glob("*.flow")):
        yield f"starter/{path.name}", path.read_text()
    for index, text in enumerate(BROKEN):
        yield f"broken/{index}", text


SOURCES = list(_sources())


@pytest.fixture
def plain_lark(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes ``dsl`` take the plain-Lark route for the rest of the test."""
    monkeypatch.setattr(dsl.reductions, "build", lambda source, start: None)


def test_dsl_accelerated_parser_is_in_use() -> None:
    pytest.importorskip("lark_cython")
    assert lark_parser() is not lark_parser(False)
    assert type(lark_parser().parser.parser).__module__.startswith("lark_cython")
    assert lark_parser().parse("a", start="expr") == ast.Name("a", Span(1, 1, 1, 2))


def test_dsl_shared_flows_are_among_the_sources(shared_dir: Path) -> None:
    assert any(name.startswith("shared/bad/") for name, _ in SOURCES)
    assert any(name.startswith("shared/") and "/bad/" not in name for name, _ in SOURCES)


@pytest.mark.parametrize(("name", "source"), SOURCES, ids=[n for n, _ in SOURCES])
def test_dsl_parsers_agree_on_syntax_trees(name: str, source: str, request: pytest.FixtureRequest) -> None:
    fast = parse_source(source)
    request.getfixturevalue("plain_lark")
    assert fast == parse_source(source)


@pytest.mark.parametrize(("name", "source"), SOURCES, ids=[n for n, _ in SOURCES])
def test_dsl_parsers_agree_on_check(name: str, source: str, request: pytest.FixtureRequest) -> None:
    catalog = contract_catalog()
    fast = dsl.check(source, catalog)
    request.getfixturevalue("plain_lark")
    plain = dsl.check(source, catalog)
    assert [d.render("f") for d in fast.diagnostics] == [d.render("f") for d in plain.diagnostics]
    assert fast.diagnostics == plain.diagnostics
    assert [to_json(g) for g in fast.flows] == [to_json(g) for g in plain.flows]
    assert all(d.code != "internal" for d in fast.diagnostics)


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_dsl_parsers_agree_on_expressions(text: str, request: pytest.FixtureRequest) -> None:
    fast = parse_expression(text)
    request.getfixturevalue("plain_lark")
    assert fast == parse_expression(text)


def test_dsl_parsers_agree_on_a_generated_flow(request: pytest.FixtureRequest) -> None:
    from benchmarks.expressions import generated_flow

    source = generated_flow(200)
    fast_tree = parse_source(source)
    fast = dsl.check(source, contract_catalog())
    request.getfixturevalue("plain_lark")
    assert parse_source(source) == fast_tree
    plain = dsl.check(source, contract_catalog())
    assert fast.ok and plain.ok
    assert [to_json(g) for g in fast.flows] == [to_json(g) for g in plain.flows]


def test_dsl_only_lines_with_many_tokens_may_nest_deeply() -> None:
    """Long lines of few tokens (strings, comments) stay on the accelerated route; lines of many
    tokens (``a.b.c`` counts five) have their depth checked on the plain-Lark route."""
    assert not may_nest_deeply('  set x = "' + "y" * 200 + '"  # ' + "z" * 200)
    assert not may_nest_deeply("  set x = " + "a" * 200)
    assert may_nest_deeply("  set x = a" + ".b" * 50)
    assert may_nest_deeply("  set x = " + "-" * 93 + "1")
    assert not may_nest_deeply("  set x = " + "-" * 81 + "1")

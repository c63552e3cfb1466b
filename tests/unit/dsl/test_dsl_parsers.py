"""lark_cython's parser (with our tuned callbacks) and plain Lark give the same results.

``dsl`` parses with lark_cython when it is installed and falls back to plain Lark otherwise; both must
give identical trees (down to every token's position), syntax trees with every span, diagnostics
(LINE:COL included) and graphs on every case, every contract flow (good and bad), the starter flows
and a set of broken texts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lark import Tree

import dsl
import dsl.parser
from dsl.build_ast import parse_expression, parse_source
from dsl.export import to_json
from dsl.parser import lark_parser, parse_tree
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


# The accelerated parser gives positions only to the trees whose positions the AST builder reads
# (it computes expressions' spans from their tokens; the syntax trees are compared below): where
# flows, calls and lists start and end, where header and statement lines start. Those positions and
# every token's are the same as with plain Lark.
WHOLE = {"flow", "call", "list"}
START = {"kind_header", "trigger_header", "action_header", "input_header", "description_header"}
START |= {"do_stmt", "set_stmt", "if_stmt", "decide_stmt", "wait_for", "wait_time", "ask_stmt"}
START |= {"call_stmt", "goto", "done", "fail", "when_line", "outcome"}


def _shape(node: Any) -> Any:
    """A tree as plain data: rule names, token types and values, and the positions that are read."""
    if isinstance(node, Tree):
        meta, data = node.meta, str(node.data)
        where = None if meta.empty else (meta.line, meta.column, meta.end_line, meta.end_column)
        if where is not None and data in START:
            where = where[:2]
        elif data not in WHOLE | START:
            where = None
        return (data, where, [_shape(c) for c in node.children])
    if node is None:
        return None
    return (node.type, str(node.value), node.line, node.column, node.end_line, node.end_column)


@pytest.fixture
def plain_lark(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes ``dsl`` parse with plain Lark for the rest of the test."""
    original = dsl.parser.lark_parser
    monkeypatch.setattr(dsl.parser, "lark_parser", lambda accelerated=True: original(False))


def test_dsl_accelerated_parser_is_in_use() -> None:
    pytest.importorskip("lark_cython")
    assert lark_parser() is not lark_parser(False)
    assert type(lark_parser().parse("a", start="expr").children[0]).__module__.startswith("lark_cython")


def test_dsl_shared_flows_are_among_the_sources(shared_dir: Path) -> None:
    assert any(name.startswith("shared/bad/") for name, _ in SOURCES)
    assert any(name.startswith("shared/") and "/bad/" not in name for name, _ in SOURCES)


@pytest.mark.parametrize(("name", "source"), SOURCES, ids=[n for n, _ in SOURCES])
def test_dsl_parsers_agree_on_trees_and_syntax_trees(name: str, source: str) -> None:
    fast_tree, fast_problems = parse_tree(source)
    plain_tree, plain_problems = parse_tree(source, accelerated=False)
    assert fast_problems == plain_problems
    assert _shape(fast_tree) == _shape(plain_tree)
    assert parse_source(source) == parse_source(source, accelerated=False)


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
def test_dsl_parsers_agree_on_expressions(text: str) -> None:
    fast_tree, fast_problems = parse_tree(text, start="expr")
    plain_tree, plain_problems = parse_tree(text, start="expr", accelerated=False)
    assert fast_problems == plain_problems
    assert _shape(fast_tree) == _shape(plain_tree)
    assert parse_expression(text) == parse_expression(text, accelerated=False)


def test_dsl_parsers_agree_on_a_generated_flow(request: pytest.FixtureRequest) -> None:
    from benchmarks.expressions import generated_flow

    source = generated_flow(200)
    assert _shape(parse_tree(source)[0]) == _shape(parse_tree(source, accelerated=False)[0])
    fast = dsl.check(source, contract_catalog())
    request.getfixturevalue("plain_lark")
    plain = dsl.check(source, contract_catalog())
    assert fast.ok and plain.ok
    assert [to_json(g) for g in fast.flows] == [to_json(g) for g in plain.flows]

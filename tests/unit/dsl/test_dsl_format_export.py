"""Formatter (canonical, idempotent, meaning-preserving, comments kept) and the exporters."""

from __future__ import annotations

import json
import xml.dom.minidom
from pathlib import Path

import pytest

import dsl
from dsl.export import signature
from tests.support.contract_catalog import contract_catalog
from tests.unit.dsl.helpers import CASES

GOOD = sorted((CASES / "good").glob("*.flow"))


def meaning(source: str) -> list[object]:
    return [signature(fg) for fg in dsl.compile_flows(source, contract_catalog())]


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_dsl_fmt_idempotent_and_meaning_preserving(path: Path) -> None:
    source = path.read_text()
    once = dsl.format_source(source)
    assert dsl.format_source(once) == once
    assert meaning(once) == meaning(source)


def test_dsl_contract_flows_are_nearly_canonical() -> None:
    """The contract's style is the canonical one: only the missing blank line before a label differs."""
    for path in GOOD:
        source = path.read_text()
        expected = source.replace(
            "    on error -> capture_failed\nnotify:", "    on error -> capture_failed\n\nnotify:"
        )
        assert dsl.format_source(source) == expected, path.name


def test_dsl_fmt_canonical_layout_and_comments() -> None:
    messy = """# top
flow  t   "T"   # title
    input b: int=1
      kind custom
  # before the first element
      if (a+1)*2>3 and not(b==2) -> x # trailing
      do notify(template:"t",to:"u")  as n   retry 2   every 5s
            on error -> x
x:
 done
end
# the end
"""
    expected = """# top
flow t "T"  # title
  kind custom
  input b: int = 1

  # before the first element
  if (a + 1) * 2 > 3 and not b == 2 -> x  # trailing
  do notify(template: "t", to: "u") as n retry 2 every 5s
    on error -> x

x:
  done
end

# the end
"""
    assert dsl.format_source(messy) == expected
    assert dsl.format_source(expected) == expected


def test_dsl_fmt_keeps_needed_parentheses() -> None:
    source = 'flow t "T"\n  set x = 10 - (4 - 3)\n  set y = -(a + b) * c\n  set z = (p or q) and r\nend\n'
    out = dsl.format_source(source)
    assert "10 - (4 - 3)" in out and "-(a + b) * c" in out and "(p or q) and r" in out


def test_dsl_fmt_refuses_text_that_does_not_parse() -> None:
    with pytest.raises(dsl.FlowCompileError):
        dsl.format_source("flow (")


def test_dsl_json_export_matches_the_contract_shape() -> None:
    fg = dsl.compile_flows((CASES / "good" / "fulfillment.flow").read_text(), contract_catalog())[0]
    data = dsl.to_json(fg)
    json.dumps(data)
    nodes = data["nodes"]
    assert isinstance(nodes, list)
    assert {"id": "route", "kind": "action", "label": "do route_order", "line": 15} in nodes
    assert {"source": "route", "target": "fallout", "kind": "error", "label": "error"} in data["edges"]  # type: ignore[operator]


def test_dsl_mermaid_dot_svg() -> None:
    fg = dsl.compile_flows((CASES / "good" / "fulfillment.flow").read_text(), contract_catalog())[0]
    mermaid = dsl.to_mermaid(fg)
    assert mermaid.startswith("flowchart TD") and '-.->|"error"|' in mermaid
    dot = dsl.to_dot(fg)
    assert dot.startswith('digraph "create_fulfillment_orders"') and "shape=diamond" in dot
    svg = dsl.to_svg(fg)
    doc = xml.dom.minidom.parseString(svg)
    groups = [g for g in doc.getElementsByTagName("g") if g.getAttribute("data-node-id")]
    assert {g.getAttribute("data-node-id") for g in groups} == set(fg.graph.nodes)
    assert any("node-decision" in g.getAttribute("class") for g in groups)
    assert 'stroke="#c62828" stroke-dasharray' in svg


def test_dsl_svg_escapes_text() -> None:
    source = 'flow t "T"\n  fail "<b>&\\"x\\"</b>"\nend\n'
    fg = dsl.compile_flows(source, contract_catalog())[0]
    svg = dsl.to_svg(fg)
    xml.dom.minidom.parseString(svg)
    assert "<b>" not in svg and "&lt;b&gt;" in svg

"""The flow graph drawing: geometry (no overlaps, edges around boxes), clipping, escaping, determinism."""

from __future__ import annotations

import itertools
import re
import time
import xml.etree.ElementTree as ET

import pytest

import dsl
from dsl.svg import to_svg
from tests.support.contract_catalog import contract_catalog
from tests.unit.dsl.helpers import CASES

NS = "{http://www.w3.org/2000/svg}"

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1
Point = tuple[float, float]


def generated(blocks: int) -> str:
    """A flow of ``5 * blocks + 2`` elements using every kind of branch: errors into one handler,
    ``decide`` with jumps forward, asks, waits with timeouts and a loop back through a wait."""
    lines = ['flow big "Generated"', "  kind fulfillment", "  trigger on order_summary.created", ""]
    for i in range(blocks):
        lines += [
            f"step{i}:",
            f'  do route_order(strategy: "fewest_splits") as routing{i}',
            "    on error -> failed",
            "  decide",
            f"    when routing{i}.unallocated_quantity > 10 -> hold{i}",
            f"    when summary.grand_total > 100 -> step{i + 1}",
            f"    otherwise -> ask{i}",
            f"ask{i}:",
            '  ask role "fulfillment_manager" "Go on with {summary.order_number}?"',
            f"    approved -> step{i + 1}",
            "    rejected -> failed",
            f"hold{i}:",
            "  wait for fulfillment_order.shipped timeout 1d -> failed",
            f"  if summary.grand_total > {i} -> hold{i}",
            f'  do set_status(status: "Held {i}")',
        ]
    lines += [f"step{blocks}:", "  done", "", "failed:", "  fail error.message", "end", ""]
    return "\n".join(lines)


def starter_graphs() -> list[dsl.FlowGraph]:
    """The starter flows, as the unit tests keep them (they compile against the contract catalog)."""
    graphs = []
    for path in sorted((CASES / "good").glob("*.flow")):
        graphs += dsl.compile_flows(path.read_text(), contract_catalog())
    return graphs


def big_graph() -> dsl.FlowGraph:
    return dsl.compile_flows(generated(12), contract_catalog())[0]


def all_graphs() -> list[dsl.FlowGraph]:
    return [*starter_graphs(), big_graph()]


def numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text)]


def node_rects(root: ET.Element) -> dict[str, Rect]:
    """Each node's bounding rectangle, from its shape (the group's first drawn child)."""
    rects = {}
    for group in root.iter(f"{NS}g"):
        node_id = group.get("data-node-id")
        if node_id is None:
            continue
        shape = next(child for child in group if child.tag in (f"{NS}rect", f"{NS}polygon", f"{NS}circle"))
        if shape.tag == f"{NS}rect":
            x, y = float(shape.get("x", 0)), float(shape.get("y", 0))
            rects[node_id] = (x, y, x + float(shape.get("width", 0)), y + float(shape.get("height", 0)))
        elif shape.tag == f"{NS}circle":
            cx, cy, r = (float(shape.get(a, 0)) for a in ("cx", "cy", "r"))
            rects[node_id] = (cx - r, cy - r, cx + r, cy + r)
        else:
            values = numbers(shape.get("points", ""))
            xs, ys = values[0::2], values[1::2]
            rects[node_id] = (min(xs), min(ys), max(xs), max(ys))
    return rects


def cubic(p0: Point, p1: Point, p2: Point, p3: Point, steps: int = 16) -> list[Point]:
    out = []
    for k in range(1, steps + 1):
        t = k / steps
        u = 1 - t
        out.append(
            (
                u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
            )
        )
    return out


def polyline(d: str) -> list[Point]:
    """The path as a polyline, curves sampled finely (M, L and C with absolute coordinates)."""
    points: list[Point] = []
    for command, args in re.findall(r"([MLC])([^MLC]*)", d):
        values = numbers(args)
        pairs = list(zip(values[0::2], values[1::2], strict=True))
        if command in "ML":
            points += pairs
        else:
            points += cubic(points[-1], pairs[0], pairs[1], pairs[2])
    return points


def crosses(p: Point, q: Point, rect: Rect) -> bool:
    """Whether segment pq passes through the inside of ``rect`` (Liang-Barsky clipping)."""
    x0, y0, x1, y1 = rect
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for step, room in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if step == 0:
            if room <= 0:
                return False
            continue
        t = room / step
        if step < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 >= t1:
            return False
    return True


def geometry_problems(fg: dsl.FlowGraph) -> list[str]:
    root = ET.fromstring(dsl.to_svg(fg))
    rects = node_rects(root)
    problems = []
    ids = sorted(rects)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            ra, rb = rects[a], rects[b]
            if ra[0] < rb[2] and rb[0] < ra[2] and ra[1] < rb[3] and rb[1] < ra[3]:
                problems.append(f"{fg.id}: boxes {a} and {b} overlap")
    width, height = float(root.get("width", 0)), float(root.get("height", 0))
    for node_id, (x0, y0, x1, y1) in rects.items():
        if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
            problems.append(f"{fg.id}: {node_id} is outside the drawing")
    for group in root.iter(f"{NS}g"):
        source, target = group.get("data-source"), group.get("data-target")
        if source is None:
            continue
        path = group.find(f"{NS}path")
        assert path is not None
        points = polyline(path.get("d", ""))
        # A margin of half a pixel inside each box keeps a line that grazes a corner acceptable.
        for node_id, (x0, y0, x1, y1) in rects.items():
            if node_id in (source, target):
                continue
            inner = (x0 + 0.5, y0 + 0.5, x1 - 0.5, y1 - 0.5)
            if any(crosses(p, q, inner) for p, q in itertools.pairwise(points)):
                problems.append(f"{fg.id}: edge {source} -> {target} cuts through {node_id}")
    return problems


@pytest.mark.parametrize("fg", all_graphs(), ids=lambda fg: fg.id)
def test_svg_boxes_apart_and_edges_around_them(fg: dsl.FlowGraph) -> None:
    assert geometry_problems(fg) == []


def test_svg_geometry_checks_would_catch_a_cut() -> None:
    """The checks above are not vacuous: a straight line across the drawing is caught."""
    assert crosses((0, 5), (20, 5), (5, 0, 10, 10))
    assert not crosses((0, 15), (20, 15), (5, 0, 10, 10))
    assert not crosses((5, 10), (5, 30), (0, 0, 10, 10))  # leaving along an edge is not cutting
    assert len(polyline("M0,0C0,5 10,5 10,10L10,20")) == 18


def test_svg_generated_flow_has_every_kind_and_stays_compact() -> None:
    fg = big_graph()
    assert fg.graph.number_of_nodes() >= 60
    svg = dsl.to_svg(fg)
    for kind in ("action", "decision", "ask", "wait_event", "end", "fail"):
        assert f'class="node node-{kind}' in svg
    for kind in ("error", "timeout", "when", "otherwise", "outcome", "true", "false"):
        assert f'class="edge edge-{kind}' in svg
    root = ET.fromstring(svg)
    width, height = float(root.get("width", 0)), float(root.get("height", 0))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    # Several columns, not one tall one: the loops and side branches sit beside the main line.
    assert width > 500 and height < 60 * 110


def test_svg_is_fast_enough() -> None:
    fg = dsl.compile_flows(generated(12), contract_catalog())[0]
    dsl.to_svg(fg)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        dsl.to_svg(fg)
        best = min(best, time.perf_counter() - start)
    assert best < 0.05


def test_svg_clips_long_text_and_keeps_it_in_the_title() -> None:
    message = "Could not reserve stock for this order because " + "the warehouse is far away " * 4
    source = f'flow t "T"\n  kind custom\n\n  fail "{message}"\nend\n'
    fg = dsl.compile_flows(source, contract_catalog())[0]
    root = ET.fromstring(dsl.to_svg(fg))
    group = next(g for g in root.iter(f"{NS}g") if g.get("data-node-id") == "t.1")
    title = group.find(f"{NS}title")
    assert title is not None and message in (title.text or "")
    texts = [t.text or "" for t in group.iter(f"{NS}text")]
    shown = next(t for t in texts if t.startswith("fail"))
    assert shown.endswith("\u2026") and len(shown) < len(message)
    rect = group.find(f"{NS}rect")
    assert rect is not None and float(rect.get("width", 0)) <= 260


def test_svg_short_text_is_not_clipped() -> None:
    fg = dsl.compile_flows((CASES / "good" / "fulfillment.flow").read_text(), contract_catalog())[0]
    root = ET.fromstring(dsl.to_svg(fg))
    texts = [t.text or "" for t in root.iter(f"{NS}text")]
    assert "summary.grand_total > 5000" in texts
    assert "routing.unallocated_quantity > 0" in texts
    assert "do create_fulfillment_orders" in texts


def test_svg_escapes_script_everywhere() -> None:
    """User text reaches the drawing through conditions' string literals and fail messages (captions,
    titles, edge titles) and through the classes a page marks nodes with."""
    source = (
        'flow t "T"\n  kind custom\n\n'
        '  if summary.lifecycle == "<script>alert(1)</script>" -> y\n'
        '  fail "<script>alert(\\"x\\")</script>&amp;"\n'
        "y:\n  done\nend\n"
    )
    fg = dsl.compile_flows(source, contract_catalog())[0]
    svg = to_svg(fg, marks={fg.start: 'on-path"><script>alert(2)</script>'})
    root = ET.fromstring(svg)  # well-formed: nothing broke out of an attribute or a text node
    assert "<script" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    titles = " ".join(t.text or "" for t in root.iter(f"{NS}title"))
    assert '<script>alert(\\"x\\")</script>&amp;' in titles  # the canonical text, quotes escaped
    assert '"<script>alert(1)</script>"' in titles
    start = next(g for g in root.iter(f"{NS}g") if g.get("data-node-id") == fg.start)
    assert start.get("class") == 'node node-decision on-path"><script>alert(2)</script>'


def test_svg_is_deterministic() -> None:
    fg = big_graph()
    first = dsl.to_svg(fg)
    assert dsl.to_svg(fg) == first
    assert dsl.to_svg(big_graph()) == first  # a fresh compile of the same text, too


def test_svg_marks_and_path_edges_keep_their_hooks() -> None:
    fg = dsl.compile_flows((CASES / "good" / "fulfillment.flow").read_text(), contract_catalog())[0]
    svg = to_svg(fg, marks={"route": "on-path step-failed"}, path_edges=[("route", "fallout")])
    root = ET.fromstring(svg)
    route = next(g for g in root.iter(f"{NS}g") if g.get("data-node-id") == "route")
    assert route.get("class") == "node node-action on-path step-failed"
    assert route.get("data-line") == str(fg.node("route").span.line)
    edge = next(
        g
        for g in root.iter(f"{NS}g")
        if g.get("data-source") == "route" and g.get("data-target") == "fallout"
    )
    assert edge.get("class") == "edge edge-error on-path"
    assert edge.find(f"{NS}path") is not None  # the designer's CSS styles an on-path edge's <path>

"""Property tests of the flow language: check never raises, fmt is idempotent and keeps meaning."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsl
from dsl.export import signature
from tests.support.contract_catalog import contract_catalog

CASES = Path(__file__).resolve().parents[1] / "unit" / "dsl" / "cases"
CORPUS = [p.read_text() for p in sorted(CASES.rglob("*.flow"))]
CATALOG = contract_catalog()
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKENS = [
    "flow",
    "end",
    "do",
    "set",
    "if",
    "else",
    "decide",
    "when",
    "otherwise",
    "wait",
    "for",
    "where",
    "as",
    "ask",
    "role",
    "call",
    "each",
    "in",
    "done",
    "fail",
    "category",
    "retry",
    "every",
    "timeout",
    "on",
    "error",
    "->",
    ":",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "=",
    "==",
    "<",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "and",
    "or",
    "not",
    "true",
    "null",
    '"x {a} y"',
    '"',
    "{",
    "}",
    "30s",
    "1.5",
    "42",
    "x",
    "summary",
    "\n",
    "\n  ",
    "#",
    "kind",
    "trigger",
    "input",
    "label:",
    "route_order",
    "7d",
]


def _no_crash(source: str) -> None:
    result = dsl.check(source, CATALOG)
    assert all(d.code != "internal" for d in result.diagnostics), result.diagnostics
    for d in result.diagnostics:
        assert d.span.line >= 1 and d.span.column >= 1


@FAST
@given(st.text(max_size=300))
def test_dsl_random_text_never_raises(text: str) -> None:
    _no_crash(text)


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join))
def test_dsl_random_token_soup_never_raises(text: str) -> None:
    _no_crash(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    source = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, 4))):
        if not source:
            break
        at = draw(st.integers(0, len(source) - 1))
        action = draw(st.sampled_from(["delete", "insert", "replace", "dup-line"]))
        if action == "delete":
            source = source[:at] + source[at + draw(st.integers(1, 8)) :]
        elif action == "insert":
            source = source[:at] + draw(st.sampled_from(TOKENS)) + source[at:]
        elif action == "replace":
            source = source[:at] + draw(st.characters()) + source[at + 1 :]
        else:
            lines = source.split("\n")
            index = at % len(lines)
            lines.insert(index, lines[index])
            source = "\n".join(lines)
    return source


@FAST
@given(mutated())
def test_dsl_mutated_flows_never_raise_and_fmt_is_stable(source: str) -> None:
    _no_crash(source)
    try:
        once = dsl.format_source(source)
    except dsl.FlowCompileError:
        return
    assert dsl.format_source(once) == once
    before, after = dsl.check(source, CATALOG), dsl.check(once, CATALOG)
    assert [signature(f) for f in before.flows] == [signature(f) for f in after.flows]
    assert [(d.code, d.message) for d in before.diagnostics] == [
        (d.code, d.message) for d in after.diagnostics
    ]


# ---------------------------------------------------------------- generated flows

names = st.sampled_from(["a", "b", "total", "n"])
atoms = st.one_of(
    st.integers(-50, 50).map(str),
    st.sampled_from(["1.5", "0.25", "true", "false", "null", '"s"', '"v {n} w"']),
    names,
    names.map(lambda n: f"input.{n}"),
)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(
        children, st.sampled_from(["+", "-", "*", "/", "and", "or", "==", "<", "in"]), children
    )
    bare = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "and", "or"]), children)
    return st.one_of(
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        bare.map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        children.map(lambda c: f"(not {c})"),
        children.map(lambda c: f"-({c})"),
        st.lists(children, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        children.map(lambda c: f"len({c})"),
    )


expressions = st.recursive(atoms, _combine, max_leaves=6)


@st.composite
def generated_flow(draw: st.DrawFn) -> str:
    labels = ["l1", "l2", "l3"]
    lines = ['flow gen "Generated"', "  kind custom"]
    lines += [f"  input {n}: int = 1" for n in ["a", "b", "total", "n"]]
    lines.append("  set a = 1")
    for label in labels:
        lines.append(f"{label}:")
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(["set", "if", "do", "wait", "fail", "decide", "done", "goto"]))
            target = draw(st.sampled_from(labels))
            if kind == "set":
                lines.append(f"  set {draw(names)} = {draw(expressions)}")
            elif kind == "if":
                lines.append(f"  if {draw(expressions)} -> {target}")
            elif kind == "do":
                lines.append(
                    f'  do notify(template: "t", to: "x") as n retry {draw(st.integers(0, 3))} every 5s'
                )
                lines.append(f"    on error -> {target}")
            elif kind == "wait":
                lines.append(f"  wait {draw(st.integers(1, 9))}m")
            elif kind == "fail":
                lines.append(f'  fail "bad {{{draw(names)}}}" category "Stock"')
            elif kind == "decide":
                lines.append("  decide")
                lines.append(f"    when {draw(expressions)} -> {target}")
                lines.append(f"    otherwise -> {draw(st.sampled_from(labels))}")
            elif kind == "done":
                lines.append("  done")
            else:
                lines.append(f"  -> {target}")
    lines.append("end")
    spacing = draw(st.sampled_from(["", " ", "   "]))
    return "\n".join(line.replace(" ", " " + spacing, 1) if line.startswith("  ") else line for line in lines)


@FAST
@given(generated_flow())
def test_dsl_fmt_on_generated_flows(source: str) -> None:
    result = dsl.check(source, CATALOG)
    assert all(d.code not in ("syntax", "internal") for d in result.diagnostics), result.diagnostics
    once = dsl.format_source(source)
    assert dsl.format_source(once) == once
    assert [signature(f) for f in dsl.check(once, CATALOG).flows] == [signature(f) for f in result.flows]


@settings(max_examples=200, deadline=None)
@given(expressions)
def test_dsl_expression_print_round_trip(text: str) -> None:
    expr = dsl.compile_expression(text)
    again = dsl.compile_expression(expr.canonical)
    assert again.canonical == expr.canonical
    scope = {"a": 3, "b": 2, "total": 10, "n": 1, "input": {"a": 1, "b": 2, "total": 3, "n": 4}}
    outcomes = []
    for e in (expr, again):
        try:
            outcomes.append(("ok", e.evaluate(scope)))
        except dsl.ExpressionError as exc:
            outcomes.append(("error", exc.message))
    assert outcomes[0] == outcomes[1]


def test_dsl_ten_thousand_deep_gives_a_diagnostic() -> None:
    for inner in ["not " * 10_000 + "x", "-" * 10_000 + "1", "[" * 10_000 + "]" * 10_000]:
        result = dsl.check(f'flow t "T"\n  set x = {inner}\n  done\nend\n', CATALOG)
        assert [d.code for d in result.diagnostics] == ["too-deep"]

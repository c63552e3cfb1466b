"""The compiled FlowGraph: node ids, kinds, transitions, and the validator's codes."""

from __future__ import annotations

import pytest

import dsl
from dsl.flowgraph import ActionNode, AskNode, CallNode, DecisionNode, EdgeKind, NodeKind, WaitEventNode
from tests.support.contract_catalog import contract_catalog
from tests.unit.dsl.helpers import CASES, first_error, flow


def compile_one(source: str) -> dsl.FlowGraph:
    return dsl.compile_flows(source, contract_catalog())[0]


def test_dsl_fulfillment_graph_shape() -> None:
    fg = compile_one((CASES / "good" / "fulfillment.flow").read_text())
    assert fg.id == "create_fulfillment_orders" and fg.kind == "fulfillment"
    assert fg.trigger is not None and fg.trigger.event == "order_summary.created"
    assert fg.trigger.when is not None and fg.trigger.when.evaluate({"summary": {"lifecycle": "managed"}})
    assert fg.start == "create_fulfillment_orders.1"
    assert fg.out_edges(fg.start) == [(EdgeKind.TRUE, "true", "review"), (EdgeKind.FALSE, "false", "route")]
    assert fg.follow("review", EdgeKind.OUTCOME, "rejected") == "reject"
    route = fg.node("route")
    assert isinstance(route, ActionNode) and route.bind == "routing" and route.label == "route"
    assert fg.follow("route", EdgeKind.ERROR) == "fallout"
    funds = fg.node("route.3")
    assert isinstance(funds, ActionNode) and funds.retry == 3 and funds.retry_every_s == 30.0
    assert fg.node("route.5").kind is NodeKind.END
    assert fg.node("fallout").kind is NodeKind.FAIL
    ask = fg.node("review")
    assert isinstance(ask, AskNode) and ask.outcomes == ("approved", "rejected")
    assert fg.graph.edges["route", "route.2"]["kind"] is EdgeKind.NEXT


def test_dsl_if_without_else_falls_through_and_end_of_body_is_end() -> None:
    fg = compile_one(
        flow('  if 1 > 2 -> x\n  do set_status(status: "a")\n\nx:\n  do set_status(status: "b")')
    )
    assert fg.follow("t.1", EdgeKind.FALSE) == "t.2"
    assert fg.follow("x", EdgeKind.NEXT) == "t.end"
    assert fg.node("t.end").kind is NodeKind.END


def test_dsl_parallel_transitions_to_one_target_are_all_kept() -> None:
    fg = compile_one(flow("  if 1 > 2 -> x\n\nx:\n  done"))
    assert fg.out_edges("t.1") == [(EdgeKind.TRUE, "true", "x"), (EdgeKind.FALSE, "false", "x")]


def test_dsl_decide_wait_call_and_set() -> None:
    source = """flow t "T"
  kind custom
  input n: int = 2

  set total = input.n * 2
  decide
    when total > 10 -> big
    when total > 1 -> small
    otherwise -> small
  wait 5m

big:
  wait for return_order.received where event.return_order.id == "r" as received timeout 2h -> small
  call helper(x: item) for each item in [1, 2] as results
  done

small:
  fail "too small: {total}" category "Stock"
end

flow helper "Helper"
  input x: int
  done
end
"""
    result = dsl.check(source, contract_catalog())
    assert result.ok, result.diagnostics
    fg = result.flows[0]
    decision = fg.node("t.2")
    assert isinstance(decision, DecisionNode) and len(decision.conditions) == 2
    assert [label for _, label, _ in fg.out_edges("t.2")] == ["when 1", "when 2", "otherwise"]
    wait = fg.node("big")
    assert isinstance(wait, WaitEventNode) and wait.timeout_s == 7200 and wait.bind == "received"
    assert fg.follow("big", EdgeKind.TIMEOUT) == "small"
    call = fg.node("big.2")
    assert isinstance(call, CallNode) and call.for_each is not None and call.for_each[0] == "item"
    assert fg.node("t.3").kind is NodeKind.WAIT_TIMER
    assert fg.inputs[0].default == 2 and fg.inputs[0].has_default
    assert result.flows[1].id == "helper"


def test_dsl_plugin_actions_are_dotted() -> None:
    catalog = contract_catalog()
    catalog.actions["acme.fraud_score"] = dsl.ActionSpec("acme.fraud_score", {}, None)
    fg = dsl.compile_flows(
        flow("  do acme.fraud_score() as score\n  if score.value > 5 -> x\n\nx:\n  done"), catalog
    )[0]
    node = fg.node("t.1")
    assert isinstance(node, ActionNode) and node.action == "acme.fraud_score"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('  do notify(template: 1, to: "x")', "argument-type"),
        ('  do notify(template: "a", template: "b", to: "x")', "duplicate-argument"),
        ("  set summary = 1", "reserved-name"),
        ("  call nowhere()", "unknown-flow"),
        ("  decide\n    otherwise -> x\n\nx:\n  done", "empty-decide"),
        ("  set x = len(1, 2)", "function-arity"),
        ("  -> a\n\na:\n  -> a", "goto-loop"),
        ('  ask role "r" "p"\n    yes -> x\n    yes -> x\n\nx:\n  done', "duplicate-outcome"),
    ],
)
def test_dsl_validator_codes(body: str, code: str) -> None:
    assert first_error(flow(body))[2] == code


def test_dsl_header_codes() -> None:
    assert first_error(flow("  done", header="  kind weird"))[2] == "unknown-kind"
    assert first_error(flow("  done", header="  kind custom\n  kind custom"))[2] == "duplicate-header"
    assert first_error(flow("  done", header='  input a: int = "x"'))[2] == "bad-default"
    assert first_error(flow("  done", header="  input a: int\n  input a: int"))[2] == "duplicate-input"
    two = flow("  done") + flow("  done")
    assert first_error(two)[2] == "duplicate-flow"


def test_dsl_unreachable_is_a_warning() -> None:
    result = dsl.check(flow('  done\n  do set_status(status: "x")'), contract_catalog())
    assert result.ok
    assert [(d.code, d.severity.value, d.span.line) for d in result.diagnostics] == [
        ("unreachable", "warning", 5)
    ]


def test_dsl_loops_with_a_wait_or_a_counter_are_fine() -> None:
    waiting = flow('again:\n  wait 1h\n  do set_status(status: "x")\n  -> again')
    assert dsl.check(waiting, contract_catalog()).ok
    counting = flow("  set n = 0\n\nagain:\n  set n = n + 1\n  if n < 3 -> again\n  done")
    assert dsl.check(counting, contract_catalog()).ok


def test_dsl_error_is_in_scope_on_error_paths_only() -> None:
    ok = flow('  do set_status(status: "x")\n    on error -> bad\n  done\n\nbad:\n  fail error.message')
    assert dsl.check(ok, contract_catalog()).ok


def test_dsl_check_never_raises_on_junk() -> None:
    for text in [
        "",
        "\n\n",
        "flow",
        "end",
        'flow x "y"\nend',
        "\x00\x01",
        'flow x "y"\n  do (\nend',
        "é" * 50,
    ]:
        result = dsl.check(text, contract_catalog())
        assert all(d.code != "internal" for d in result.diagnostics)

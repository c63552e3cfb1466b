"""A catalog with the action and event signatures the contract flows use.

Stands in for ``engine.catalog.current_catalog()`` in the language's own tests, so they run without
the engine.
"""

from __future__ import annotations

from dsl.catalog import ActionSpec, Catalog, EventSpec, ParamSpec


def _action(name: str, params: list[tuple[str, str, bool]], result: set[str] | None = None) -> ActionSpec:
    specs = {p: ParamSpec(p, t, required) for p, t, required in params}
    return ActionSpec(name, specs, frozenset(result) if result is not None else None)


REQ, OPT = True, False


def contract_catalog() -> Catalog:
    change = {"id", "refund_due", "amount"}
    actions = [
        _action(
            "route_order",
            [("strategy", "text", REQ), ("lines", "item_quantities", OPT)],
            {"allocations", "unallocated_quantity"},
        ),
        _action("ensure_funds", [("amount", "money", REQ)], set()),
        _action(
            "create_fulfillment_orders",
            [("allocations", "any", REQ), ("charge", "bool", OPT), ("reason", "text", OPT)],
        ),
        _action("set_status", [("status", "text", REQ)], set()),
        _action("create_invoice", [("fulfillment_order", "record", REQ)], {"id", "total"}),
        _action("capture_funds", [("invoice", "record", REQ)]),
        _action("notify", [("template", "text", REQ), ("to", "text", REQ)]),
        _action("cancel_items", [("lines", "item_quantities", REQ), ("reason", "text", OPT)], change),
        _action(
            "create_credit_memo",
            [("change", "record", OPT), ("return_order", "record", OPT), ("include_shipping", "bool", OPT)],
            {"id", "total"},
        ),
        _action("ensure_refunds", [("credit_memo", "record", REQ)]),
        _action("create_discount", [("amount", "money", REQ), ("reason", "text", OPT)], change),
        _action(
            "create_return_order",
            [("lines", "item_quantities", REQ), ("reason", "text", OPT)],
            {"id", "status"},
        ),
        _action("cancel_return_order", [("return_order", "record", REQ)]),
    ]
    events = [
        EventSpec("order_summary.created", frozenset({"summary"})),
        EventSpec("fulfillment_order.shipped", frozenset({"fulfillment_order"})),
        EventSpec("return_order.received", frozenset({"return_order"})),
    ]
    return Catalog(actions={a.name: a for a in actions}, events={e.name: e for e in events})

"""The registry as the flow language sees it, and the variable codec."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel

from engine import codec
from engine.catalog import build_catalog, dsl_type
from engine.codec import RecordRef
from engine.registry import ActionContext, ActionRegistry, DslType


class Line(BaseModel):
    item_id: str
    quantity: int


class Inputs(BaseModel):
    lines: Annotated[list[Line], DslType("item_quantities")]
    amount: Annotated[Decimal, DslType("money")]
    reason: str = "x"
    count: int
    flag: bool | None = None
    when: dt.date
    change: dict[str, Any]


class Outputs(BaseModel):
    total: Decimal
    refund_due: Decimal


def test_catalog_maps_field_annotations_to_language_types() -> None:
    registry = ActionRegistry()

    def act(ctx: ActionContext, inputs: Inputs) -> Outputs:
        return Outputs(total=Decimal(0), refund_due=Decimal(0))

    registry.register("act", act)
    registry.register_event("x.happened", {"id"})
    catalog = build_catalog(registry)
    params = catalog.actions["act"].params
    assert {name: (p.type, p.required) for name, p in params.items()} == {
        "lines": ("item_quantities", True),
        "amount": ("money", True),
        "reason": ("text", False),
        "count": ("int", True),
        "flag": ("bool", False),
        "when": ("date", True),
        "change": ("record", True),
    }
    assert catalog.actions["act"].result_fields == frozenset({"total", "refund_due"})
    assert catalog.events["x.happened"].payload_fields == frozenset({"id"})
    assert dsl_type(list[int]) == "list"
    assert dsl_type(Any) == "any"


def test_codec_round_trips_decimals_dates_and_records_exactly() -> None:
    value = {
        "amount": Decimal("12.30"),
        "tiny": Decimal("0.000000001"),
        "on": dt.date(2026, 1, 2),
        "rows": [Decimal("1.10"), "text", 3, True, None],
        "ref": RecordRef("thing", "t1", {"id": "t1", "total": Decimal("5.00")}),
    }
    import json

    back = codec.decode(json.loads(json.dumps(codec.encode(value))))
    assert back == value
    assert str(back["amount"]) == "12.30"
    assert back["ref"].snapshot["total"] == Decimal("5.00")
    assert codec.jsonable({"a": Decimal("1.50")}) == {"a": "1.50"}


def test_every_new_registry_gets_the_builtins_even_at_a_collected_ones_address() -> None:
    # A registry made after another was collected often sits at the same address (same id()); it must
    # still be given the built-ins. (CI once ran a test whose runtime had no actions at all.)
    import gc

    from engine import catalog

    def builtins(registry: ActionRegistry) -> None:
        registry.register("example_builtin", lambda ctx, params: {}, input_model=Line, output_model=Line)

    previous = catalog._builtin_loader
    catalog.set_builtin_loader(builtins)
    try:
        for _ in range(20):
            registry = ActionRegistry()
            catalog.prepare(registry)
            assert "example_builtin" in registry.actions
            del registry
            gc.collect()
    finally:
        catalog._builtin_loader = previous

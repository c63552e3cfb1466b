"""Service-action forms built from a flow's declared inputs, and the submitted form turned back into
the JSON inputs ``start_service_action`` validates.

An ``item_quantities`` input becomes one quantity field per item, bounded by what the action reports
it allows (the input's ``bounds.items``); when an action reports none, the item's buckets stand in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Bucket that bounds each action's quantities when the action itself does not say.
FALLBACK = {
    "cancel": "quantity_available_to_cancel",
    "return": "quantity_available_to_return",
    "exchange": "quantity_available_to_return",
    "reship": "quantity_fulfilled",
}
SKU_ROWS = 3


@dataclass
class ItemField:
    item_id: str
    sku: str
    name: str
    maximum: int


@dataclass
class Field:
    name: str
    type: str
    required: bool
    default: Any
    help: str
    items: list[ItemField] = field(default_factory=list)
    sku_rows: int = 0
    minimum: str = ""
    maximum: str = ""

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()


def _item_limits(raw: Any) -> dict[str, int] | None:
    """The API's ``{"items": [{item_id, max_quantity}]}`` as ``{item_id: n}``; None when not reported.

    Items the action leaves out of the list cannot take any unit now.
    """
    if not isinstance(raw, Mapping) or not isinstance(raw.get("items"), list):
        return None
    limits: dict[str, int] = {}
    for entry in raw["items"]:
        if isinstance(entry, Mapping) and isinstance(entry.get("max_quantity"), int):
            limits[str(entry.get("item_id"))] = int(entry["max_quantity"])
    return limits


def item_bounds(
    action: Mapping[str, Any], spec: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
) -> dict[str, int]:
    """The most units of each item the action's input may take now."""
    reported = _item_limits(spec.get("bounds"))
    if reported is not None:
        return reported
    bucket = FALLBACK.get(str(action.get("action")), "")
    return {
        str(item["id"]): int(item.get(bucket, item["quantity_ordered"] - item["quantity_canceled"]))
        for item in items
    }


def _range(raw: Any) -> tuple[str, str]:
    """A money or number input's reported ``{min, max}``, as text for the form's hint."""
    if isinstance(raw, Mapping):
        return str(raw.get("min") or ""), str(raw.get("max") or "")
    return "", ""


def build_fields(action: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> list[Field]:
    fields = []
    for spec in action["inputs"]:
        entry = Field(
            name=spec["name"],
            type=spec["type"],
            required=bool(spec["required"]),
            default=spec.get("default"),
            help=spec.get("help") or "",
        )
        if entry.type == "item_quantities":
            bounds = item_bounds(action, spec, items)
            entry.items = [
                ItemField(str(i["id"]), str(i["sku"]), str(i.get("name") or ""), bounds.get(str(i["id"]), 0))
                for i in items
            ]
        elif entry.type == "sku_quantities":
            entry.sku_rows = SKU_ROWS
        else:
            entry.minimum, entry.maximum = _range(spec.get("bounds"))
        fields.append(entry)
    return fields


def _int(raw: str) -> int | str:
    try:
        return int(raw)
    except ValueError:
        return raw  # the engine names it as not an integer


def read_inputs(fields: Sequence[Field], form: Mapping[str, Any]) -> dict[str, Any]:
    """The submitted form as inputs; empty optional fields are left out so the flow's defaults apply."""
    inputs: dict[str, Any] = {}
    for f in fields:
        if f.type == "item_quantities":
            lines = [
                {"item_id": item.item_id, "quantity": _int(raw)}
                for item in f.items
                if (raw := str(form.get(f"{f.name}.{item.item_id}", "")).strip()) and raw != "0"
            ]
            if lines:
                inputs[f.name] = lines
            continue
        if f.type == "sku_quantities":
            rows = []
            for index in range(f.sku_rows):
                sku = str(form.get(f"{f.name}.{index}.sku", "")).strip()
                quantity = str(form.get(f"{f.name}.{index}.quantity", "")).strip()
                if sku:
                    rows.append({"sku": sku, "quantity": _int(quantity or "1")})
            if rows:
                inputs[f.name] = rows
            continue
        if f.type == "bool":
            # An unchecked box sends nothing: false, not "missing".
            inputs[f.name] = form.get(f.name) in ("on", "true", "1")
            continue
        raw = str(form.get(f.name, "")).strip()
        if raw == "":
            continue
        inputs[f.name] = _int(raw) if f.type == "int" else raw
    return inputs

"""What a flow compiles against: the actions, events and callable flows the engine offers.

The language knows nothing of orders; the engine builds a ``Catalog`` from its registry and hands it in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INPUT_TYPES: frozenset[str] = frozenset(
    {"text", "int", "decimal", "money", "bool", "date", "item_quantities", "sku_quantities"}
)
# Action parameters may also take whole records, lists, or anything at all.
PARAM_TYPES: frozenset[str] = INPUT_TYPES | {"record", "list", "any"}


@dataclass
class ParamSpec:
    name: str
    type: str
    required: bool = True


@dataclass
class ActionSpec:
    name: str
    params: dict[str, ParamSpec] = field(default_factory=dict)
    # None means the result's fields are not known, so reads from it are not checked.
    result_fields: frozenset[str] | None = None


@dataclass
class EventSpec:
    name: str
    payload_fields: frozenset[str] = frozenset()


@dataclass
class Catalog:
    actions: dict[str, ActionSpec] = field(default_factory=dict)
    events: dict[str, EventSpec] = field(default_factory=dict)
    # Ids that `call` may name besides the flows of the same source; None means "do not check".
    flows: frozenset[str] | None = None

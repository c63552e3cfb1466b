"""Routing: choose where each unit ships from, and reserve it so no other order can take it.

Availability is on hand - reserved - safety stock. Reservations are made with a conditional UPDATE
(``... WHERE on_hand - reserved - safety_stock >= :q``) whose row count says whether the units were
still there, which is race-free on SQLite (one writer) and on PostgreSQL (the row lock makes a second
writer re-check the condition after the first commits). Routing is all-or-nothing: if any unit cannot
be placed, nothing stays reserved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from math import comb
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from engine.db.plain_load import RecordQuery
from engine.db.plain_sql import execute_write
from orders import reference
from orders.errors import QuantityError
from orders.models import (
    DeliveryMethod,
    InventoryLevel,
    Location,
    OrderItemSummary,
    OrderSummary,
    Reservation,
)
from orders.writes import write_pending

LEVELS = cast(Table, InventoryLevel.__table__)
Strategy = Literal["fewest_splits", "priority"]
STRATEGIES = ("fewest_splits", "priority")
# How much the search for the fewest locations may do: sets of locations tried times the order's SKUs
# (about a microsecond each, so a few tens of milliseconds at most, inside the order's transaction).
COVER_SEARCH_BUDGET = 50_000
RACE_RETRIES = 3


@dataclass
class RoutingResult:
    allocations: list[dict[str, Any]] = field(default_factory=list)
    unallocated_quantity: int = 0
    reservations: list[Reservation] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"allocations": self.allocations, "unallocated_quantity": self.unallocated_quantity}


@dataclass
class _Demand:
    item: OrderItemSummary
    quantity: int
    method: DeliveryMethod
    store: Location | None  # the pickup store, for pickup lines


@dataclass
class _Stock:
    level_id: str
    location: Location
    available: int


def _demands(
    session: Session, summary: OrderSummary, lines: Sequence[tuple[str, int]] | None, reship: bool
) -> list[_Demand]:
    items = {item.id: item for item in summary.items}
    default_method = (
        session.get(DeliveryMethod, summary.delivery_method_id) if summary.delivery_method_id else None
    )
    wanted: list[tuple[OrderItemSummary, int]] = []
    if lines is None:
        wanted = [(item, item.quantity_available_to_fulfill) for item in summary.items]
    else:
        merged: dict[str, int] = {}
        for item_id, quantity in lines:
            if item_id not in items:
                raise QuantityError(f"order {summary.order_number} has no item {item_id}")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                raise QuantityError(f"item {item_id}: a quantity is a whole number > 0, not {quantity!r}")
            merged[item_id] = merged.get(item_id, 0) + quantity
        wanted = [(items[item_id], quantity) for item_id, quantity in merged.items()]
    demands = []
    for item, quantity in wanted:
        if quantity <= 0:
            continue
        limit = item.quantity_available_to_reship if reship else item.quantity_available_to_fulfill
        if quantity > limit:
            verb = "reship" if reship else "route"
            raise QuantityError(f"item {item.sku} ({item.id}): cannot {verb} {quantity}: only {limit} can be")
        method = item.delivery_method or default_method
        if method is None:
            raise QuantityError(f"item {item.sku} ({item.id}) has no delivery method")
        store = item.pickup_location if method.is_pickup else None
        if method.is_pickup and store is None:
            raise QuantityError(f"item {item.sku} ({item.id}) is for pickup but names no store")
        demands.append(_Demand(item, quantity, method, store))
    return demands


# Built once: the statements of the routing's hot path.
_ALL_LOCATIONS = RecordQuery(Location)
_LEVELS_OF = select(
    LEVELS.c.id,
    LEVELS.c.sku,
    LEVELS.c.location_id,
    LEVELS.c.on_hand,
    LEVELS.c.reserved,
    LEVELS.c.safety_stock,
).where(LEVELS.c.sku.in_(bindparam("b_skus", expanding=True)))
_RESERVE = (
    update(LEVELS)
    .where(
        LEVELS.c.id == bindparam("b_id"),
        LEVELS.c.on_hand - LEVELS.c.reserved - LEVELS.c.safety_stock >= bindparam("b_k"),
    )
    .values(reserved=LEVELS.c.reserved + bindparam("b_k"), version=LEVELS.c.version + 1)
)
_UNRESERVE = (
    update(LEVELS)
    .where(LEVELS.c.id == bindparam("b_id"))
    .values(reserved=LEVELS.c.reserved - bindparam("b_k"), version=LEVELS.c.version + 1)
)


def _stock(session: Session, skus: set[str], locations: dict[str, Location]) -> dict[str, dict[str, _Stock]]:
    """Fresh availability by SKU and location id (read past the session's cache)."""
    rows = session.connection().execute(_LEVELS_OF, {"b_skus": sorted(skus)}).all()
    stock: dict[str, dict[str, _Stock]] = {}
    for level_id, sku, location_id, on_hand, reserved, safety in rows:
        available = max(on_hand - reserved - safety, 0)
        location = locations.get(location_id) or session.get(Location, location_id)
        assert location is not None  # a level's location_id is a foreign key
        locations[location_id] = location
        stock.setdefault(sku, {})[location_id] = _Stock(level_id, location, available)
    return stock


def _loc_key(location: Location) -> tuple[int, str]:
    return (location.priority, location.code)


def _choose_locations(
    demand: dict[str, int], left: dict[str, dict[str, int]], candidates: list[Location]
) -> list[Location]:
    """The fewest candidates that together hold ``demand`` (units by SKU) out of ``left`` (units by SKU
    and location id); ties to lower priorities, then to the locations holding more of it.

    Exact while the search costs at most ``COVER_SEARCH_BUDGET`` (sets of locations tried times the
    order's SKUs: any cover of up to three out of 40 locations holding some of an order of four SKUs,
    or of two out of 140 for five); beyond that, a greedy cover (the location adding the most units first)."""
    skus = list(demand)
    wanted = [demand[sku] for sku in skus]
    # What each location can give of each SKU, capped at the demand: its share of a cover.
    gives = {
        loc.id: [min(left.get(sku, {}).get(loc.id, 0), need) for sku, need in zip(skus, wanted, strict=True)]
        for loc in candidates
    }
    useful = [loc for loc in candidates if any(gives[loc.id])]

    def covers(locs: Sequence[Location]) -> bool:
        return all(sum(gives[loc.id][index] for loc in locs) >= need for index, need in enumerate(wanted))

    def key(locs: Sequence[Location]) -> tuple[tuple[int, ...], int, tuple[str, ...]]:
        return (
            tuple(sorted(loc.priority for loc in locs)),
            -sum(sum(gives[loc.id]) for loc in locs),
            tuple(sorted(loc.code for loc in locs)),
        )

    def in_order(locs: Sequence[Location]) -> list[Location]:
        return sorted(locs, key=lambda loc: (loc.priority, -sum(gives[loc.id]), loc.code))

    # Greedy first: what each location would add to what is still missing.
    missing = list(wanted)
    picked: list[Location] = []
    while any(missing):
        rest = [loc for loc in useful if loc not in picked]
        gain = {loc.id: sum(map(min, gives[loc.id], missing)) for loc in rest}
        best_next = min(rest, key=lambda loc: (-gain[loc.id], loc.priority, loc.code), default=None)
        if best_next is None or gain[best_next.id] == 0:
            return in_order(picked)  # no cover at all: the caller finds the units it cannot place
        picked.append(best_next)
        missing = [max(need - give, 0) for need, give in zip(missing, gives[best_next.id], strict=True)]
    # The greedy cover bounds the search: only smaller ones, or better ones of its size, can beat it.
    spent = 0
    for size in range(1, len(picked) + 1):
        spent += comb(len(useful), size) * len(skus)
        if spent > COVER_SEARCH_BUDGET:
            break
        best: tuple[Location, ...] | None = None
        for combo in combinations(useful, size):
            if covers(combo) and (best is None or key(combo) < key(best)):
                best = combo
        if best is not None:
            return in_order(best)
    return in_order(picked)


def _plan(
    demands: list[_Demand], stock: dict[str, dict[str, _Stock]], strategy: str, ship_from: list[Location]
) -> tuple[list[tuple[_Demand, _Stock, int]], int]:
    """Which level gives how many units of which demand, and how many units found no place."""
    left = {sku: {loc_id: s.available for loc_id, s in by_loc.items()} for sku, by_loc in stock.items()}
    plan: list[tuple[_Demand, _Stock, int]] = []
    unallocated = 0

    def take(d: _Demand, order: list[Location]) -> int:
        remaining = d.quantity
        # A location that can fill the whole line first, so a line splits only when it must.
        whole = [loc for loc in order if left.get(d.item.sku, {}).get(loc.id, 0) >= remaining]
        for loc in whole[:1] + [loc for loc in order if loc not in whole[:1]]:
            if remaining == 0:
                break
            have = left.get(d.item.sku, {}).get(loc.id, 0)
            k = min(have, remaining)
            if k > 0:
                left[d.item.sku][loc.id] -= k
                plan.append((d, stock[d.item.sku][loc.id], k))
                remaining -= k
        return remaining

    ship = [d for d in demands if d.store is None]
    for d in demands:
        if d.store is not None:
            unallocated += take(d, [d.store])
    if strategy == "priority":
        order = sorted(ship_from, key=_loc_key)
        for d in ship:
            # Pure priority: fill from the lowest priority number, splitting as needed.
            remaining = d.quantity
            for loc in order:
                have = left.get(d.item.sku, {}).get(loc.id, 0)
                k = min(have, remaining)
                if k > 0:
                    left[d.item.sku][loc.id] -= k
                    plan.append((d, stock[d.item.sku][loc.id], k))
                    remaining -= k
            unallocated += remaining
    else:
        demand: dict[str, int] = {}
        for d in ship:
            demand[d.item.sku] = demand.get(d.item.sku, 0) + d.quantity
        # Out of what the pickup lines left: a store that ships may have given its units to them.
        chosen = _choose_locations(demand, left, ship_from) if demand else []
        for d in ship:
            unallocated += take(d, chosen)
    return plan, unallocated


def _reserve(session: Session, plan: list[tuple[_Demand, _Stock, int]]) -> bool:
    """Reserve every planned unit with conditional UPDATEs, in level-id order; undo all if one misses."""
    per_level: dict[str, int] = {}
    for _, s, k in plan:
        per_level[s.level_id] = per_level.get(s.level_id, 0) + k
    done: list[tuple[str, int]] = []
    conn = session.connection()
    for level_id in sorted(per_level):
        k = per_level[level_id]
        result = execute_write(conn, _RESERVE, {"b_id": level_id, "b_k": k})
        if result.rowcount != 1:
            for undo_id, undo_k in done:
                execute_write(conn, _UNRESERVE, {"b_id": undo_id, "b_k": undo_k})
            _expire_levels(session, [level_id for level_id, _ in done])
            return False
        done.append((level_id, k))
    _expire_levels(session, list(per_level))
    return True


def _expire_levels(session: Session, level_ids: list[str]) -> None:
    for level_id in level_ids:
        obj = session.identity_map.get(identity_key(InventoryLevel, level_id))
        if obj is not None:
            session.expire(obj)


def route_order(
    session: Session,
    summary: OrderSummary,
    *,
    strategy: str = "fewest_splits",
    lines: Sequence[tuple[str, int]] | None = None,
    reship: bool | None = None,
) -> RoutingResult:
    """Place and reserve the order's unrouted units (or ``lines``: ``(item_id, quantity)`` pairs).

    ``reship`` (default: whether ``lines`` was given) moves the reshipment buckets instead of
    ``allocated``. With units left over, nothing is reserved and ``unallocated_quantity`` says how many.
    """
    if strategy not in STRATEGIES:
        raise QuantityError(f"unknown routing strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    is_reship = lines is not None if reship is None else reship
    demands = _demands(session, summary, lines, is_reship)
    if not demands:
        return RoutingResult()
    locations = {loc.id: loc for loc in _ALL_LOCATIONS.all(session, {})}
    reference.remember(session, locations.values())
    ship_from = sorted((loc for loc in locations.values() if loc.ships), key=_loc_key)
    skus = {d.item.sku for d in demands}
    for _attempt in range(RACE_RETRIES):
        plan, unallocated = _plan(demands, _stock(session, skus, locations), strategy, ship_from)
        if unallocated:
            return RoutingResult(unallocated_quantity=unallocated)
        if _reserve(session, plan):
            break
    else:
        # Others kept taking the stock we planned on; what is left is not enough for this order.
        plan, unallocated = _plan(demands, _stock(session, skus, locations), strategy, ship_from)
        return RoutingResult(unallocated_quantity=max(unallocated, 1))

    result = RoutingResult()
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for d, s, k in plan:
        if is_reship:
            d.item.allocate_reship(k)
        else:
            d.item.allocate(k)
        reservation = Reservation(
            item=d.item,
            order_item_summary_id=d.item.id,
            location=s.location,
            location_id=s.location.id,
            sku=d.item.sku,
            quantity=k,
        )
        session.add(reservation)
        result.reservations.append(reservation)
        group = groups.setdefault(
            (s.location.code, d.method.code),
            {"location": s.location.code, "delivery_method": d.method.code, "lines": []},
        )
        group["lines"].append({"item_id": d.item.id, "sku": d.item.sku, "quantity": k})
    result.allocations = list(groups.values())
    write_pending(session)
    return result

"""Ordering each layer of a ``LayeredGraph`` to cut edge crossings: barycenter sweeps and transposes."""

from __future__ import annotations

from dsl.layout_graph import ORDER_SWEEPS, LayeredGraph


def _initial_order(g: LayeredGraph, start: int) -> list[list[int]]:
    """Layers in depth-first order from the start, children in the order their edges were given,
    which for a flow is source order: a sensible first guess that the sweeps then improve."""
    rows: list[list[int]] = [[] for _ in range(max(g.layer, default=0) + 1)]
    seen = [False] * len(g.name)
    for root in [start, *range(len(g.name))]:
        if seen[root]:
            continue
        stack = [root]
        while stack:
            v = stack.pop()
            if seen[v]:
                continue
            seen[v] = True
            rows[g.layer[v]].append(v)
            stack.extend(reversed([w for w in g.down[v] if not seen[w]]))
    return rows


def _pair_crossings(g: LayeredGraph, upper: list[int], pos: list[int]) -> int:
    ends = sorted((pos[u], pos[v]) for u in upper for v in g.down[u])
    lows = [v for _, v in ends]
    return sum(1 for i, a in enumerate(lows) for b in lows[i + 1 :] if b < a)


def _crossings(g: LayeredGraph, rows: list[list[int]], pos: list[int]) -> int:
    return sum(_pair_crossings(g, row, pos) for row in rows[:-1])


def _swap_gain(g: LayeredGraph, u: int, v: int, pos: list[int]) -> int:
    """How many crossings putting ``v`` before ``u`` (adjacent, ``u`` first) saves."""
    gain = 0
    for side in (g.up, g.down):
        for a in side[u]:
            for b in side[v]:
                gain += (pos[a] > pos[b]) - (pos[a] < pos[b])
    return gain


def order_layers(g: LayeredGraph, start: int) -> list[list[int]]:
    rows = _initial_order(g, start)
    pos = [0] * len(g.name)

    def index(row: list[int]) -> None:
        for i, v in enumerate(row):
            pos[v] = i

    for row in rows:
        index(row)
    best = [list(r) for r in rows]
    best_count = _crossings(g, rows, pos)
    for sweep in range(ORDER_SWEEPS):
        if best_count == 0:
            break
        downward = sweep % 2 == 0
        span = range(1, len(rows)) if downward else range(len(rows) - 2, -1, -1)
        for k in span:
            row = rows[k]
            sides = g.up if downward else g.down
            # Stable: ties keep their current order; nothing to look at means staying where it is.
            keys = {
                v: sum(pos[w] for w in sides[v]) / len(sides[v]) if sides[v] else float(pos[v]) for v in row
            }
            row.sort(key=keys.__getitem__)
            index(row)
        # Transpose: swap neighbours while that removes crossings (bounded, each pass must gain).
        for _ in range(4):
            improved = False
            for row in rows:
                for i in range(len(row) - 1):
                    if _swap_gain(g, row[i], row[i + 1], pos) > 0:
                        row[i], row[i + 1] = row[i + 1], row[i]
                        index(row)
                        improved = True
            if not improved:
                break
        count = _crossings(g, rows, pos)
        if count < best_count:
            best, best_count = [list(r) for r in rows], count
    return best

"""Horizontal positions for the ordered layers of a ``LayeredGraph``: four one-way alignments, balanced,
then polished so forks and joins are centred and long edges run straight."""

from __future__ import annotations

import itertools

from dsl.layout_graph import LANE_GAP, MARGIN, NODE_GAP, PLACE_SWEEPS, LayeredGraph


def _separation(g: LayeredGraph, a: int, b: int) -> float:
    """The least distance between the centres of ``a`` and its right-hand neighbour ``b``."""
    both_real = g.name[a] is not None and g.name[b] is not None
    return (g.width[a] + g.width[b]) / 2 + g.extra[a] + (NODE_GAP if both_real else LANE_GAP)


def _fit_row(g: LayeredGraph, row: list[int], want: list[float], weight: list[float]) -> list[float]:
    """Centres for ``row`` as near ``want`` as the separations allow, in the least-squares sense.

    Subtracting each vertex's least offset from the first turns "keep apart" into "keep in order",
    and the weighted least-squares fit under an order constraint is an isotonic regression, solved
    exactly by pooling adjacent violators."""
    offset = [0.0]
    for a, b in itertools.pairwise(row):
        offset.append(offset[-1] + _separation(g, a, b))
    blocks: list[list[float]] = []  # [weight, weighted sum, count]
    for i in range(len(row)):
        w = max(weight[i], 1e-6)
        blocks.append([w, w * (want[i] - offset[i]), 1.0])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][0] > blocks[-1][1] / blocks[-1][0]:
            w2, s2, n2 = blocks.pop()
            blocks[-1][0] += w2
            blocks[-1][1] += s2
            blocks[-1][2] += n2
    out: list[float] = []
    for w, s, n in blocks:
        out.extend([s / w] * int(n))
    return [q + off for q, off in zip(out, offset, strict=True)]


def _conflicts(g: LayeredGraph, rows: list[list[int]]) -> set[tuple[int, int]]:
    """Links that cross the inner stretch (dummy to dummy) of a long edge. Those are never used to
    line things up, so long edges get to run straight and the short links bend around them."""
    pos = {v: i for row in rows for i, v in enumerate(row)}
    marked: set[tuple[int, int]] = set()
    for row in rows[:-1]:
        links = [(u, v) for u in row for v in g.down[u]]
        inner = [(u, v) for u, v in links if g.name[u] is None and g.name[v] is None]
        for a, b in inner:
            for c, d in links:
                if (pos[a] - pos[c]) * (pos[b] - pos[d]) < 0 and (
                    g.name[c] is not None or g.name[d] is not None
                ):
                    marked.add((c, d))
    return marked


def _one_way(
    g: LayeredGraph, rows: list[list[int]], marked: set[tuple[int, int]], down: bool, left: bool
) -> list[float]:
    """One of the four placements of Brandes and Köpf's method: line each vertex up with the median
    of its neighbours in the row before (rows taken top-down or bottom-up, each row left-to-right
    or right-to-left), then push the resulting vertical blocks as far to that side as they go."""
    ordered = [row if left else row[::-1] for row in (rows if down else rows[::-1])]
    near = g.up if down else g.down
    pos = {v: i for row in ordered for i, v in enumerate(row)}
    root = list(range(len(g.name)))
    align = list(range(len(g.name)))
    for row in ordered[1:]:
        reach = -1
        for v in row:
            ups = sorted(near[v], key=pos.__getitem__)
            if not ups:
                continue
            middle = (len(ups) - 1) / 2
            for m in sorted({int(middle), int(middle + 0.5)}):
                u = ups[m]
                link = (u, v) if down else (v, u)
                if align[v] == v and link not in marked and reach < pos[u]:
                    align[u] = v
                    root[v] = root[u]
                    align[v] = root[v]
                    reach = pos[u]
    # Blocks side by side: each must sit at least the separation right of its left neighbour's.
    # The block graph is acyclic (alignments never cross), so a longest-path pass places them.
    after: dict[int, dict[int, float]] = {}
    indegree: dict[int, int] = {}
    for row in ordered:
        for a, b in itertools.pairwise(row):
            gap = _separation(g, a, b) if left else _separation(g, b, a)
            ra, rb = root[a], root[b]
            if gap > after.setdefault(ra, {}).get(rb, -1.0):
                if rb not in after[ra]:
                    indegree[rb] = indegree.get(rb, 0) + 1
                after[ra][rb] = gap
    blocks = [v for v in range(len(g.name)) if root[v] == v]
    at = dict.fromkeys(blocks, 0.0)
    ready = [b for b in blocks if not indegree.get(b)]
    while ready:
        b = ready.pop()
        for c, gap in after.get(b, {}).items():
            at[c] = max(at[c], at[b] + gap)
            indegree[c] -= 1
            if not indegree[c]:
                ready.append(c)
    return [at[root[v]] if left else -at[root[v]] for v in range(len(g.name))]


def _polish(g: LayeredGraph, rows: list[list[int]], x: list[float]) -> None:
    """Moves each row in turn to where its links pull it hardest, given both neighbouring rows.

    Each step is the exact least-squares optimum for one row under the separations, so the total
    pull only ever drops; starting from the median placement this centres forks over their branches
    and joins under theirs, which medians alone leave lopsided."""
    for sweep in range(PLACE_SWEEPS):
        moved = 0.0
        for row in rows if sweep % 2 == 0 else rows[::-1]:
            want, weight = [], []
            for v in row:
                total = sum(g.up[v].values()) + sum(g.down[v].values())
                pulled = sum(p * x[w] for side in (g.up, g.down) for w, p in side[v].items())
                want.append(pulled / total if total else x[v])
                weight.append(total or 1e-3)  # nothing pulls it: barely resist staying put
            for v, at in zip(row, _fit_row(g, row, want, weight), strict=True):
                moved = max(moved, abs(at - x[v]))
                x[v] = at
        if moved < 0.5:
            break


def _straighten(g: LayeredGraph, rows: list[list[int]], x: list[float]) -> None:
    """Lines up each run of dummies (a long edge, a trunk) on one x where its neighbours leave room,
    so a long edge is a few straight stretches rather than a line wobbling a pixel or two per layer.
    A run that cannot be straight all the way is split where the room runs out."""
    index = {v: i for row in rows for i, v in enumerate(row)}
    row_of = {v: row for row in rows for v in row}

    def room(v: int) -> tuple[float, float]:
        row, i = row_of[v], index[v]
        low = x[row[i - 1]] + _separation(g, row[i - 1], v) if i else float("-inf")
        high = x[row[i + 1]] - _separation(g, v, row[i + 1]) if i + 1 < len(row) else float("inf")
        return low, high

    done = [False] * len(g.name)
    for row in rows:
        for v in row:
            if g.name[v] is not None or done[v]:
                continue
            run = [v]  # follow the dummy chain down while it stays a single line of dummies
            while len(g.down[run[-1]]) == 1 and g.name[w := next(iter(g.down[run[-1]]))] is None:
                run.append(w)
            for d in run:
                done[d] = True
            start = 0
            while start < len(run):
                low, high, end = float("-inf"), float("inf"), start
                while end < len(run):
                    a, b = room(run[end])
                    if max(low, a) > min(high, b):
                        break
                    low, high, end = max(low, a), min(high, b), end + 1
                end = max(end, start + 1)
                piece = run[start:end]
                middle = sorted(x[d] for d in piece)[len(piece) // 2]
                for d in piece:
                    x[d] = min(max(middle, low), high) if low <= high else x[d]
                start = end


def place(g: LayeredGraph, rows: list[list[int]]) -> list[float]:
    """Centres for every vertex: the four one-way placements, aligned on the narrowest of them,
    averaged at each vertex over the middle two. That average keeps every separation (each one
    holds in all four, so in their order statistics too) and balances the four leanings out."""
    marked = _conflicts(g, rows)
    ways = [(down, left) for down in (True, False) for left in (True, False)]
    xs = [_one_way(g, rows, marked, down, left) for down, left in ways]
    n = range(len(g.name))
    lows = [min((x[v] - g.width[v] / 2 for v in n), default=0.0) for x in xs]
    highs = [max((x[v] + g.width[v] / 2 + g.extra[v] for v in n), default=0.0) for x in xs]
    best = min(range(4), key=lambda k: highs[k] - lows[k])
    shift = [lows[best] - lows[k] if ways[k][1] else highs[best] - highs[k] for k in range(4)]
    x = []
    for v in n:
        four = sorted(xs[k][v] + shift[k] for k in range(4))
        x.append((four[1] + four[2]) / 2)
    _polish(g, rows, x)
    _straighten(g, rows, x)
    left = min((x[v] - g.width[v] / 2 for v in n), default=0.0)
    return [at - left + MARGIN for at in x]

"""Small bar charts drawn as plain SVG on the server: no chart library, no script in the page.

Every label is user or flow data (statuses are free text set by flows), so each one is escaped here;
the result is the one place the console marks HTML built outside a template as safe.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 420
BAR_GAP = 4
ROW = 22
LABEL_W = 130


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def column_chart(points: Sequence[tuple[str, int]], *, title: str, height: int = 140) -> Markup:
    """Vertical bars, one per point (for a time series: orders per day); labels under every other bar."""
    top = max((count for _, count in points), default=0) or 1
    plot_h = height - 34
    step = (WIDTH - 10) / max(len(points), 1)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for index, (label, count) in enumerate(points):
        bar_h = plot_h * count / top
        x = 5 + index * step
        y = 14 + plot_h - bar_h
        parts.append(
            f'<rect class="bar" x="{_num(x)}" y="{_num(y)}" width="{_num(step - BAR_GAP)}"'
            f' height="{_num(bar_h)}"><title>{escape(label)}: {count}</title></rect>'
        )
        if count:
            parts.append(
                f'<text class="val" x="{_num(x + (step - BAR_GAP) / 2)}" y="{_num(y - 2)}"'
                f' text-anchor="middle">{count}</text>'
            )
        if index % 2 == 0 or len(points) <= 8:
            parts.append(
                f'<text class="lbl" x="{_num(x + (step - BAR_GAP) / 2)}" y="{height - 6}"'
                f' text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(points: Sequence[tuple[str, int]], *, title: str) -> Markup:
    """Horizontal bars with their label on the left (for categories: orders by status)."""
    top = max((count for _, count in points), default=0) or 1
    height = max(len(points), 1) * ROW + 8
    plot_w = WIDTH - LABEL_W - 50
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for index, (label, count) in enumerate(points):
        y = 4 + index * ROW
        width = plot_w * count / top
        parts.append(
            f'<text class="lbl" x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar" x="{LABEL_W}" y="{y + 3}" width="{_num(max(width, 1))}" height="{ROW - 6}">'
            f"<title>{escape(label)}: {count}</title></rect>"
            f'<text class="val" x="{_num(LABEL_W + max(width, 1) + 4)}" y="{y + 15}">{count}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))

"""The console's order search: the shared search (``api.search``) with rows formatted for the page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from api.problems import Problem
from api.search import PAGE, Filters, search_summaries
from api.summaries import brief
from orders.models import OrderSummary

__all__ = ["Filters", "Page", "search"]


@dataclass
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None


def search(session: Session, filters: Filters, limit: int = PAGE) -> Page:
    try:
        found = search_summaries(session, filters, limit)
    except Problem:
        # A page link from before a restart or an edit: start over rather than show an error page.
        filters.problems.append("That page link has expired; showing the first page.")
        filters.cursor = ""
        found = search_summaries(session, filters, limit)
    return Page([_row(summary) for summary in found.summaries], found.next_cursor)


def _row(summary: OrderSummary) -> dict[str, Any]:
    row = brief(summary)  # (its money already in the currency's places)
    row["created_at"] = summary.created_at
    return row

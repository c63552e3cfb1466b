"""The exceptions queue's query: filters by category, status and assignee, with each order's open count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.summaries import exception_view
from designer.views import order_numbers
from engine.models import ProcessException
from engine.models.exception import ACTIVE_STATUSES, NEW, RESOLVED, TRIAGED, VOIDED

LIMIT = 200
STATUSES = ("open", NEW, TRIAGED, RESOLVED, VOIDED, "all")


@dataclass
class QueueFilters:
    category: str = ""
    status: str = "open"
    assignee: str = ""

    @classmethod
    def parse(cls, params: Any) -> QueueFilters:
        status = str(params.get("status", "open"))
        return cls(
            category=str(params.get("category", "")).strip()[:40],
            status=status if status in STATUSES else "open",
            assignee=str(params.get("assignee", "")).strip()[:120],
        )

    def query_string(self) -> str:
        return urlencode({k: v for k, v in vars(self).items() if v})


def queue(session: Session, filters: QueueFilters) -> dict[str, Any]:
    query = select(ProcessException).order_by(ProcessException.created_at.desc()).limit(LIMIT)
    if filters.status == "open":
        query = query.where(ProcessException.status.in_(ACTIVE_STATUSES))
    elif filters.status != "all":
        query = query.where(ProcessException.status == filters.status)
    if filters.category:
        query = query.where(ProcessException.category == filters.category)
    if filters.assignee == "-":
        query = query.where(ProcessException.assignee.is_(None))
    elif filters.assignee:
        query = query.where(ProcessException.assignee == filters.assignee)
    rows = session.scalars(query).all()
    subjects = {e.subject_id for e in rows if e.subject_id}
    open_counts: dict[str, int] = {}
    if subjects:
        open_counts = {
            str(s): int(n)
            for s, n in session.execute(
                select(ProcessException.subject_id, func.count())
                .where(
                    ProcessException.subject_id.in_(subjects), ProcessException.status.in_(ACTIVE_STATUSES)
                )
                .group_by(ProcessException.subject_id)
            )
        }
    categories = session.scalars(
        select(ProcessException.category).distinct().order_by(ProcessException.category)
    )
    assignees = session.scalars(
        select(ProcessException.assignee).where(ProcessException.assignee.is_not(None)).distinct()
    )
    return {
        "filters": filters,
        "exceptions": [
            exception_view(e) | {"retryable": e.retry_node is not None, "at": e.created_at} for e in rows
        ],
        "numbers": order_numbers(session, subjects),
        "open_counts": open_counts,
        "categories": list(categories),
        "assignees": sorted(a for a in assignees if a),
        "statuses": STATUSES,
        "active": ACTIVE_STATUSES,
    }

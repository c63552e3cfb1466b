"""Order search, shared by the API and the console: filters, and a keyset cursor over (created_at, id).

Each filter is written so an index can answer it on 100,000 orders (the indexes are declared on the models):
an email is matched exactly, an order number (text with a digit and no space) by prefix range, a SKU
through the item index; only a name fragment scans, and then along the ``created_at`` index so a full
page stops the scan early (a fragment that matches few orders scans them all: trigram or full-text
indexes are the next step if that matters).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from api.problems import Problem
from engine.models import ProcessException
from engine.models.exception import ACTIVE_STATUSES
from orders.models import OrderItemSummary, OrderSummary, ReturnOrder
from orders.models.enums import ReturnStatus

PAGE = 25
# Above every character an order number uses: ``number >= q and number < q + TOP`` is a prefix match
# that a plain b-tree index answers on both databases (LIKE 'q%' uses it only under some collations).
TOP = "\uffff"


def encode_cursor(created_at: datetime, summary_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), summary_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, summary_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(created), str(summary_id)
    except (ValueError, TypeError) as exc:
        raise Problem(422, "Invalid cursor", "The cursor is not one this API gave out.") from exc


@dataclass
class Filters:
    q: str = ""
    sku: str = ""
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    has_exceptions: str = ""  # "", "yes", "no"
    returns: str = ""  # "", "awaiting"
    cursor: str = ""
    problems: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, params: Any) -> Filters:
        found = cls(
            q=str(params.get("q", "")).strip()[:200],
            sku=str(params.get("sku", "")).strip()[:100],
            status=str(params.get("status", "")).strip()[:32],
            has_exceptions=str(params.get("has_exceptions", "")),
            returns=str(params.get("returns", "")),
            cursor=str(params.get("cursor", ""))[:400],
        )
        for name in ("from", "to"):
            raw = str(params.get(name, "")).strip()
            if not raw:
                continue
            try:
                setattr(found, f"date_{name}", date.fromisoformat(raw))
            except ValueError:
                found.problems.append(f"'{raw}' is not a date (YYYY-MM-DD); the {name} filter was ignored.")
        return found

    def query_string(self, **override: str) -> str:
        values = {
            "q": self.q,
            "sku": self.sku,
            "status": self.status,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "has_exceptions": self.has_exceptions,
            "returns": self.returns,
        }
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v})

    @property
    def active(self) -> bool:
        return bool(self.query_string())


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _text_filter(q: str) -> Any:
    if "@" in q:
        # Emails are stored as given; people type them in any case.
        return OrderSummary.customer_email.in_({q, q.lower()})
    if any(c.isdigit() for c in q) and " " not in q:
        # An order number (or its start): the unique index answers it. Not OR-ed with the name match,
        # which would make every such search scan the table.
        return and_(OrderSummary.order_number >= q, OrderSummary.order_number < q + TOP)
    return or_(OrderSummary.order_number == q, OrderSummary.customer_name.ilike(f"%{q}%"))


def build_query(filters: Filters) -> Select[OrderSummary]:
    query = select(OrderSummary)
    if filters.q:
        query = query.where(_text_filter(filters.q))
    if filters.status:
        query = query.where(OrderSummary.status == filters.status)
    if filters.sku:
        items = select(OrderItemSummary.order_summary_id).where(OrderItemSummary.sku == filters.sku)
        query = query.where(OrderSummary.id.in_(items))
    if filters.date_from:
        query = query.where(OrderSummary.created_at >= _day_start(filters.date_from))
    if filters.date_to:
        query = query.where(OrderSummary.created_at < _day_start(filters.date_to + timedelta(days=1)))
    if filters.has_exceptions in ("yes", "no"):
        active = exists().where(
            ProcessException.subject_id == OrderSummary.id, ProcessException.status.in_(ACTIVE_STATUSES)
        )
        query = query.where(active if filters.has_exceptions == "yes" else ~active)
    if filters.returns == "awaiting":
        waiting = select(ReturnOrder.order_summary_id).where(ReturnOrder.status == ReturnStatus.SUBMITTED)
        query = query.where(OrderSummary.id.in_(waiting))
    return query


@dataclass
class Page:
    summaries: list[OrderSummary]
    next_cursor: str | None


def search_summaries(session: Session, filters: Filters, limit: int = PAGE) -> Page:
    query = build_query(filters)
    if filters.cursor:
        created, last_id = decode_cursor(filters.cursor)
        query = query.where(
            or_(
                OrderSummary.created_at < created,
                and_(OrderSummary.created_at == created, OrderSummary.id < last_id),
            )
        )
    found = session.scalars(
        query.order_by(OrderSummary.created_at.desc(), OrderSummary.id.desc()).limit(limit + 1)
    ).all()
    page = list(found[:limit])
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(found) > limit else None
    return Page(page, next_cursor)

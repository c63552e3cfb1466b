"""The dashboard's action items and charts: a handful of grouped counts, each backed by an index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import Session

from designer.console.charts import bar_chart, column_chart
from engine.models import ProcessException, Task
from engine.models.exception import ACTIVE_STATUSES
from engine.models.task import OPEN
from orders.models import FulfillmentOrder, FulfillmentStatus, OrderSummary, ReturnOrder
from orders.models.enums import ReturnStatus

OPEN_FULFILLMENT = (
    FulfillmentStatus.DRAFT,
    FulfillmentStatus.ALLOCATED,
    FulfillmentStatus.ASSIGNED,
    FulfillmentStatus.PICKED,
    FulfillmentStatus.PACKED,
)
DEFAULT_STUCK_HOURS = 24
CHART_DAYS = 14


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    count: int
    href: str
    hint: str = ""


@dataclass(frozen=True)
class CategoryRow:
    category: str
    total: int
    last_hour: int
    last_day: int
    older: int

    @property
    def href(self) -> str:
        return "/ui/exceptions?" + urlencode({"category": self.category})


def exceptions_by_category(session: Session, now: datetime) -> list[CategoryRow]:
    """Open exceptions per category, split by age: under an hour, under a day, older."""
    hour, day = now - timedelta(hours=1), now - timedelta(days=1)
    created = ProcessException.created_at
    rows = session.execute(
        select(
            ProcessException.category,
            func.count(),
            func.sum(case((created >= hour, 1), else_=0)),
            func.sum(case((created >= day, 1), else_=0)),
        )
        .where(ProcessException.status.in_(ACTIVE_STATUSES))
        .group_by(ProcessException.category)
        .order_by(ProcessException.category)
    ).all()
    return [
        CategoryRow(str(cat), int(total), int(h or 0), int(d or 0) - int(h or 0), int(total) - int(d or 0))
        for cat, total, h, d in rows
    ]


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(query) or 0)


def tiles(session: Session, now: datetime, stuck_hours: int, categories: list[CategoryRow]) -> list[Tile]:
    # Open approval tasks, not summaries in "Pending Approval": a flow may leave that status set after
    # the decision, while the task is exactly what still waits for a manager.
    approvals = _count(
        session,
        select(func.count()).select_from(Task).where(Task.status == OPEN, Task.kind == "approval"),
    )
    open_tasks = _count(session, select(func.count()).select_from(Task).where(Task.status == OPEN))
    stuck = _count(
        session,
        select(func.count())
        .select_from(FulfillmentOrder)
        .where(
            FulfillmentOrder.status.in_(OPEN_FULFILLMENT),
            FulfillmentOrder.updated_at < now - timedelta(hours=stuck_hours),
        ),
    )
    returns = _count(
        session,
        select(func.count()).select_from(ReturnOrder).where(ReturnOrder.status == ReturnStatus.SUBMITTED),
    )
    payment = sum(row.total for row in categories if row.category == "Payment")
    exceptions = sum(row.total for row in categories)
    return [
        Tile("approvals", "Orders waiting for approval", approvals, "/ui/tasks",
             f"{open_tasks} open tasks in all"),
        Tile("exceptions", "Open process exceptions", exceptions, "/ui/exceptions?status=open"),
        Tile("payments", "Payments that failed", payment, "/ui/exceptions?category=Payment"),
        Tile("stuck", f"Fulfillment orders stuck over {stuck_hours} h", stuck,
             f"/ui/desk?stuck_hours={stuck_hours}"),
        Tile("returns", "Returns awaiting receipt", returns, "/ui/orders?returns=awaiting"),
    ]  # fmt: skip


def _day(session: Session) -> Any:
    column = OrderSummary.created_at
    if session.get_bind().dialect.name == "postgresql":
        # Days are UTC days whatever the server's time zone.
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def orders_per_day(session: Session, now: datetime, days: int = CHART_DAYS) -> list[tuple[str, int]]:
    first = (now - timedelta(days=days - 1)).date()
    start = datetime(first.year, first.month, first.day, tzinfo=now.tzinfo)
    day = _day(session).label("day")
    counts: dict[str, int] = {}
    for value, count in session.execute(
        select(day, func.count()).where(OrderSummary.created_at >= start).group_by(day)
    ):
        key = value.isoformat() if isinstance(value, date) else str(value)[:10]
        counts[key] = int(count)
    series = [first + timedelta(days=i) for i in range(days)]
    return [(d.strftime("%m-%d"), counts.get(d.isoformat(), 0)) for d in series]


def orders_by_status(session: Session) -> list[tuple[str, int]]:
    rows = session.execute(select(OrderSummary.status, func.count()).group_by(OrderSummary.status)).all()
    return sorted(((str(s), int(c)) for s, c in rows), key=lambda r: -r[1])


def dashboard(session: Session, now: datetime, stuck_hours: int = DEFAULT_STUCK_HOURS) -> dict[str, Any]:
    categories = exceptions_by_category(session, now)
    per_day = orders_per_day(session, now)
    by_status = orders_by_status(session)
    charts: dict[str, Markup] = {
        "per_day": column_chart(per_day, title=f"Orders per day, last {CHART_DAYS} days"),
        "by_status": bar_chart(by_status, title="Orders by status"),
    }
    return {
        "tiles": tiles(session, now, stuck_hours, categories),
        "categories": categories,
        "charts": charts,
        "stuck_hours": stuck_hours,
        "now": now,
    }

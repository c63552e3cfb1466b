"""The order summary as the API shows it: the domain's view plus the engine's process exceptions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.problems import Problem
from engine.models import ProcessException
from engine.models.exception import ACTIVE_STATUSES
from orders.models import OrderSummary
from orders.views import amount, summary_view


def exception_view(exception: ProcessException) -> dict[str, Any]:
    return {
        "id": exception.id,
        "category": exception.category,
        "status": exception.status,
        "severity": exception.severity,
        "message": exception.message,
        "order_summary_id": exception.subject_id,
        "run_id": exception.run_id,
        "step": exception.step_node,
        "assignee": exception.assignee,
        "note": exception.note,
        "created_at": exception.created_at.isoformat(),
    }


def load_summary(session: Session, summary_id: str) -> OrderSummary:
    summary = session.get(OrderSummary, summary_id)
    if summary is None:
        raise Problem(404, "Not found", f"There is no order summary {summary_id}.")
    return summary


def summary_json(session: Session, summary: OrderSummary) -> dict[str, Any]:
    body = summary_view(session, summary)
    exceptions = session.scalars(
        select(ProcessException)
        .where(ProcessException.subject_id == summary.id)
        .order_by(ProcessException.created_at)
    ).all()
    body["process_exceptions"] = [exception_view(e) for e in exceptions]
    body["active_process_exception_count"] = sum(1 for e in exceptions if e.status in ACTIVE_STATUSES)
    return body


def brief(summary: OrderSummary) -> dict[str, Any]:
    totals = summary.totals()
    return {
        "id": summary.id,
        "order_number": summary.order_number,
        "status": summary.status,
        "lifecycle": str(summary.lifecycle),
        "channel": summary.channel,
        "currency": summary.currency,
        "customer": {"email": summary.customer_email, "name": summary.customer_name},
        # In the currency's places, as the summary's own view gives them (not the column's four).
        "grand_total": amount(totals["grand_total"], summary.currency),
        "balance_due": amount(totals["balance_due"], summary.currency),
        "created_at": summary.created_at.isoformat(),
    }

"""The webhooks page's query: each endpoint with its deliveries counted by status, and the deliveries
that failed or are still being retried, newest first, with their endpoint."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models.webhook import DELIVERED, FAILED, PENDING, WebhookDelivery, WebhookEndpoint

TROUBLE_LIMIT = 50


def webhook_overview(session: Session) -> dict[str, Any]:
    endpoints = list(
        session.scalars(
            select(WebhookEndpoint).order_by(WebhookEndpoint.active.desc(), WebhookEndpoint.created_at)
        )
    )
    counts: dict[tuple[str, str], int] = {
        (endpoint_id, status): count
        for endpoint_id, status, count in session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count()).group_by(
                WebhookDelivery.endpoint_id, WebhookDelivery.status
            )
        )
    }
    # Failed ones, and pending ones that have failed at least once (in back-off): what needs a look.
    trouble = session.execute(
        select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.active)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            (WebhookDelivery.status == FAILED)
            | ((WebhookDelivery.status == PENDING) & (WebhookDelivery.attempts > 0))
        )
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(TROUBLE_LIMIT)
    ).all()
    return {
        "endpoints": [
            {
                "endpoint": endpoint,
                "counts": {
                    status: counts.get((endpoint.id, status), 0) for status in (PENDING, DELIVERED, FAILED)
                },
            }
            for endpoint in endpoints
        ],
        "trouble": [
            {"delivery": delivery, "url": url, "active": active} for delivery, url, active in trouble
        ],
    }

"""Outbound webhooks: each committed outbox event goes to every endpoint subscribed to it.

Fan-out and delivery are the worker's, never a request's: an order's write path only inserts its
outbox row, as before. Both steps run in a thread of their own beside the loop that drives runs
(``engine.worker``), so an endpoint that is slow or down never holds up a flow.

- :func:`fan_out` turns outbox rows not yet published, oldest first, into one pending delivery per
  active endpoint that subscribes to the event and existed when it happened, and marks the rows
  published in the same transaction (a guarded UPDATE first: two workers can never both fan one out).
- :func:`deliver_due` claims due deliveries (a conditional UPDATE, as run waits are claimed; on
  PostgreSQL ``FOR UPDATE SKIP LOCKED`` first), commits the claim, POSTs each outside any transaction,
  and records the answer: 2xx is delivered; anything else is tried again after a back-off that doubles
  from 30 s (capped at an hour), and fails after :data:`MAX_ATTEMPTS`. Each send first renews its
  claim, so a worker whose claim lapsed never sends what another worker took over. A delivery is sent
  at least once: a receiver that must not act twice keys on the ``Ordo-Event-Id`` header.

Each request is signed: ``Ordo-Signature: t=UNIX_TIME,v1=HEX`` where ``HEX`` is the HMAC-SHA256 of
``"{t}.{body}"`` under the endpoint's secret (:func:`signature`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.db import Database, new_id
from engine.models import OutboxEvent
from engine.models.webhook import (
    ALL_EVENTS,
    DELIVERED,
    FAILED,
    PENDING,
    WebhookDelivery,
    WebhookEndpoint,
)
from engine.webhook_targets import check_resolved, check_url

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_BACKOFF_S = 30.0
MAX_BACKOFF_S = 3600.0
TIMEOUT_S = 10.0
# Longer than a request can take: a claim outlives the call it covers.
CLAIM_S = 120.0
MAX_ERROR = 500
DISABLED = "the endpoint was disabled"

# (url, body, headers, timeout) -> (HTTP status or None, error or None)
Sender = Callable[[str, bytes, dict[str, str], float], tuple[int | None, str | None]]


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def subscribes(events: list[str], name: str) -> bool:
    return ALL_EVENTS in events or name in events


def backoff_s(attempts: int) -> float:
    """How long to wait after the ``attempts``-th failed attempt."""
    return float(min(FIRST_BACKOFF_S * 2 ** (attempts - 1), MAX_BACKOFF_S))


def fan_out(database: Database, now: datetime, *, limit: int = 200) -> int:
    """Turn up to ``limit`` unpublished outbox events into deliveries; returns how many were published."""
    query = (
        select(OutboxEvent.id, OutboxEvent.name, OutboxEvent.created_at)
        .where(OutboxEvent.published_at.is_(None))
        .order_by(OutboxEvent.created_at, OutboxEvent.id)
        .limit(limit)
    )
    if database.dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    with database.session_factory() as session:
        events = session.execute(query).all()
        if not events:
            return 0
        # Marked first, guarded: on SQLite nothing is locked by the SELECT, and a second worker that
        # read the same rows matches none of them here and leaves them to the first.
        marked = session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_([event.id for event in events]), OutboxEvent.published_at.is_(None))
            .values(published_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(marked, "rowcount", 0) != len(events):
            session.rollback()
            return 0
        endpoints = session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.events, WebhookEndpoint.created_at).where(
                WebhookEndpoint.active.is_(True)
            )
        ).all()
        deliveries = [
            WebhookDelivery(
                id=new_id("whd"),
                endpoint_id=endpoint.id,
                event_id=event.id,
                event_name=event.name,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for event in events
            for endpoint in endpoints
            if endpoint.created_at <= event.created_at and subscribes(endpoint.events, event.name)
        ]
        session.add_all(deliveries)
        session.commit()
    return len(events)


def claim_deliveries(database: Database, now: datetime, worker_id: str, limit: int) -> list[str]:
    """Claim up to ``limit`` due deliveries for ``worker_id``; returns their ids."""
    free = or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now)
    query = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now, free)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    if database.dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed: list[str] = []
    with database.session_factory() as session:
        for delivery_id in session.scalars(query).all():
            result = session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id, free)
                .values(claimed_by=worker_id, claimed_until=now + timedelta(seconds=CLAIM_S))
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                claimed.append(delivery_id)
        session.commit()
    return claimed


@dataclass(frozen=True)
class _Outgoing:
    url: str
    secret: str
    active: bool
    body: bytes
    headers: dict[str, str]


def _outgoing(database: Database, delivery_id: str) -> _Outgoing | None:
    query = (
        select(WebhookDelivery, WebhookEndpoint, OutboxEvent)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id == delivery_id)
    )
    with database.session_factory() as session:
        found = session.execute(query).one_or_none()
        if found is None:
            return None
        delivery, endpoint, event = found
        body = json.dumps(
            {
                "id": event.id,
                "name": event.name,
                "subject_id": event.subject_id,
                "created_at": event.created_at.isoformat(),
                "payload": event.payload,
            },
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Ordo-Webhooks/1",
            "Ordo-Event": event.name,
            "Ordo-Event-Id": event.id,
            "Ordo-Delivery": delivery.id,
        }
        return _Outgoing(endpoint.url, endpoint.secret, endpoint.active, body, headers)


def http_sender(client: httpx.Client) -> Sender:
    """Sends with ``client``: every answer and every failure to get one (a refused connection, a
    timeout, a URL or header httpx will not send, an internal address) comes back as an outcome."""

    def send(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str | None]:
        try:
            check_resolved(check_url(url))
            # Streamed, and closed once the status is in: the answer's body is never read, so an
            # endpoint cannot hold the sender with a slow or endless one.
            with client.stream("POST", url, content=body, headers=headers, timeout=timeout) as response:
                code = response.status_code
        except Exception as exc:  # whatever stops the request is this attempt's failure, not the worker's
            return None, f"{type(exc).__name__}: {exc}"
        if 200 <= code < 300:
            return code, None
        return code, f"HTTP {code}"

    return send


def _mine(delivery_id: str, worker_id: str) -> Any:
    return (
        (WebhookDelivery.id == delivery_id)
        & (WebhookDelivery.claimed_by == worker_id)
        & (WebhookDelivery.status == PENDING)
    )


def _renew(database: Database, delivery_id: str, worker_id: str, now: datetime) -> bool:
    """Extend this worker's claim right before it sends; False when the claim was lost (it lapsed and
    another worker took it, or the endpoint was disabled): then it must not send."""
    with database.session_factory() as session:
        result = session.execute(
            update(WebhookDelivery)
            .where(_mine(delivery_id, worker_id))
            .values(claimed_until=now + timedelta(seconds=CLAIM_S))
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return getattr(result, "rowcount", 0) == 1


def _release(database: Database, delivery_ids: list[str], worker_id: str) -> None:
    """Give back claims this worker will not send now (it is stopping, or its round ran long)."""
    if not delivery_ids:
        return
    with database.session_factory() as session:
        session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id.in_(delivery_ids),
                WebhookDelivery.claimed_by == worker_id,
                WebhookDelivery.status == PENDING,
            )
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def _record(
    database: Database, delivery_id: str, worker_id: str, now: datetime, status: int | None, error: str | None
) -> None:
    """Write the attempt's answer, only while this worker still holds the claim (one that lapsed may
    have been taken over: the newer claim's answer wins). The guarded UPDATE comes first, so the row is
    this transaction's before its attempt count is read."""
    with database.session_factory() as session:
        counted = session.execute(
            update(WebhookDelivery)
            .where(_mine(delivery_id, worker_id))
            .values(
                attempts=WebhookDelivery.attempts + 1,
                last_status=status,
                last_error=error[:MAX_ERROR] if error is not None else None,
                claimed_by=None,
                claimed_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(counted, "rowcount", 0) != 1:
            session.rollback()
            return
        attempts = session.scalar(select(WebhookDelivery.attempts).where(WebhookDelivery.id == delivery_id))
        assert attempts is not None
        if error is None:
            outcome: dict[str, Any] = {"status": DELIVERED, "delivered_at": now, "next_attempt_at": None}
        elif attempts >= MAX_ATTEMPTS:
            outcome = {"status": FAILED, "next_attempt_at": None}
        else:
            outcome = {"next_attempt_at": now + timedelta(seconds=backoff_s(attempts))}
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(**outcome)
            .execution_options(synchronize_session=False)
        )
        session.commit()


# What disabling its endpoint leaves of a pending delivery.
_DISABLED_FAILURE = {
    "status": FAILED,
    "next_attempt_at": None,
    "claimed_by": None,
    "claimed_until": None,
    "last_error": DISABLED,
}


def _fail_disabled(database: Database, delivery_id: str, worker_id: str) -> None:
    with database.session_factory() as session:
        session.execute(
            update(WebhookDelivery)
            .where(_mine(delivery_id, worker_id))
            .values(**_DISABLED_FAILURE)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def deliver_due(
    database: Database,
    clock: Clock,
    worker_id: str,
    *,
    send: Sender,
    limit: int = 20,
    stop: threading.Event | None = None,
) -> int:
    """Send the due deliveries this worker can claim; returns how many were attempted.

    A round stops early, giving back the claims it has not used, when ``stop`` is set or the round has
    run for half a claim's length (a slow endpoint must not keep the others' deliveries claimed).
    """
    claimed = claim_deliveries(database, clock.now(), worker_id, limit)
    started = time.monotonic()
    attempted = 0
    for index, delivery_id in enumerate(claimed):
        if (stop is not None and stop.is_set()) or time.monotonic() - started > CLAIM_S / 2:
            _release(database, claimed[index:], worker_id)
            break
        try:
            attempted += _deliver_one(database, clock, worker_id, delivery_id, send)
        except Exception:
            # (The database failed us.) What is still claimed goes back for another round or worker,
            # instead of waiting out its claim; the caller logs the error.
            with contextlib.suppress(Exception):
                _release(database, claimed[index:], worker_id)
            raise
    return attempted


def _deliver_one(database: Database, clock: Clock, worker_id: str, delivery_id: str, send: Sender) -> int:
    """One claimed delivery: sent and its answer recorded (1), or settled without sending (0)."""
    outgoing = _outgoing(database, delivery_id)
    if outgoing is None:
        _release(database, [delivery_id], worker_id)
        return 0
    if not outgoing.active:
        _fail_disabled(database, delivery_id, worker_id)
        return 0
    if not _renew(database, delivery_id, worker_id, clock.now()):
        return 0
    timestamp = int(clock.now().timestamp())
    headers = {**outgoing.headers, "Ordo-Signature": signature(outgoing.secret, timestamp, outgoing.body)}
    status, error = send(outgoing.url, outgoing.body, headers, TIMEOUT_S)
    if error is not None:
        log.info("webhook delivery %s to %s failed: %s", delivery_id, outgoing.url, error)
    _record(database, delivery_id, worker_id, clock.now(), status, error)
    return 1


class DeliveryNotRetryable(Exception):
    """A delivery that cannot be sent again now (it did not fail, or its endpoint is disabled)."""


def retry_delivery(
    session: Session, delivery_id: str, now: datetime, *, endpoint_id: str | None = None
) -> WebhookDelivery:
    """In the caller's transaction: a failed delivery pending again now, with a fresh set of attempts.
    ``LookupError`` when there is no such delivery (to ``endpoint_id``, when given)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or (endpoint_id is not None and delivery.endpoint_id != endpoint_id):
        raise LookupError(delivery_id)
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or not endpoint.active:
        raise DeliveryNotRetryable("the endpoint is disabled")
    if delivery.status != FAILED:
        raise DeliveryNotRetryable(f"the delivery is {delivery.status}, not failed")
    delivery.status, delivery.attempts = PENDING, 0
    delivery.next_attempt_at, delivery.last_error, delivery.last_status = now, None, None
    return delivery


def fail_pending(session: Session, endpoint_id: str) -> None:
    """In the caller's transaction: an endpoint being disabled fails its pending deliveries."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == PENDING)
        .values(**_DISABLED_FAILURE)
        .execution_options(synchronize_session=False)
    )


def run_outbound(
    database: Database, clock: Clock, worker_id: str, *, send: Sender, stop: threading.Event | None = None
) -> int:
    """One round of the outbound thread: fan out new events, then send what is due."""
    return fan_out(database, clock.now()) + deliver_due(database, clock, worker_id, send=send, stop=stop)

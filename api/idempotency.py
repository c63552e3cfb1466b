"""Idempotent POSTs with Stripe's rules.

The first response to a key is stored and replayed for every repeat; a key reused with another body
is 422; a repeat that arrives while the first is still running waits for it (or gets 409 if it takes
too long). Requests refused by validation store nothing, so a corrected request may reuse the key.

A request can fail, or its process die, after what it created was committed (the flows' driver commits
as it goes). So the claim also names the resource, in the same transaction that creates it: a request
that fails after that, or a repeat that finds the claim abandoned (older than ``CLAIM_LEASE_S`` with no
response), answers with that resource, and a claim that names none is given up so the key can run again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.problems import Problem
from api.records import IdempotencyRecord
from engine.codec import new_token

WAIT_FOR_FIRST_S = 30.0
POLL_S = 0.05
# A claim this old without a response belongs to a request that died: no order takes this long.
CLAIM_LEASE_S = 300.0
_RECORDS = cast(Table, IdempotencyRecord.__table__)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def request_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_same_body(record: IdempotencyRecord, digest: str) -> None:
    if record.request_hash != digest:
        raise Problem(
            422,
            "Idempotency-Key reused",
            "This Idempotency-Key was used with a different request body.",
            errors=[{"field": "Idempotency-Key", "message": "already used with another body"}],
        )


Recover = Callable[[str], StoredResponse]


def _abandoned(record: IdempotencyRecord) -> bool:
    created = record.created_at
    if created.tzinfo is None:  # SQLite keeps no zone; it was written in UTC
        created = created.replace(tzinfo=UTC)
    return datetime.now(UTC) - created > timedelta(seconds=CLAIM_LEASE_S)


def replay_or_wait(
    factory: sessionmaker[Session], *, key: str, caller: str, digest: str, recover: Recover
) -> StoredResponse | None:
    """The stored response for ``key`` (waiting for one in flight), or None if the key is new (or its
    claim was abandoned before it created anything). ``recover`` answers for a resource an abandoned
    claim created."""
    deadline = time.monotonic() + WAIT_FOR_FIRST_S
    while True:
        with factory() as session:
            record = session.get(IdempotencyRecord, (key, caller))
            if record is None:
                return None
            _check_same_body(record, digest)
            if record.status_code is not None:
                return StoredResponse(record.status_code, record.response_body)
            if _abandoned(record):
                return settle(factory, key=key, caller=caller, token=record.claim_token, recover=recover)
        if time.monotonic() > deadline:
            raise Problem(409, "Request in progress", "A request with this Idempotency-Key is still running.")
        time.sleep(POLL_S)


def claim(
    factory: sessionmaker[Session], *, key: str, caller: str, digest: str, method: str, path: str
) -> str | None:
    """Claims ``key`` for this request: the claim's token, or None if another request claimed it first."""
    token = new_token()
    with factory() as session:
        session.add(
            IdempotencyRecord(
                key=key,
                api_key_id=caller,
                method=method,
                path=path,
                request_hash=digest,
                status_code=None,
                claim_token=token,
            )
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return None
    return token


def _claimed(key: str, caller: str, token: str | None) -> list[Any]:
    """The record while it is still ``token``'s open claim."""
    return [
        _RECORDS.c.key == key,
        _RECORDS.c.api_key_id == caller,
        _RECORDS.c.claim_token == token,  # IS NULL for a claim made before claims had tokens
        _RECORDS.c.status_code.is_(None),
    ]


def store(
    factory: sessionmaker[Session], *, key: str, caller: str, token: str | None, response: StoredResponse
) -> None:
    """Keeps ``response`` for every repeat, if the claim is still ``token``'s."""
    with factory() as session:
        session.execute(
            update(_RECORDS)
            .where(*_claimed(key, caller, token))
            .values(status_code=response.status_code, response_body=response.body)
        )
        session.commit()


def mark_resource(session: Session, *, key: str, caller: str, token: str, resource_id: str) -> None:
    """Names what the claimed request created, in the transaction that creates it."""
    session.execute(update(_RECORDS).where(*_claimed(key, caller, token)).values(resource_id=resource_id))


def release(factory: sessionmaker[Session], *, key: str, caller: str, token: str | None) -> None:
    """Gives up ``token``'s claim if it created nothing, so the key can run again."""
    with factory() as session:
        session.execute(
            delete(_RECORDS).where(*_claimed(key, caller, token), _RECORDS.c.resource_id.is_(None))
        )
        session.commit()


def settle(
    factory: sessionmaker[Session], *, key: str, caller: str, token: str | None, recover: Recover
) -> StoredResponse | None:
    """After ``token``'s request failed or died: the response for what it created, stored for every
    repeat, or None if it created nothing (the claim given up) or the claim is no longer ``token``'s."""
    with factory() as session:
        record = session.get(IdempotencyRecord, (key, caller))
        if record is None or record.claim_token != token:
            return None
        if record.status_code is not None:
            return StoredResponse(record.status_code, record.response_body)
        resource_id = record.resource_id
    if resource_id is None:
        release(factory, key=key, caller=caller, token=token)
        return None
    response = recover(resource_id)
    store(factory, key=key, caller=caller, token=token, response=response)
    return response

"""Idempotent POSTs with Stripe's rules.

The first response to a key is stored and replayed for every repeat; a key reused with another body
is 422; a repeat that arrives while the first is still running waits for it (or gets 409 if it takes
too long). Requests refused by validation store nothing, so a corrected request may reuse the key.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.problems import Problem
from api.records import IdempotencyRecord

WAIT_FOR_FIRST_S = 30.0
POLL_S = 0.05


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


def replay_or_wait(
    factory: sessionmaker[Session], *, key: str, caller: str, digest: str
) -> StoredResponse | None:
    """The stored response for ``key`` (waiting for one in flight), or None if the key is new."""
    deadline = time.monotonic() + WAIT_FOR_FIRST_S
    while True:
        with factory() as session:
            record = session.get(IdempotencyRecord, (key, caller))
            if record is None:
                return None
            _check_same_body(record, digest)
            if record.status_code is not None:
                return StoredResponse(record.status_code, record.response_body)
        if time.monotonic() > deadline:
            raise Problem(409, "Request in progress", "A request with this Idempotency-Key is still running.")
        time.sleep(POLL_S)


def claim(
    factory: sessionmaker[Session], *, key: str, caller: str, digest: str, method: str, path: str
) -> bool:
    """Claims ``key`` for this request; False if another request claimed it first."""
    with factory() as session:
        session.add(
            IdempotencyRecord(
                key=key, api_key_id=caller, method=method, path=path, request_hash=digest, status_code=None
            )
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
    return True


def store(factory: sessionmaker[Session], *, key: str, caller: str, response: StoredResponse) -> None:
    with factory() as session:
        record = session.get(IdempotencyRecord, (key, caller))
        if record is not None:
            record.status_code = response.status_code
            record.response_body = response.body
            session.commit()


def release(factory: sessionmaker[Session], *, key: str, caller: str) -> None:
    """Forgets a claim whose request was refused before doing anything, so the key can be reused."""
    with factory() as session:
        record = session.get(IdempotencyRecord, (key, caller))
        if record is not None and record.status_code is None:
            session.delete(record)
            session.commit()

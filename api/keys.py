"""API keys: minting, hashing and lookup. Keys are shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.records import ApiKey
from engine.db import new_id


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"
    INTEGRATOR = "integrator"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, *, role: Role, name: str) -> str:
    """Stores a new key for ``role`` and returns its secret, which is never stored in the clear."""
    secret = f"ordo_{role.value[:3]}_{secrets.token_urlsafe(24)}"
    session.add(
        ApiKey(
            id=new_id("key"), name=name, role=role.value, prefix=secret[:12], secret_hash=hash_secret(secret)
        )
    )
    return secret


def find_key(session: Session, secret: str) -> ApiKey | None:
    digest = hash_secret(secret)
    key = session.scalars(select(ApiKey).where(ApiKey.secret_hash == digest)).first()
    # The lookup is by hash; compare again in constant time so timing says nothing about near misses.
    if key is None or not hmac.compare_digest(key.secret_hash, digest) or key.revoked_at is not None:
        return None
    return key

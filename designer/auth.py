"""Browser log-in: an API key is exchanged for a server-side session cookie; roles and CSRF per request.

Reusable by every page of the browser UI (the flow designer and the order console): depend on
``require(...)`` (or the ready-made ``ReaderDep``/``AdminDep``) and the viewer is checked, its role
enforced and, on a state-changing request, its CSRF token verified.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.keys import Role
from api.records import ApiKey
from designer.records import DesignerSession
from engine.models._types import utcnow

SESSION_COOKIE = "ordo_session"
LOGIN_CSRF_COOKIE = "ordo_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_TTL = timedelta(hours=12)
# last_seen_at is for people reading the table; writing it on every request would make reads write.
TOUCH_EVERY = timedelta(minutes=5)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

READERS: tuple[Role, ...] = (Role.ADMIN, Role.MANAGER, Role.AGENT)
ADMINS: tuple[Role, ...] = (Role.ADMIN,)


class LoginRequired(Exception):
    """No valid session: pages redirect to the log-in page, HTMX requests get 401 and HX-Redirect."""


class Forbidden(Exception):
    """Logged in, but the role (or the CSRF token) does not allow this request: a 403 page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Viewer:
    key_id: str
    name: str
    role: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    def may(self, *roles: Role) -> bool:
        return self.role in {r.value for r in roles}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, key: ApiKey) -> str:
    """Stores a new session for ``key`` and returns the cookie token (never stored in the clear)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        DesignerSession(
            id=_digest(token),
            api_key_id=key.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_TTL,
        )
    )
    # Expired sessions go when someone logs in: no cleanup job needed for a table this small.
    session.execute(delete(DesignerSession).where(DesignerSession.expires_at < now))
    return token


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(DesignerSession).where(DesignerSession.id == _digest(token)))


def load_viewer(session: Session, token: str | None) -> Viewer | None:
    if not token:
        return None
    row = session.execute(
        select(DesignerSession, ApiKey)
        .join(ApiKey, ApiKey.id == DesignerSession.api_key_id)
        .where(DesignerSession.id == _digest(token))
    ).first()
    if row is None:
        return None
    record, key = row
    now = utcnow()
    if record.expires_at <= now or key.revoked_at is not None:
        return None
    if now - record.last_seen_at > TOUCH_EVERY:
        record.last_seen_at = now
        session.commit()
    return Viewer(key_id=key.id, name=key.name, role=key.role, csrf_token=record.csrf_token)


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def tokens_match(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


async def _sent_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        # Starlette caches the parsed form on the request, so the endpoint's Form() fields still work.
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def require(*roles: Role) -> Callable[[Request, Session], Awaitable[Viewer]]:
    """A dependency: the logged-in viewer, if their role is one of ``roles``; CSRF checked on writes."""
    allowed = {r.value for r in roles}

    async def guard(request: Request, session: SessionDep) -> Viewer:
        viewer = load_viewer(session, request.cookies.get(SESSION_COOKIE))
        if viewer is None:
            raise LoginRequired()
        request.state.viewer = viewer
        if viewer.role not in allowed:
            raise Forbidden(f"The {viewer.role} role may not open this page.")
        if request.method not in SAFE_METHODS and not tokens_match(
            viewer.csrf_token, await _sent_csrf(request)
        ):
            raise Forbidden("The request did not carry this session's CSRF token; reload the page and retry.")
        return viewer

    guard.__name__ = f"require_{'_'.join(sorted(allowed))}"
    return guard


ReaderDep = Annotated[Viewer, Depends(require(*READERS))]
AdminDep = Annotated[Viewer, Depends(require(*ADMINS))]

__all__ = [
    "ADMINS",
    "READERS",
    "AdminDep",
    "Forbidden",
    "LoginRequired",
    "ReaderDep",
    "Viewer",
    "end_session",
    "load_viewer",
    "require",
    "start_session",
]

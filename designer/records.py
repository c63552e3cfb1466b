"""Records the browser UI keeps for itself: server-side login sessions.

Needs a migration (the table is declared here, on ``engine.db.Base``); ``migrations/schema.py`` must also
list ``designer.records`` so Alembic and the tests see it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.models._types import UTCDateTime, utcnow


class DesignerSession(Base):
    """One browser login. The cookie holds a random token; only its SHA-256 is stored here, so a leaked
    database does not leak live sessions. The role is read from the API key on every request, so revoking
    the key ends its sessions at once."""

    __tablename__ = "designer_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie token
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

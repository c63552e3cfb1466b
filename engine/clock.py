"""Where the engine reads the time, so tests move time instead of sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until a test moves it; timers fall due when it passes them."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        # Workers read the clock from other threads in some tests.
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float = 0.0, *, delta: timedelta | None = None) -> datetime:
        with self._lock:
            self._now += delta if delta is not None else timedelta(seconds=seconds)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when if when.tzinfo else when.replace(tzinfo=UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands timestamps back naive; every comparison in the engine is made in aware UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)

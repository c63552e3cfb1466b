"""Ending a transaction that wrote nothing with COMMIT, not ROLLBACK.

For a transaction that only read, the two are the same to the database. Not to psycopg: on every
ROLLBACK it forgets the statements it prepared on that connection (and sends DEALLOCATE ALL), so
PostgreSQL plans each of them again from scratch. Planning is most of what a short statement costs
(0.75 ms of the 0.84 ms of the query that finds who waits for an event, here), and every API request
ended with one: its key lookup, its idempotency checks and its session, each closed with a rollback.
Ordo's sessions (:class:`ReadCommittingSession`, made by ``engine.db.make_session_factory``) end a
transaction that only read with COMMIT when they close. One that wrote, or holds unwritten changes,
still rolls back: only the code that wrote decides what to keep.
"""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

_WROTE = "ordo_wrote"
# Where a session keeps the runs it started and has not written yet (engine.store writes them as it
# commits): here, so that a close can see them.
UNWRITTEN_KEY = "ordo.unwritten_runs"
_READS = ("select", "show")


def track_writes(engine: Engine) -> None:
    """Note on each connection whether its transaction has sent anything but a read."""

    def before_execute(conn: Connection, _cursor: Any, statement: str, *_rest: Any) -> None:
        if _WROTE not in conn.info and not statement.lstrip()[:6].lower().startswith(_READS):
            # Anything not plainly a read counts (WITH, SAVEPOINT, a function call): a transaction
            # wrongly taken for a writer is only rolled back, as before.
            conn.info[_WROTE] = True

    def began(conn: Connection) -> None:
        # Cleared as a transaction begins, not as one ends: a COMMIT that fails leaves its
        # transaction marked as a writer, so closing rolls it back.
        conn.info.pop(_WROTE, None)

    def returned(_dbapi_connection: Any, record: Any) -> None:
        record.info.pop(_WROTE, None)  # the pool rolled back whatever was left

    event.listen(engine, "before_cursor_execute", before_execute)
    event.listen(engine, "begin", began)
    event.listen(engine, "checkin", returned)


def wrote(session: Session) -> bool:
    """Whether the session's open transaction has written, or holds changes not written yet (records,
    or runs the engine writes as it commits)."""
    if session.new or session.dirty or session.deleted or session.info.get(UNWRITTEN_KEY):
        return True
    if not session.in_transaction():
        return False
    return bool(session.connection().info.get(_WROTE))


class ReadCommittingSession(Session):
    """A session whose ``close`` commits a transaction that only read (rolled back otherwise, as any
    session's close does)."""

    def close(self) -> None:
        try:
            transaction = self.get_transaction()
            if transaction is not None and transaction.is_active and not wrote(self):
                self.commit()
        except Exception:
            # A connection lost or a commit refused: what was only read is not worth an error that
            # would hide the one being handled. The connection is not worth trusting either (a COMMIT
            # that failed before reaching the server leaves it inside its transaction, which the pool
            # would take for ended): it is discarded, not pooled.
            with contextlib.suppress(Exception):
                self.invalidate()
        finally:
            super().close()

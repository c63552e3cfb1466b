"""Ping a pooled server connection before use only when it sat idle long enough to have gone stale.

SQLAlchemy's ``pool_pre_ping`` pings on every checkout, and a session checks a connection out for each
transaction: a request that places an order opens several, so on PostgreSQL the pings were one round
trip in ten. What pings are for is a connection that lay in the pool while a firewall, a proxy or the
server's idle timeout dropped it; one returned a moment ago has just worked. If the server restarts
under load, the first statement on a connection still open to it fails, SQLAlchemy sees the
disconnect and drops every pooled connection, and the next checkout connects afresh: one request
fails, where pinging every checkout would have caught it.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

# Idle for longer than this, a connection is pinged before it is handed out.
IDLE_PING_SECONDS = 5.0
_IDLE_SINCE = "ordo_idle_since"


def ping_when_idle(engine: Engine, after_seconds: float = IDLE_PING_SECONDS) -> None:
    dialect = engine.dialect

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < after_seconds:
            return  # new (it just connected) or returned a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool throws this connection away and hands out a new one.
                raise exc.DisconnectionError(f"pooled connection went stale: {error}") from error
            raise

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)

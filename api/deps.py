"""Request dependencies: the database session and the caller's role (as in the FastAPI template)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.keys import Role, find_key
from api.problems import Problem
from api.records import ApiKey
from engine.db import Database


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    # Handlers commit what they mean to keep; anything left is rolled back on the way out (closing
    # commits a transaction that only read: see engine.transactions).
    session = database.session_factory()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
DatabaseDep = Annotated[Database, Depends(get_database)]


def get_caller(request: Request, database: DatabaseDep) -> ApiKey:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Problem(401, "Unauthorized", "Send 'Authorization: Bearer KEY'.")
    # A session of its own, closed at once: a request that waits (an idempotent repeat) must not hold
    # a pooled connection just for having been authenticated.
    with database.session_factory() as session:
        key = find_key(session, secret.strip())
    if key is None:
        raise Problem(401, "Unauthorized", "The API key is not valid.")
    return key


CallerDep = Annotated[ApiKey, Depends(get_caller)]


def require_roles(*roles: Role) -> Callable[[ApiKey], ApiKey]:
    """A dependency that lets only ``roles`` (and admin, who may do everything) through."""
    allowed = {Role.ADMIN.value, *(role.value for role in roles)}

    def guard(caller: CallerDep) -> ApiKey:
        if caller.role not in allowed:
            raise Problem(403, "Forbidden", f"The role '{caller.role}' may not do this.")
        return caller

    return guard

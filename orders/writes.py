"""Writing what a session holds with plain statements, instead of the ORM's flush.

On every flush the ORM's unit of work works out which records changed, orders their statements by
walking every relationship of every mapper involved and copies foreign keys along them. For the few
rows an order action writes (an invoice and its lines, a payment, the summary's new totals) that
bookkeeping cost several times the statements themselves. :func:`write_pending` covers what the order
actions do: new records and changed columns, written in the tables' foreign-key order (inserts, then
updates), versioned rows guarded exactly as the ORM guards them (``StaleDataError`` when another
writer got there first), foreign keys copied along many-to-one and one-to-many relationships. The
records end up persistent and clean, as after a flush, and a savepoint's rollback undoes them the
same way. Anything else (deletes, orphans, many-to-many) goes to the ORM's flush unchanged.

It leans on two of the ORM's own steps that are not public (``Session._register_persistent`` and the
instance state's pending changes), so SQLAlchemy is pinned below the next minor release and
``tests/integration/orders/test_writes.py`` holds the two ways of writing to the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, bindparam
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.interfaces import MANYTOONE, ONETOMANY
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.sql.dml import Insert, Update

from engine.db import Base
from engine.db.plain_sql import execute_write, python_default


@dataclass(frozen=True)
class _Link:
    """A relationship along which a foreign key is copied: ``(local attribute, remote attribute)``."""

    key: str
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _TablePlan:
    """How one mapped class is written: worked out once per class."""

    table: Table
    order: int  # position in the metadata's foreign-key order
    columns: tuple[tuple[str, str], ...]  # (attribute key, column key)
    pk_key: str
    pk_column: str
    version_key: str | None
    version_column: str | None
    defaults: tuple[tuple[str, Callable[[], Any]], ...]  # Python-side insert defaults
    onupdate: tuple[tuple[str, str, Callable[[], Any]], ...]  # (attribute, column, value)
    many_to_one: tuple[_Link, ...]
    one_to_many: tuple[_Link, ...]
    insert: Insert


_plans: dict[Mapper[Any], _TablePlan | None] = {}
_updates: dict[tuple[Table, frozenset[str], bool], Update] = {}


def _plan_for(mapper: Mapper[Any]) -> _TablePlan | None:
    if mapper in _plans:
        return _plans[mapper]
    plan = _make_plan(mapper)
    _plans[mapper] = plan
    return plan


def _make_plan(mapper: Mapper[Any]) -> _TablePlan | None:
    """None when the class needs something this module does not do (the ORM's flush writes it)."""
    table = mapper.local_table
    if not isinstance(table, Table) or mapper.inherits is not None or len(mapper.primary_key) != 1:
        return None
    columns: list[tuple[str, str]] = []
    defaults: list[tuple[str, Callable[[], Any]]] = []
    onupdate: list[tuple[str, str, Callable[[], Any]]] = []
    for prop in mapper.column_attrs:
        if len(prop.columns) != 1 or not isinstance(prop.columns[0], Column):
            return None
        column = prop.columns[0]
        if column.table is not table or column.server_default is not None:
            return None
        columns.append((prop.key, column.key))
        if column.default is not None:
            value = python_default(column.default)
            if value is None:
                return None
            defaults.append((prop.key, value))
        if column.onupdate is not None:
            value = python_default(column.onupdate)
            if value is None:
                return None
            onupdate.append((prop.key, column.key, value))
    many_to_one: list[_Link] = []
    one_to_many: list[_Link] = []
    for rel in mapper.relationships:
        if rel.viewonly:
            continue
        if rel.secondary is not None or rel.post_update or rel.mapper is mapper:
            return None
        try:
            if rel.direction is MANYTOONE:
                pairs = tuple(
                    (mapper.get_property_by_column(local).key, rel.mapper.get_property_by_column(remote).key)
                    for local, remote in rel.local_remote_pairs
                )
                many_to_one.append(_Link(rel.key, pairs))
            elif rel.direction is ONETOMANY:
                # (the child's attribute, the parent's attribute)
                pairs = tuple(
                    (rel.mapper.get_property_by_column(remote).key, mapper.get_property_by_column(local).key)
                    for local, remote in rel.local_remote_pairs
                )
                one_to_many.append(_Link(rel.key, pairs))
            else:
                return None
        except Exception:  # a key column the class does not map: the ORM's flush copies it
            return None
    pk = mapper.primary_key[0]
    version_column = mapper.version_id_col
    version_key = mapper.get_property_by_column(version_column).key if version_column is not None else None
    sorted_tables = Base.metadata.sorted_tables
    return _TablePlan(
        table=table,
        order=sorted_tables.index(table) if table in sorted_tables else len(sorted_tables),
        columns=tuple(columns),
        pk_key=mapper.get_property_by_column(pk).key,
        pk_column=str(pk.key),
        version_key=version_key,
        version_column=version_column.key if version_column is not None else None,
        defaults=tuple(defaults),
        onupdate=tuple(onupdate),
        many_to_one=tuple(many_to_one),
        one_to_many=tuple(one_to_many),
        insert=table.insert(),
    )


def _update_statement(plan: _TablePlan, columns: frozenset[str]) -> Update:
    versioned = plan.version_column is not None
    key = (plan.table, columns, versioned)
    statement = _updates.get(key)
    if statement is None:
        table = plan.table
        where = [table.c[plan.pk_column] == bindparam("w_pk")]
        if plan.version_column is not None:
            where.append(table.c[plan.version_column] == bindparam("w_version"))
        statement = table.update().where(*where).values({name: bindparam(f"v_{name}") for name in columns})
        _updates[key] = statement
    return statement


def _copy_keys(states: Iterable[InstanceState[Any]], plans: dict[InstanceState[Any], _TablePlan]) -> None:
    """Copy foreign keys along changed relationships, as the ORM's flush would."""
    for state in states:
        plan = plans[state]
        values = state.dict
        changed = state.committed_state
        new = state.key is None
        for link in plan.many_to_one:
            if link.key not in values or not (new or link.key in changed):
                continue
            target = values[link.key]
            target_values = instance_state(target).dict if target is not None else None
            for local, remote in link.pairs:
                value = target_values.get(remote) if target_values is not None else None
                if values.get(local) != value:
                    setattr(state.obj(), local, value)
        for link in plan.one_to_many:
            if link.key not in values or not (new or link.key in changed):
                continue
            for child in values[link.key] or ():
                child_values = instance_state(child).dict
                for child_key, parent_key in link.pairs:
                    value = values.get(parent_key)
                    if child_values.get(child_key) != value:
                        setattr(child, child_key, value)


def _orphans(state: InstanceState[Any], plan: _TablePlan) -> bool:
    """Whether a collection of this record lost members (a delete-orphan cascade is the ORM's job)."""
    for link in plan.one_to_many:
        if link.key in state.committed_state:
            history = state.manager[link.key].impl.get_history(
                state, state.dict, passive=PASSIVE_NO_INITIALIZE
            )
            if history.deleted:
                return True
    return False


def write_pending(session: Session) -> None:
    """Write the session's new and changed records now (see the module's docstring)."""
    # Nothing below may load (a load would flush the very records being written).
    with session.no_autoflush:
        _write_pending(session)


def _write_pending(session: Session) -> None:
    new = list(session._new)
    dirty = [state for state in session.identity_map._modified if state.key is not None]
    if not new and not dirty:
        return
    if session._deleted:
        session.flush()
        return
    plans: dict[InstanceState[Any], _TablePlan] = {}
    for state in (*new, *dirty):
        plan = _plan_for(state.mapper)
        if plan is None or _orphans(state, plan):
            session.flush()
            return
        plans[state] = plan
    # The same listeners as a flush: the history guard of orders.models, a simulation's recorder.
    session.dispatch.before_flush(session, None, None)  # type: ignore[arg-type]
    _copy_keys((*new, *dirty), plans)
    # Copying keys can make more records changed (a child's new parent id).
    for state in session.identity_map._modified:
        if state.key is not None and state not in plans:
            plan = _plan_for(state.mapper)
            if plan is None:
                session.flush()
                return
            plans[state] = plan
            dirty.append(state)
    conn = session.connection()
    _insert(conn, new, plans)
    _update(conn, dirty, plans)
    # What a flush does last: identities, committed values, and the transaction's note of them (so a
    # rollback expires or expunges them).
    session._register_persistent({*new, *dirty})


def _insert(
    conn: Connection, states: list[InstanceState[Any]], plans: dict[InstanceState[Any], _TablePlan]
) -> None:
    """New records, table by table in foreign-key order, one statement per table."""
    by_table: dict[Table, list[dict[str, Any]]] = {}
    order: dict[Table, _TablePlan] = {}
    for state in states:
        plan = plans[state]
        values = state.dict
        for key, default in plan.defaults:
            if key not in values:
                values[key] = default()
        if plan.version_key is not None and values.get(plan.version_key) is None:
            values[plan.version_key] = 1
        row = {column: values.get(key) for key, column in plan.columns}
        by_table.setdefault(plan.table, []).append(row)
        order[plan.table] = plan
    for table in sorted(by_table, key=lambda t: order[t].order):
        rows = by_table[table]
        execute_write(conn, order[table].insert, rows if len(rows) > 1 else rows[0])


def _changes(state: InstanceState[Any], plan: _TablePlan) -> tuple[Update, dict[str, Any]] | None:
    """The UPDATE of the record's changed columns, guarded by its version, with its parameters; None
    when nothing changed. The record's version and update time move on in memory as they will in the
    row."""
    values = state.dict
    committed = state.committed_state
    columns: dict[str, str] = {}
    for key, column in plan.columns:
        if key in committed and key in values:
            before = committed[key]
            # An attribute set to the value it had is no change.
            if before == values[key] and type(before) is type(values[key]):
                continue
            columns[key] = column
    if not columns:
        return None
    for key, column, value in plan.onupdate:
        if key not in columns:
            values[key] = value()
            columns[key] = column
    params = {f"v_{column}": values[key] for key, column in columns.items()}
    params["w_pk"] = values[plan.pk_key]
    if plan.version_key is not None and plan.version_column is not None:
        old = int(committed.get(plan.version_key, values[plan.version_key]) or 0)
        params["w_version"] = old
        values[plan.version_key] = old + 1
        params[f"v_{plan.version_column}"] = old + 1
        columns[plan.version_key] = plan.version_column
    return _update_statement(plan, frozenset(columns.values())), params


def _update(
    conn: Connection, states: list[InstanceState[Any]], plans: dict[InstanceState[Any], _TablePlan]
) -> None:
    """Changed records, one statement per table and set of changed columns, in foreign-key order."""
    groups: dict[Update, list[dict[str, Any]]] = {}
    tables: dict[Update, _TablePlan] = {}
    for state in states:
        change = _changes(state, plans[state])
        if change is not None:
            statement, params = change
            groups.setdefault(statement, []).append(params)
            tables[statement] = plans[state]
    for statement in sorted(groups, key=lambda st: tables[st].order):
        rows = groups[statement]
        result = execute_write(conn, statement, rows if len(rows) > 1 else rows[0])
        if result.rowcount != len(rows):
            # Another writer changed one of these rows since this session read it (or removed it).
            raise StaleDataError(
                f"UPDATE statement on table '{tables[statement].table.name}' expected to update "
                f"{len(rows)} row(s); {result.rowcount} were matched."
            )

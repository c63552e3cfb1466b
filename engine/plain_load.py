"""Loading records of one class with a plain Core query, the way the ORM would load them.

An ORM query of one class costs some 200 µs of Python here before its rows are even read: its compile
state, a row processor built afresh for every column on every execution, the loading context. A
shipment reads the same few collections for every order (its lines, the summary's items, the
reservations), each a handful of rows. :class:`RecordQuery` reads the table's columns with Core and
makes the records the ORM would have made:

- what the session holds is flushed first, as an ORM query autoflushes;
- a record the session already holds is returned as it is (the identity map wins, as with the ORM
  without ``populate_existing``);
- a new one gets every column value and an identity, and joins the session through ``Session.add`` as
  a detached record would (``make_transient_to_detached``): persistent, clean, its relationships
  loading lazily on first use.

Only plain mapped classes qualify: one table, a single-column primary key, no inheritance, every
column attribute a column of that table. Anything else raises at import, where the query is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Column, ColumnElement, Select, Table, inspect, select
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

T = TypeVar("T")


class RecordQuery(Generic[T]):
    """``select(model).where(*criteria).order_by(*order_by)``, run as a Core query (see the module)."""

    def __init__(
        self,
        model: type[T],
        *criteria: ColumnElement[bool],
        order_by: tuple[Any, ...] = (),
        extra: tuple[ColumnElement[Any], ...] = (),
        for_update: bool = False,
    ) -> None:
        mapper = cast(Mapper[T], inspect(model))
        table = mapper.local_table
        if not isinstance(table, Table) or mapper.inherits is not None or len(mapper.primary_key) != 1:
            raise TypeError(f"{model.__name__} is not a plain one-table record")
        keys: list[str] = []
        columns: list[Column[Any]] = []
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            if len(prop.columns) != 1 or not isinstance(column, Column) or column.table is not table:
                raise TypeError(f"{model.__name__}.{prop.key} is not a column of {table.name}")
            keys.append(prop.key)
            columns.append(column)
        self.model = model
        self._mapper = mapper
        self._keys = tuple(keys)
        self._pk_index = columns.index(cast(Column[Any], mapper.primary_key[0]))
        self._width = len(columns)
        statement: Select[Any] = select(*columns, *extra).where(*criteria).order_by(*order_by)
        self.statement = statement.with_for_update() if for_update else statement

    def all(self, session: Session, params: Mapping[str, Any]) -> list[T]:
        return [record for record, _extra in self.with_extra(session, params)]

    def with_extra(self, session: Session, params: Mapping[str, Any]) -> list[tuple[T, tuple[Any, ...]]]:
        """Each record with the values of the query's ``extra`` columns in its row."""
        if session.autoflush:
            session.flush()  # what an ORM query does first (a no-op when nothing is pending)
        rows = session.connection().execute(self.statement, params).all()
        identity_map = session.identity_map
        mapper, keys, pk_index, width = self._mapper, self._keys, self._pk_index, self._width
        found: list[tuple[T, tuple[Any, ...]]] = []
        for row in rows:
            extra = tuple(row[width:])
            held = identity_map.get(mapper.identity_key_from_primary_key((row[pk_index],)))
            if held is not None:
                found.append((held, extra))
                continue
            record = mapper.class_manager.new_instance()
            instance_state(record).dict.update(zip(keys, row[:width], strict=True))
            make_transient_to_detached(record)
            session.add(record)
            found.append((record, extra))
        return found

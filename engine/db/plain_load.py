"""Loading records of one class with a plain Core query, the way the ORM would load them.

An ORM query of one class costs some 200 µs of Python here before its rows are even read: its compile
state, a row processor built afresh for every column on every execution, the loading context. A
shipment reads the same few collections for every order (its lines, the summary's items, the
reservations), each a handful of rows. :class:`RecordQuery` reads the table's columns with Core and
makes the records the ORM would have made:

- what the session holds is flushed first, as an ORM query autoflushes;
- a record the session already holds is returned as it is (the identity map wins, as with the ORM
  without ``populate_existing``);
- a new one gets every column value and an identity, and joins the session as a detached record
  would (``make_transient_to_detached``): persistent, clean, its relationships loading lazily on
  first use. It joins through the session's own step for that (``Session._update_impl``, not public:
  SQLAlchemy is pinned below its next minor release, and ``tests/integration/engine/test_plain_load.py``
  holds the result to what an ORM query gives).

Only plain mapped classes qualify: one table, a single-column primary key, no inheritance, every
column attribute a column of that table. Anything else raises at import, where the query is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Column, ColumnElement, Row, Select, Table, inspect, select
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value

T = TypeVar("T")


class RecordQuery(Generic[T]):
    """``select(model).where(*criteria).order_by(*order_by)``, run as a Core query (see the module)."""

    def __init__(
        self,
        model: type[T],
        *criteria: ColumnElement[bool],
        order_by: tuple[Any, ...] = (),
        extra: tuple[ColumnElement[Any], ...] = (),
    ) -> None:
        self.model = model
        self._shape = RecordShape(model)
        columns = self._shape.columns
        self._width = len(columns)
        self.statement: Select[Any] = select(*columns, *extra).where(*criteria).order_by(*order_by)

    def all(self, session: Session, params: Mapping[str, Any]) -> list[T]:
        return [record for record, _extra in self.with_extra(session, params)]

    def with_extra(self, session: Session, params: Mapping[str, Any]) -> list[tuple[T, tuple[Any, ...]]]:
        """Each record with the values of the query's ``extra`` columns in its row."""
        rows = read_rows(session, self.statement, params)
        shape, width = self._shape, self._width
        return [(shape.record(session, row[:width]), tuple(row[width:])) for row in rows]


def read_rows(session: Session, statement: Select[Any], params: Mapping[str, Any]) -> Sequence[Row[Any]]:
    """The rows of a Core query on the session's connection, the session flushed first, as an ORM
    query autoflushes (a no-op when nothing is pending)."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params).all()


class RecordShape:
    """A plain mapped class's columns, in the order a Core query reads them, and how a row of them
    becomes a record of the session."""

    def __init__(self, model: type[Any], keys: tuple[str, ...] | None = None) -> None:
        mapper = cast(Mapper[Any], inspect(model))
        table = mapper.local_table
        if not isinstance(table, Table) or mapper.inherits is not None or len(mapper.primary_key) != 1:
            raise TypeError(f"{model.__name__} is not a plain one-table record")
        found: list[str] = []
        columns: list[Column[Any]] = []
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            if len(prop.columns) != 1 or not isinstance(column, Column) or column.table is not table:
                raise TypeError(f"{model.__name__}.{prop.key} is not a column of {table.name}")
            if keys is not None and prop.key not in keys and column is not mapper.primary_key[0]:
                continue
            found.append(prop.key)
            columns.append(column)
        self._mapper = mapper
        self.keys = tuple(found)
        self.columns = tuple(columns)
        self._pk_index = columns.index(cast(Column[Any], mapper.primary_key[0]))

    def record(self, session: Session, values: Sequence[Any], *, refresh: bool = False) -> Any:
        """The record of this row: the session's own if it holds one (its columns read again with
        ``refresh``, as ``populate_existing`` would), else a new persistent one. A shape of only some
        columns (``keys``) leaves the others to load when first used, as ``load_only`` does."""
        mapper = self._mapper
        held = session.identity_map.get(mapper.identity_key_from_primary_key((values[self._pk_index],)))
        if held is not None:
            if refresh:
                for key, value in zip(self.keys, values, strict=True):
                    set_committed_value(held, key, value)
            return held
        record = mapper.class_manager.new_instance()
        instance_state(record).dict.update(zip(self.keys, values, strict=True))
        make_transient_to_detached(record)
        # What Session.add does with a detached record, less its cascade along relationships: a record
        # fresh from its row has none loaded to cascade to (and the walk costs more than the rest).
        session._update_impl(instance_state(record))
        return record

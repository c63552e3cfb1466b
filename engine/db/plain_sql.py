"""Sending a Core INSERT, UPDATE or DELETE as its compiled SQL text, compiled once per dialect.

``Connection.execute`` of a Core statement looks the statement up in the compiled cache, builds the
parameters bind by bind and sets up a result object each time: about 40 µs a statement here, six
times what SQLite takes to run it, and an order writes some sixty rows. :func:`execute_write` does
that work once per statement, dialect and set of parameter names (the SQL text, the order of its
binds, each bind's processor, taken from the column types as SQLAlchemy takes them), then sends the
text with ``Connection.exec_driver_sql``. So the connection's events still see every statement (the
write tracking of ``engine.transactions``, the bench's recorder) and the rows written are the same.

A column the parameters leave out gets its Python-side default (or, in an UPDATE, its onupdate), row
by row, as ``Connection.execute`` gives it. A statement that needs more than that (a SQL expression as
a default, a value computed by the database to fetch back, an expanding IN, an escaped bind name) goes
through ``Connection.execute`` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Connection, CursorResult, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

Processor = Callable[[Any], Any] | None
_REQUIRED = object()


class _Plain:
    """One statement as its SQL text for one dialect and one set of parameter names."""

    def __init__(self, sql: str, positional: bool, binds: tuple[tuple[str, Processor, Any], ...]) -> None:
        self.sql = sql
        self.positional = positional
        # Per bind, in the order the text takes them: its name, its processor, and the value it has
        # when the parameters do not give one (``_REQUIRED`` when they must, a :class:`_Default` when
        # a column's Python-side default makes it, row by row).
        self.binds = binds
        self._names = tuple(name for name, _process, _fixed in binds)
        # The common case, every value from the parameters, in one C-level call (itemgetter), then
        # the processors only where there are some.
        self._pick = (
            itemgetter(*self._names)
            if binds and all(fixed is _REQUIRED for _name, _process, fixed in binds)
            else None
        )
        self._processed = tuple((index, process) for index, (_n, process, _f) in enumerate(binds) if process)

    def one(self, params: Mapping[str, Any]) -> Any:
        values: list[Any]
        if self._pick is not None:
            picked = self._pick(params)
            values = list(picked) if len(self._names) > 1 else [picked]
        else:
            values = []
            for name, _process, fixed in self.binds:
                if fixed is _REQUIRED:
                    values.append(params[name])
                elif type(fixed) is _Default:
                    values.append(fixed.make())
                else:
                    values.append(fixed)
        # Every processor sees None too: a JSON column writes it as JSON null.
        for index, process in self._processed:
            values[index] = process(values[index])
        if self.positional:
            return tuple(values)
        return dict(zip(self._names, values, strict=True))


@dataclass(frozen=True)
class _Default:
    """A column's Python-side default (or onupdate) for a row that does not give its value."""

    make: Callable[[], Any]


def python_default(default: Any) -> Callable[[], Any] | None:
    """What a column's ``default`` or ``onupdate`` gives a row that leaves the column out, as a call
    of no argument; None when it is not ours to compute: a SQL expression, a sequence, or a callable
    that takes SQLAlchemy's execution context (and may read the row's other values from it)."""
    if default is None:
        return None
    if default.is_scalar:
        value = default.arg
        return lambda: value
    if default.is_callable:
        # SQLAlchemy wraps a callable of no argument to take the context; it keeps the one it was given.
        given = getattr(default, "_fn", None)
        if given is None or given is default.arg:
            return None
        return cast(Callable[[], Any], given)
    return None


_MAX_PLANS = 4096
# Per dialect (an engine's own: its version and settings shape the text), then by the statement object
# itself (the statements sent here are built once and kept) and the parameter names.
_plans: WeakKeyDictionary[Dialect, dict[tuple[UpdateBase, tuple[str, ...]], _Plain | None]] = (
    WeakKeyDictionary()
)


def _plan(statement: UpdateBase, dialect: Dialect, keys: frozenset[str]) -> _Plain | None:
    compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))
    assert isinstance(compiled, SQLCompiler)
    # (Columns SET to a SQL expression, ``postfetch``, need nothing more: only an ORM flush or
    # return_defaults() reads them back, and neither comes here.)
    if (
        compiled.returning
        or compiled.effective_returning
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.escaped_bind_names
    ):
        return None
    # Columns whose Python-side default (INSERT) or onupdate (UPDATE) fills in what the row leaves out
    # (an updated_at), by their bind's name.
    made: dict[str, _Default] = {}
    for columns, on_update in ((compiled.insert_prefetch, False), (compiled.update_prefetch, True)):
        for column in columns:
            make = python_default(column.onupdate if on_update else column.default)
            if make is None:
                return None
            made[column.key] = _Default(make)
    names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
    binds: list[tuple[str, Processor, Any]] = []
    for name in names:
        bind = compiled.binds.get(name)
        if bind is None or bind.expanding or bind.callable is not None:
            return None
        if name in keys:
            fixed = _REQUIRED
        elif name in made:
            fixed = made[name]
        elif bind.required:
            return None  # a missing parameter: Connection.execute says so
        else:
            fixed = bind.value  # a value written into the statement, such as SET claimed_by = NULL
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((name, processor, fixed))
    if not made.keys() <= set(names):
        return None  # a default whose bind goes by another name: not ours to place
    return _Plain(compiled.string, bool(compiled.positional), tuple(binds))


def execute_write(
    conn: Connection, statement: UpdateBase, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
) -> CursorResult[Any]:
    """``conn.execute(statement, params)``, sent as plain SQL text (see the module's docstring).

    ``params`` is one row's parameters or, for an executemany, a list of rows with the same names.
    """
    # (type() rather than isinstance: an ABC check costs more than most of what follows.)
    single = type(params) is dict or (type(params) is not list and isinstance(params, Mapping))
    rows = cast(list[Mapping[str, Any]], [params] if single else params)
    if not rows:
        return conn.execute(statement, params)
    first = rows[0]
    keys = tuple(first)
    dialect = conn.dialect
    plans = _plans.get(dialect)
    if plans is None:
        plans = _plans[dialect] = {}
    key = (statement, keys)
    try:
        plain = plans[key]
    except KeyError:
        if len(plans) >= _MAX_PLANS:
            plans.clear()  # statements built afresh on every call would otherwise pile up here
        plain = plans[key] = _plan(statement, dialect, frozenset(keys))
    if plain is None or (len(rows) > 1 and any(row.keys() != first.keys() for row in rows)):
        return conn.execute(statement, params)
    if single:
        return conn.exec_driver_sql(plain.sql, plain.one(first))
    return conn.exec_driver_sql(plain.sql, [plain.one(row) for row in rows])

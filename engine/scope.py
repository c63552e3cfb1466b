"""The names a flow's expressions read: run variables, ``summary`` and friends, live records."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.codec import RecordRef
from engine.registry import ActionRegistry, ScopeRequest

CLOCK_KEY = "@clock"


class LiveRecord(Mapping[str, Any]):
    """A record bound with ``as``: read through its loader when first read in a step, never stale."""

    def __init__(self, ref: RecordRef, registry: ActionRegistry, session: Session | None) -> None:
        self.ref = ref
        self._registry = registry
        self._session = session
        self._data: Mapping[str, Any] | None = None

    def _load(self) -> Mapping[str, Any]:
        if self._data is None:
            loader = self._registry.record_loaders.get(self.ref.kind)
            loaded = loader(self._session, self.ref.id) if loader is not None else None
            # Without a loader (in-memory runs) or once the record is gone, the last known copy is all
            # there is.
            self._data = loaded if loaded is not None else self.ref.snapshot
        return self._data

    def __getitem__(self, key: str) -> Any:
        if key == "id" and key not in self._load():
            return self.ref.id
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def live(value: Any, registry: ActionRegistry, session: Session | None) -> Any:
    """Record references (alone, in lists, or one level down in a subflow's result) made live."""
    kind = type(value)
    if kind is RecordRef:
        return LiveRecord(value, registry, session)
    if kind is list and value and any(type(v) is RecordRef or type(v) is dict for v in value):
        return [live(v, registry, session) for v in value]
    if kind is dict and any(type(v) is RecordRef for v in value.values()):
        return {k: LiveRecord(v, registry, session) if type(v) is RecordRef else v for k, v in value.items()}
    return value


_PLAIN = frozenset({int, str, bool, type(None), Decimal, float})


class Scope(Mapping[str, Any]):
    """Resolves providers (``summary``) and live records only when an expression reads them."""

    def __init__(
        self,
        variables: Mapping[str, Any],
        registry: ActionRegistry,
        session: Session | None,
        subject_id: str | None,
        clock: Clock,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self._variables = variables
        self._registry = registry
        self._session = session
        self._subject_id = subject_id
        self._extra = extra or {}
        self._cache: dict[str, Any] = {CLOCK_KEY: clock.now}

    def __getitem__(self, key: str) -> Any:
        if key in self._cache:
            return self._cache[key]
        if not self._extra and key in self._variables:
            value = self._variables[key]
            # Scalars, the common case, need neither wrapping nor caching.
            if type(value) in _PLAIN:
                return value
        if key in self._extra:
            value = live(self._extra[key], self._registry, self._session)
        elif key in self._variables:
            value = live(self._variables[key], self._registry, self._session)
        elif key in self._registry.scopes:
            value = self._registry.scopes[key](ScopeRequest(self._session, self._subject_id))
            if value is None:
                raise KeyError(key)
        else:
            raise KeyError(key)
        self._cache[key] = value
        return value

    def __iter__(self) -> Iterator[str]:
        seen = {*self._extra, *self._variables, *self._registry.scopes, CLOCK_KEY}
        return iter(sorted(seen))

    def __len__(self) -> int:
        return len({*self._extra, *self._variables, *self._registry.scopes, CLOCK_KEY})

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return (
            key in self._cache or key in self._extra or key in self._variables or key in self._registry.scopes
        )


def plain(value: Any) -> Any:
    """Mappings (live records, facades) turned into dicts, so pydantic validates them as objects."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value

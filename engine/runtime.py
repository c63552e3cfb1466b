"""What every run needs besides its state: the registry, the clock, limits, and compiled graphs."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from dsl.catalog import Catalog
from dsl.flowgraph import FlowGraph
from engine.clock import Clock, SystemClock
from engine.registry import ActionRegistry, default_registry

DEFAULT_MAX_STEPS = 10_000
# ``retry N`` without ``every``: wait this long before the first retry.
DEFAULT_RETRY_EVERY_S = 10.0
# Back-off doubles the delay each attempt, up to this many times the declared interval.
MAX_BACKOFF_FACTOR = 8


@dataclass
class Runtime:
    registry: ActionRegistry = field(default_factory=default_registry)
    clock: Clock = field(default_factory=SystemClock)
    max_steps: int = DEFAULT_MAX_STEPS
    # A claim on due work lasts this long; a worker that dies loses it and another takes over.
    lease_s: float = 60.0
    _graphs: dict[str, dict[str, FlowGraph]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _catalog: Catalog | None = None

    def catalog(self) -> Catalog:
        if self._catalog is None:
            from engine.catalog import build_catalog

            self._catalog = build_catalog(self.registry)
        return self._catalog

    def invalidate_catalog(self) -> None:
        self._catalog = None

    def graphs(self, key: str, source: str) -> dict[str, FlowGraph]:
        """The compiled flows of ``source``, cached under ``key`` (a FlowVersion id: versions never change
        once a run is pinned to them)."""
        with self._lock:
            cached = self._graphs.get(key)
        if cached is not None:
            return cached
        from dsl import compile_flows

        compiled = {g.id: g for g in compile_flows(source, self.catalog())}
        with self._lock:
            self._graphs[key] = compiled
        return compiled

    def cached_graphs(self, key: str) -> dict[str, FlowGraph] | None:
        """The flows already compiled under ``key``, if any (lets a caller skip reading the source)."""
        with self._lock:
            return self._graphs.get(key)

    def forget(self, key: str) -> None:
        with self._lock:
            self._graphs.pop(key, None)

    def retry_delay(self, every_s: float, attempt: int) -> float:
        base = every_s if every_s > 0 else DEFAULT_RETRY_EVERY_S
        return float(base * min(2 ** max(attempt - 1, 0), MAX_BACKOFF_FACTOR))


_default: Runtime | None = None


def default_runtime() -> Runtime:
    global _default
    if _default is None:
        _default = Runtime()
    return _default


def set_default_runtime(runtime: Runtime) -> None:
    global _default
    _default = runtime

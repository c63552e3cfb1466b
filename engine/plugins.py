"""Loading plugin actions from the ``ordo.actions`` entry-point group.

A distribution declares ``[project.entry-points."ordo.actions"] acme = "acme_ordo:register"``. The entry
point's name is the namespace: ``register`` receives a :class:`PluginRegistrar` and every action it
registers is named ``acme.<name>``.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.registry import ActionRegistry, PluginLoadError

log = logging.getLogger(__name__)


def load_entry_points(registry: ActionRegistry, group: str) -> list[PluginLoadError]:
    from engine.registry import PluginLoadError, PluginRegistrar

    errors: list[PluginLoadError] = []
    for entry_point in entry_points(group=group):
        label = f"{entry_point.name} = {entry_point.value}"
        try:
            if not entry_point.name.isidentifier():
                raise ValueError(f"namespace {entry_point.name!r} is not an identifier")
            register = entry_point.load()
            if not callable(register):
                raise TypeError("the entry point must name a callable register(registrar)")
            register(PluginRegistrar(registry, entry_point.name))
        except Exception as exc:  # a broken plugin must never stop the engine from starting
            log.warning("plugin %s failed to load: %s", label, exc)
            errors.append(PluginLoadError(label, f"{type(exc).__name__}: {exc}"))
    return errors

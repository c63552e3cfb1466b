"""Loading plugin actions from the ``ordo.actions`` entry-point group.

A distribution declares ``[project.entry-points."ordo.actions"] acme = "acme_ordo:register"``. The entry
point's name is the namespace: ``register`` receives a :class:`PluginRegistrar` and every action it
registers is named ``acme.<name>``. A plugin loads whole or not at all: when its ``register`` raises
half-way, the registry is put back as it was before it (what it added taken out, what it replaced
restored), so no flow can come to depend on half a plugin.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.registry import ActionRegistry, LoadedPlugin, PluginLoadError

log = logging.getLogger(__name__)


def load_entry_points(
    registry: ActionRegistry, group: str
) -> tuple[list[LoadedPlugin], list[PluginLoadError]]:
    """Each entry point of ``group`` registered into ``registry``: those that loaded, and those that
    failed with why."""
    from engine.registry import LoadedPlugin, PluginLoadError, PluginRegistrar, entry_point_origin

    loaded: list[LoadedPlugin] = []
    errors: list[PluginLoadError] = []
    for entry_point in entry_points(group=group):
        label = f"{entry_point.name} = {entry_point.value}"
        actions_before, events_before = dict(registry.actions), dict(registry.events)
        try:
            if not entry_point.name.isidentifier():
                raise ValueError(f"namespace {entry_point.name!r} is not an identifier")
            register = entry_point.load()
            if not callable(register):
                raise TypeError("the entry point must name a callable register(registrar)")
            register(PluginRegistrar(registry, entry_point.name))
        except Exception as exc:  # a broken plugin must never stop the engine from starting
            # Back to what it was: what the plugin added goes, what it replaced comes back.
            registry.actions.clear()
            registry.actions.update(actions_before)
            registry.events.clear()
            registry.events.update(events_before)
            log.warning("plugin %s failed to load: %s", label, exc)
            errors.append(PluginLoadError(label, f"{type(exc).__name__}: {exc}"))
            continue
        distribution, version = entry_point_origin(entry_point)
        loaded.append(
            LoadedPlugin(
                namespace=entry_point.name,
                entry_point=label,
                distribution=distribution,
                version=version,
                actions=_changed(registry.actions, actions_before),
                events=_changed(registry.events, events_before),
            )
        )
    return loaded, errors


def _changed(now: Mapping[str, object], before: Mapping[str, object]) -> tuple[str, ...]:
    """The names whose definition the plugin added or replaced."""
    return tuple(sorted(name for name, definition in now.items() if before.get(name) is not definition))

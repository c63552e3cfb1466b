"""What this Ordo has installed, described for the people who run it: every action a flow can ``do``
(its inputs, its result, whether it calls outside), the events a flow can start on or wait for, and each
plugin (actions and payment gateways) that loaded or failed to load, with why.

A plugin that fails never stops Ordo from starting (``engine.plugins``, ``orders.gateway_plugins``);
this is where an admin or an integrator sees that it failed, in the API (``GET /api/v1/plugins``,
``GET /api/v1/flow-actions``), the designer (``/ui/steps``) and the CLI (``ordo plugins``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.registry import ENTRY_POINT_GROUP, ActionDef, ActionRegistry
from engine.runtime import Runtime
from orders.gateway_plugins import GROUP as GATEWAY_GROUP
from orders.gateway_plugins import gateway_plugins


@dataclass(frozen=True)
class PluginStatus:
    group: str  # the entry-point group: ordo.actions or ordo.gateways
    name: str  # the action namespace, or the gateway's name
    entry_point: str
    loaded: bool
    distribution: str | None = None
    version: str | None = None
    actions: tuple[str, ...] = ()  # what an action plugin registered
    events: tuple[str, ...] = ()
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "name": self.name,
            "entry_point": self.entry_point,
            "status": "loaded" if self.loaded else "failed",
            "distribution": self.distribution,
            "version": self.version,
            "actions": list(self.actions),
            "events": list(self.events),
            "error": self.error,
        }


def _name_of(label: str) -> str:
    return label.partition(" = ")[0].strip()


def plugin_statuses(registry: ActionRegistry) -> list[PluginStatus]:
    """Every plugin entry point seen, action plugins first, each group by name."""
    actions = [
        PluginStatus(
            ENTRY_POINT_GROUP,
            plugin.namespace,
            plugin.entry_point,
            True,
            plugin.distribution,
            plugin.version,
            plugin.actions,
            plugin.events,
        )
        for plugin in registry.plugins
    ]
    actions += [
        PluginStatus(ENTRY_POINT_GROUP, _name_of(e.entry_point), e.entry_point, False, error=e.message)
        for e in registry.plugin_errors
    ]
    gateways = gateway_plugins()
    found = [
        PluginStatus(GATEWAY_GROUP, g.name, g.entry_point, True, g.distribution, g.version)
        for g in gateways.loaded
    ]
    found += [
        PluginStatus(GATEWAY_GROUP, _name_of(e.entry_point), e.entry_point, False, error=e.error)
        for e in gateways.errors
    ]
    return sorted(actions, key=lambda p: p.name) + sorted(found, key=lambda p: p.name)


def _input_schema(definition: ActionDef) -> dict[str, Any] | None:
    try:
        return definition.input_model.model_json_schema()
    except Exception:  # a plugin's input type with no JSON Schema (pydantic refuses some)
        return None


def action_descriptions(runtime: Runtime) -> list[dict[str, Any]]:
    """Each action flows can use, by category then name: what ``do`` takes and what ``as`` binds."""
    catalog = runtime.catalog()
    described = []
    for name, definition in runtime.registry.actions.items():
        spec = catalog.actions.get(name)
        params = list(spec.params.values()) if spec is not None else []
        result = sorted(spec.result_fields) if spec is not None and spec.result_fields is not None else None
        described.append(
            {
                "name": name,
                "category": definition.category,
                "description": definition.description,
                "plugin": definition.plugin,
                "external": definition.external,
                "timeout_s": definition.timeout_s,
                "params": [{"name": p.name, "type": p.type, "required": p.required} for p in params],
                "result_fields": result,
                "input_schema": _input_schema(definition),
            }
        )
    return sorted(described, key=lambda a: (a["category"], a["name"]))


def event_descriptions(registry: ActionRegistry) -> list[dict[str, Any]]:
    return [
        {"name": name, "payload_fields": sorted(event.payload_fields)}
        for name, event in sorted(registry.events.items())
    ]

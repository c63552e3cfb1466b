"""The flow language's view of the registry: which actions, parameters, results and events exist.

``current_catalog()`` is what ``ordo flow check`` uses. It needs the built-in actions, which live in
``orders``; the engine cannot import that layer, so the app registers a loader with
``set_builtin_loader(fn)`` (``fn(registry)`` registers the built-ins), and ``current_catalog()`` calls it
once, loads the entry-point plugins, and builds the catalog.
"""

from __future__ import annotations

import datetime as dt
import types
import weakref
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from dsl.catalog import ActionSpec, Catalog, EventSpec, ParamSpec
from engine.registry import ActionRegistry, DslType, default_registry

_builtin_loader: Callable[[ActionRegistry], None] | None = None
# Held weakly: a registry's id() is reused once it is collected, and a new registry must load again.
_loaded: weakref.WeakSet[ActionRegistry] = weakref.WeakSet()


def set_builtin_loader(loader: Callable[[ActionRegistry], None]) -> None:
    """Called by the app (``api``) with the function that registers the built-in actions."""
    global _builtin_loader
    _builtin_loader = loader


def prepare(registry: ActionRegistry) -> ActionRegistry:
    """Built-ins (through the app's loader) and plugins, each loaded once per registry."""
    if registry not in _loaded:
        _loaded.add(registry)
        if _builtin_loader is not None:
            _builtin_loader(registry)
        registry.load_plugins()
    return registry


def current_catalog(registry: ActionRegistry | None = None) -> Catalog:
    return build_catalog(prepare(registry or default_registry()))


def dsl_type(annotation: Any) -> str:
    """The language type of a pydantic field annotation."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        marker = next((m for m in extra if isinstance(m, DslType)), None)
        return marker.name if marker is not None else dsl_type(base)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return dsl_type(options[0]) if len(options) == 1 else "any"
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is Decimal or annotation is float:
        return "decimal"
    if annotation is str:
        return "text"
    if annotation is dt.date:
        return "date"
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple):
        return "list"
    if origin in (dict, Mapping) or annotation is dict:
        return "record"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "record"
    return "any"


def build_catalog(registry: ActionRegistry, flows: frozenset[str] | None = None) -> Catalog:
    actions: dict[str, ActionSpec] = {}
    for name, definition in registry.actions.items():
        params = {
            field_name: ParamSpec(
                field_name,
                dsl_type(
                    info.annotation if not info.metadata else Annotated[(info.annotation, *info.metadata)]
                ),
                info.is_required(),
            )
            for field_name, info in definition.input_model.model_fields.items()
        }
        result_fields = frozenset(definition.output_model.model_fields)
        if definition.output_model.model_config.get("extra") == "allow":
            result_fields_opt: frozenset[str] | None = None
        else:
            result_fields_opt = result_fields
        actions[name] = ActionSpec(name, params, result_fields_opt)
    events = {name: EventSpec(name, e.payload_fields) for name, e in registry.events.items()}
    return Catalog(actions=actions, events=events, flows=flows)

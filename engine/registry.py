"""The action registry: the only way the engine knows what a flow step can do.

Built-in actions (registered by ``orders``) and plugins (entry-point group ``ordo.actions``) register
the same way. Besides actions, the registry holds what the domain plugs into the engine without the
engine importing it: scope providers (``summary``), live record loaders, event declarations, guards
for service actions and handlers called when a run fails.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import EntryPoint
from typing import Any, TypeVar, get_type_hints

from pydantic import BaseModel
from sqlalchemy.orm import Session

from engine.clock import Clock, SystemClock

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "ordo.actions"
DEFAULT_CATEGORY = "Fulfillment"
PLUGIN_CATEGORY = "Plugin"
# Plugins run in a worker thread with this bound unless they declare their own, so one that hangs
# fails its step instead of holding the engine.
DEFAULT_PLUGIN_TIMEOUT_S = 30.0


class ActionError(Exception):
    """An action's own, expected failure: the step fails with this message and code.

    ``retryable=False`` says trying again cannot help (a declined card, a refused request): the step
    skips its remaining retries and follows its error edge at once.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "action_failed",
        category: str | None = None,
        retryable: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.category = category
        self.retryable = retryable


class NotAllowed(ActionError):
    """The record does not allow this now; a service action refused this way changes nothing (409)."""

    def __init__(self, message: str, *, code: str = "not_allowed") -> None:
        super().__init__(message, code=code)


class Emitter:
    """What an action calls to publish a domain event; the engine supplies one per step."""

    def __call__(self, event_name: str, payload: Mapping[str, Any]) -> None:  # pragma: no cover
        raise NotImplementedError


SIMULATION_KEY = "ordo.simulation"


def simulating(session: Session | None) -> bool:
    """Whether ``session`` belongs to a simulation: nothing it does may reach outside systems."""
    return session is not None and bool(session.info.get(SIMULATION_KEY))


@dataclass
class ActionContext:
    """Everything an action may use besides its inputs."""

    session: Session | None
    subject_id: str | None
    run_id: str
    node_id: str
    attempt: int
    business_key: str
    # When the step's first attempt began (None outside a run): see :meth:`decided_at`.
    first_attempt_at: datetime | None = None
    clock: Clock = field(default_factory=SystemClock)
    emitter: Callable[[str, Mapping[str, Any]], None] | None = None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def in_simulation(self) -> bool:
        """A simulation runs this step: an action must not call outside systems (see docs/plugins.md)."""
        return simulating(self.session)

    @property
    def idempotency_key(self) -> str:
        """Stable across retries of the same step, different for each visit of the node in the run."""
        return f"{self.run_id}:{self.node_id}:{self.business_key}"

    def key_for(self, suffix: str) -> str:
        """A derived key for an action that makes several external calls in one step."""
        return f"{self.idempotency_key}:{suffix}"

    def now(self) -> datetime:
        return self.clock.now()

    def decided_at(self) -> datetime:
        """The time an action's decisions are made as of: its step's first attempt, for every retry.

        A retry repeats its first attempt's external calls with the same keys, so it must choose what
        the first attempt chose. A choice that depends on the clock (which authorizations have lapsed)
        is made as of the first attempt, not as of the retry, or a retry could leave out a call the
        gateway already carried out and make another in its place.
        """
        return self.first_attempt_at or self.clock.now()

    @property
    def retried_from_before_first_attempt_at(self) -> bool:
        """A retry of a step whose first attempt was made before Ordo kept its time (stored by an
        earlier release): its calls went out keyed as that release keyed them."""
        return self.attempt > 1 and self.first_attempt_at is None

    def emit(self, event_name: str, payload: Mapping[str, Any]) -> None:
        """Publish a domain event in the step's own transaction (the outbox row commits with it)."""
        self.events.append((event_name, dict(payload)))
        if self.emitter is not None:
            self.emitter(event_name, payload)


ActionFunc = Callable[[ActionContext, Any], Any]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class DslType:
    """The flow language type of a field: ``Annotated[list[X], DslType("item_quantities")]``."""

    name: str


@dataclass(frozen=True)
class ActionDef:
    name: str
    func: ActionFunc
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    category: str = DEFAULT_CATEGORY
    timeout_s: float | None = None
    description: str = ""
    plugin: bool = False
    # The output is a domain record of this kind (its ``id`` field names it), read live when bound.
    record_kind: str | None = None
    # The action talks to a system outside the database (a payment gateway, a web service): the driver
    # commits what led up to it first, so no call goes out for a run that a crash could still undo.
    external: bool = False


@dataclass(frozen=True)
class EventDef:
    name: str
    payload_fields: frozenset[str]


@dataclass(frozen=True)
class ScopeRequest:
    session: Session | None
    subject_id: str | None


@dataclass(frozen=True)
class RunFailure:
    """Handed to run-failure handlers after the engine wrote its own ProcessException row."""

    session: Session | None
    subject_id: str | None
    run_id: str
    flow_id: str
    node_id: str | None
    category: str
    message: str
    exception_id: str | None


ScopeProvider = Callable[[ScopeRequest], Mapping[str, Any] | None]
RecordLoader = Callable[[Session | None, str], Mapping[str, Any] | None]
FailureHandler = Callable[[RunFailure], None]
ServiceGuard = Callable[[Session | None, str | None], bool]
# Limits on a service action's inputs now, keyed by input name or by input type (``item_quantities``).
ServiceBounds = Callable[[Session | None, str | None], Mapping[str, Any]]


@dataclass(frozen=True)
class PluginLoadError:
    entry_point: str
    message: str


@dataclass(frozen=True)
class LoadedPlugin:
    """An entry point that loaded: its namespace, where it came from, and what it registered."""

    namespace: str
    entry_point: str
    distribution: str | None
    version: str | None
    actions: tuple[str, ...]
    events: tuple[str, ...]


def entry_point_origin(entry_point: EntryPoint) -> tuple[str | None, str | None]:
    """The distribution that declared ``entry_point`` and its version, when its metadata says."""
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return None, None
    try:
        return dist.metadata["Name"], dist.version
    except Exception:  # metadata a plugin's packaging left broken is no reason to refuse the plugin
        return None, None


class ActionRegistry:
    def __init__(self) -> None:
        self.actions: dict[str, ActionDef] = {}
        self.events: dict[str, EventDef] = {}
        self.scopes: dict[str, ScopeProvider] = {}
        self.record_loaders: dict[str, RecordLoader] = {}
        self.failure_handlers: list[FailureHandler] = []
        self.service_guards: dict[str, ServiceGuard] = {}
        self.service_bounds: dict[str, ServiceBounds] = {}
        self.plugin_errors: list[PluginLoadError] = []
        self.plugins: list[LoadedPlugin] = []
        self._plugins_loaded = False
        self._lock = threading.Lock()

    # -- actions ------------------------------------------------------------------------------------
    def register(
        self,
        name: str,
        func: ActionFunc,
        *,
        input_model: type[BaseModel] | None = None,
        output_model: type[BaseModel] | None = None,
        category: str | None = None,
        timeout_s: float | None = None,
        description: str = "",
        plugin: bool = False,
        record_kind: str | None = None,
        external: bool | None = None,
        replace: bool = False,
    ) -> ActionDef:
        """Register ``func`` as action ``name``; models default to the function's annotations.

        ``external`` says the action calls outside the database; plugins are taken to unless they say
        ``external=False``.
        """
        if not name or any(not part.isidentifier() for part in name.split(".")):
            raise ValueError(f"invalid action name {name!r}")
        if plugin and "." not in name:
            raise ValueError(f"plugin action {name!r} must be namespaced, as in 'acme.fraud_score'")
        if name in self.actions and not replace:
            raise ValueError(f"action {name!r} is already registered")
        hints = get_type_hints(func)
        params = [p for p in hints if p != "return"]
        input_model = input_model or (hints.get(params[1]) if len(params) >= 2 else None)
        output_model = output_model or hints.get("return")
        if not (isinstance(input_model, type) and issubclass(input_model, BaseModel)):
            raise TypeError(f"action {name!r}: the input must be a pydantic model")
        if not (isinstance(output_model, type) and issubclass(output_model, BaseModel)):
            raise TypeError(f"action {name!r}: the output must be a pydantic model")
        definition = ActionDef(
            name=name,
            func=func,
            input_model=input_model,
            output_model=output_model,
            category=category or (PLUGIN_CATEGORY if plugin else DEFAULT_CATEGORY),
            timeout_s=timeout_s if timeout_s is not None else (DEFAULT_PLUGIN_TIMEOUT_S if plugin else None),
            description=description or (func.__doc__ or "").strip().split("\n")[0],
            plugin=plugin,
            record_kind=record_kind,
            external=plugin if external is None else external,
        )
        self.actions[name] = definition
        return definition

    def action(
        self,
        name: str,
        *,
        category: str | None = None,
        timeout_s: float | None = None,
        description: str = "",
        record_kind: str | None = None,
        external: bool | None = None,
    ) -> Callable[[F], F]:
        """Decorator form of :meth:`register`."""

        def decorate(func: F) -> F:
            self.register(
                name,
                func,
                category=category,
                timeout_s=timeout_s,
                description=description,
                record_kind=record_kind,
                external=external,
            )
            return func

        return decorate

    def get(self, name: str) -> ActionDef | None:
        return self.actions.get(name)

    # -- what the domain plugs in -------------------------------------------------------------------
    def register_event(self, name: str, payload_fields: frozenset[str] | set[str] | tuple[str, ...]) -> None:
        self.events[name] = EventDef(name, frozenset(payload_fields))

    def register_scope(self, name: str, provider: ScopeProvider) -> None:
        """``provider`` returns the live Mapping bound to ``name`` (``summary``, ``order``) for a subject."""
        self.scopes[name] = provider

    def register_record_loader(self, kind: str, loader: RecordLoader) -> None:
        """``loader(session, id)`` reads a record of ``kind`` now, as a Mapping (None if gone)."""
        self.record_loaders[kind] = loader

    def on_run_failed(self, handler: FailureHandler) -> None:
        self.failure_handlers.append(handler)

    def register_service_guard(self, action_name: str, guard: ServiceGuard) -> None:
        """``guard(session, subject_id)`` says whether the service action may run on the subject now."""
        self.service_guards[action_name] = guard

    def register_service_bounds(self, action_name: str, bounds: ServiceBounds) -> None:
        """``bounds(session, subject_id)`` gives the limits of the action's inputs on the subject now
        (the most units per item, the largest amount), keyed by input name or type; shown to agents."""
        self.service_bounds[action_name] = bounds

    # -- plugins ------------------------------------------------------------------------------------
    def load_plugins(self, group: str = ENTRY_POINT_GROUP) -> list[PluginLoadError]:
        """Load every entry point of ``group`` once; a plugin that fails is reported, never fatal."""
        from engine.plugins import load_entry_points

        with self._lock:
            if self._plugins_loaded:
                return self.plugin_errors
            self._plugins_loaded = True
        loaded, errors = load_entry_points(self, group)
        self.plugins.extend(loaded)
        self.plugin_errors.extend(errors)
        return self.plugin_errors


class PluginRegistrar:
    """The view of the registry a plugin's ``register`` function receives: names go under its namespace."""

    def __init__(self, registry: ActionRegistry, namespace: str) -> None:
        self._registry = registry
        self.namespace = namespace

    def _full(self, name: str) -> str:
        return name if name.startswith(self.namespace + ".") else f"{self.namespace}.{name}"

    def register(self, name: str, func: ActionFunc, **options: Any) -> ActionDef:
        options["plugin"] = True
        return self._registry.register(self._full(name), func, **options)

    def action(
        self,
        name: str,
        *,
        category: str | None = None,
        timeout_s: float | None = None,
        description: str = "",
        external: bool | None = None,
    ) -> Callable[[F], F]:
        def decorate(func: F) -> F:
            self.register(
                name,
                func,
                category=category,
                timeout_s=timeout_s,
                description=description,
                external=external,
            )
            return func

        return decorate

    def register_event(self, name: str, payload_fields: frozenset[str] | set[str] | tuple[str, ...]) -> None:
        """Declare an event the plugin's actions emit. One that exists already may be declared again only
        with the same payload fields: a plugin never changes what flows waiting on it can read."""
        known = self._registry.events.get(name)
        if known is not None:
            if known.payload_fields != frozenset(payload_fields):
                raise ValueError(f"event {name!r} is already declared with other payload fields")
            return  # declared already, as it is: still its first declarer's
        self._registry.register_event(name, payload_fields)


_default: ActionRegistry | None = None


def default_registry() -> ActionRegistry:
    """The process-wide registry that ``orders`` registers its built-in actions into."""
    global _default
    if _default is None:
        _default = ActionRegistry()
    return _default

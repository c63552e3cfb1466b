"""Payment processors from plugins: the ``ordo.gateways`` entry-point group.

A distribution declares ``[project.entry-points."ordo.gateways"] acme = "acme_pay:AcmeGateway"``.
The entry point's name is the gateway's: orders name it in ``payment.gateway``. Its object is called
with no arguments (a class, or a function) and must give something with ``authorize``, ``capture``,
``refund`` and ``void`` as ``orders.gateway.PaymentGateway`` describes. A plugin that fails to load is
logged and reported, never fatal: its orders are refused as naming an unknown gateway.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from importlib.metadata import entry_points

from engine.registry import entry_point_origin
from orders.gateway import gateway_names, register_gateway

log = logging.getLogger(__name__)

GROUP = "ordo.gateways"
OPERATIONS = ("authorize", "capture", "refund", "void")
# What an order's payment.gateway can hold, and reads well in the records.
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class GatewayLoadError:
    entry_point: str
    error: str


@dataclass(frozen=True)
class LoadedGateway:
    name: str
    entry_point: str
    distribution: str | None
    version: str | None


@dataclass(frozen=True)
class GatewayPlugins:
    loaded: tuple[LoadedGateway, ...]
    errors: tuple[GatewayLoadError, ...]


_lock = threading.Lock()
_loaded: dict[str, GatewayPlugins] = {}


def load_gateway_plugins(group: str = GROUP) -> list[GatewayLoadError]:
    """Register every gateway of ``group``'s entry points, once per process; what failed, and why."""
    return list(gateway_plugins(group).errors)


def gateway_plugins(group: str = GROUP) -> GatewayPlugins:
    """The gateways of ``group``'s entry points that loaded and those that failed (loading them, once
    per process, if that has not happened yet)."""
    with _lock:
        if group not in _loaded:
            _loaded[group] = _load(group)
        return _loaded[group]


def _load(group: str) -> GatewayPlugins:
    loaded: list[LoadedGateway] = []
    errors: list[GatewayLoadError] = []
    for entry_point in entry_points(group=group):
        label = f"{entry_point.name} = {entry_point.value}"
        try:
            name = entry_point.name
            if not _NAME.fullmatch(name):
                raise ValueError(f"gateway name {name!r} is not 1-64 of a-z 0-9 _ starting with a letter")
            if name in gateway_names():
                raise ValueError(f"a payment gateway named {name!r} is already registered")
            gateway = entry_point.load()()
            missing = [op for op in OPERATIONS if not callable(getattr(gateway, op, None))]
            if missing:
                raise TypeError(f"the gateway has no {', '.join(missing)}")
            register_gateway(name, gateway)
        except Exception as exc:  # one broken processor must not stop Ordo (or the others) from starting
            log.warning("payment gateway plugin %s failed to load: %s", label, exc)
            errors.append(GatewayLoadError(label, f"{type(exc).__name__}: {exc}"))
            continue
        distribution, version = entry_point_origin(entry_point)
        loaded.append(LoadedGateway(name, label, distribution, version))
    return GatewayPlugins(tuple(loaded), tuple(errors))

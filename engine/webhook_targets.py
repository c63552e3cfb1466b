"""Where a webhook may be sent: an http(s) URL with a host, and by default not an address inside this
network (loopback, private, link-local, the cloud metadata service), so that an endpoint cannot turn
the worker into a probe of what only Ordo's own machines can reach.

``ORDO_WEBHOOKS_ALLOW_PRIVATE=1`` lifts the address rule, for receivers on the same machine or network
(the embedded set-up, tests). The rule is checked on the URL when an endpoint is made and on the
resolved addresses before each delivery; a name that resolves differently between that check and the
connection (DNS rebinding) is not caught here: a deployment that must rule it out sends through an
egress proxy.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import httpx

ALLOW_PRIVATE_ENV = "ORDO_WEBHOOKS_ALLOW_PRIVATE"


class TargetRefused(ValueError):
    """The URL is not one a webhook may be sent to; the message says why."""


def private_allowed() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global or ip.is_multicast


def check_url(url: str) -> httpx.URL:
    """``url`` parsed, or :class:`TargetRefused`: not http(s), no host, unparsable, or (unless private
    targets are allowed) an internal address written as a literal IP or ``localhost``."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise TargetRefused("must be an http:// or https:// URL with a host")
    if not private_allowed():
        host = parsed.host
        if host == "localhost" or host.endswith(".localhost"):
            raise TargetRefused(f"must not be this machine (set {ALLOW_PRIVATE_ENV}=1 to allow)")
        try:
            internal = _is_internal(host)
        except ValueError:
            internal = False  # a name: resolved and checked before each delivery
        if internal:
            raise TargetRefused(
                f"must not be a loopback, private or link-local address (set {ALLOW_PRIVATE_ENV}=1 to allow)"
            )
    return parsed


def check_resolved(url: httpx.URL) -> None:
    """Raise :class:`TargetRefused` when the host resolves to an internal address (and that is not
    allowed); a name that does not resolve is left to the request, which fails as unreachable."""
    if private_allowed():
        return
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    except OSError:
        return
    for _family, _type, _proto, _name, address in found:
        if _is_internal(str(address[0])):
            raise TargetRefused(f"{url.host} resolves to an internal address ({address[0]})")

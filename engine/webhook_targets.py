"""Where a webhook may be sent: an http(s) URL with a host, and by default not an address inside this
network (loopback, private, link-local, the cloud metadata service, and those same addresses carried
inside IPv6 forms: IPv4-mapped, 6to4, NAT64), so that an endpoint cannot turn the worker into a probe
of what only Ordo's own machines can reach.

``ORDO_WEBHOOKS_ALLOW_PRIVATE=1`` lifts the address rule, for receivers on the same machine or network
(the embedded set-up, tests). The rule is checked on the URL when an endpoint is made (names for this
machine, and addresses in any numeric form the resolver takes: ``127.1``, ``2130706433``) and on the
resolved addresses before each delivery, resolving the very name the request connects to (the ASCII
form of an international name). A name that resolves differently between that check and the
connection (DNS rebinding) is not caught here: a deployment that must rule it out sends through an
egress proxy.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import httpx

ALLOW_PRIVATE_ENV = "ORDO_WEBHOOKS_ALLOW_PRIVATE"
# The NAT64 prefix (RFC 6052): its last 32 bits are an IPv4 address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(ValueError):
    """The URL is not one a webhook may be sent to; the message says why."""


def private_allowed() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


def is_internal(address: str) -> bool:
    """Whether ``address`` (an IP address as text) is not a public unicast address, looking through
    the IPv6 forms that carry an IPv4 address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        carried = ip.ipv4_mapped or ip.sixtofour
        if carried is None and ip in _NAT64:
            carried = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if carried is not None and is_internal(str(carried)):
            return True
    return not ip.is_global or ip.is_multicast


def _numeric(host: str) -> list[str]:
    """The addresses ``host`` stands for when it is written as a number in any form the resolver takes
    (``10.0.0.1``, ``127.1``, ``0x7f000001``, ``::1``); [] for a name."""
    try:
        found = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError):
        return []
    return [str(entry[4][0]) for entry in found]


def check_url(url: str) -> httpx.URL:
    """``url`` parsed, or :class:`TargetRefused`: not http(s), no host, unparsable, or (unless private
    targets are allowed) a name for this machine or an internal address written as a number."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise TargetRefused("must be an http:// or https:// URL with a host")
    if not private_allowed():
        host = parsed.host.rstrip(".").lower()
        if host == "localhost" or host.endswith(".localhost"):
            raise TargetRefused(f"must not be this machine (set {ALLOW_PRIVATE_ENV}=1 to allow)")
        if any(is_internal(address) for address in _numeric(host)):
            raise TargetRefused(
                f"must not be a loopback, private or link-local address (set {ALLOW_PRIVATE_ENV}=1 to allow)"
            )
    return parsed


def check_resolved(url: httpx.URL) -> None:
    """Raise :class:`TargetRefused` when the host resolves to an internal address (and that is not
    allowed); a name that does not resolve is left to the request, which fails as unreachable."""
    if private_allowed():
        return
    # The name the connection will use: httpx connects to the ASCII (IDNA) form, which Python's own
    # resolver would spell differently for some international names.
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        # (Bounded by the system resolver's own timeouts: getaddrinfo takes none of its own.)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return
    for _family, _type, _proto, _name, address in found:
        if is_internal(str(address[0])):
            raise TargetRefused(f"{url.host} resolves to an internal address ({address[0]})")

"""Which webhook targets are refused: names for this machine, internal addresses in every numeric and
IPv6 form, and names that resolve inside the network, resolved as the connection will resolve them."""

from __future__ import annotations

import socket
from typing import Any

import pytest

import engine.webhook_targets as targets
from engine.webhook_targets import ALLOW_PRIVATE_ENV, TargetRefused, check_resolved, check_url, is_internal


@pytest.fixture(autouse=True)
def private_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://127.1/x",
        "http://2130706433/x",
        "http://0x7f000001/x",
        "http://0/x",
        "http://localhost/x",
        "http://localhost./x",
        "http://shop.localhost./x",
        "http://10.0.0.1/x",
        "http://172.16.5.4/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/x",
        "http://[::1]/x",
        "http://[fe80::1]/x",
        "http://[fd00::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[2002:0a00:0001::1]/x",  # 6to4 carrying 10.0.0.1
        "http://[64:ff9b::a00:1]/x",  # NAT64 carrying 10.0.0.1
        "ftp://example.com/x",
        "http:///x",
        "http://[::1/x",
    ],
)
def test_refused_when_the_endpoint_is_made(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_url(url)


@pytest.mark.parametrize(
    "url", ["https://example.com/hooks", "https://93.184.216.34/x", "http://[2606:4700::1111]/x"]
)
def test_public_targets_are_taken(url: str) -> None:
    assert check_url(url).host


def test_internal_targets_are_taken_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    assert check_url("http://127.0.0.1:8080/x").port == 8080


def _resolving_to(address: str, seen: list[str]) -> Any:
    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if kwargs.get("flags") == socket.AI_NUMERICHOST:
            raise socket.gaierror("not numeric")
        seen.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return fake


def test_a_name_that_resolves_inside_the_network_is_refused_before_sending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []
    monkeypatch.setattr(targets.socket, "getaddrinfo", _resolving_to("10.0.0.5", seen))
    with pytest.raises(TargetRefused, match="internal address"):
        check_resolved(check_url("https://shop.example/hooks"))
    assert seen == ["shop.example"]


def test_an_international_name_is_resolved_as_the_connection_spells_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []
    monkeypatch.setattr(targets.socket, "getaddrinfo", _resolving_to("93.184.216.34", seen))
    check_resolved(check_url("https://xn--fa-hia.de/hooks"))  # faß.de, which Python's resolver spells fass.de
    assert seen == ["xn--fa-hia.de"]


def test_addresses_inside_ipv6_forms_are_looked_through() -> None:
    assert (
        is_internal("::ffff:10.1.2.3") and is_internal("64:ff9b::7f00:1") and is_internal("2002:c0a8:0101::")
    )
    assert not is_internal("64:ff9b::5db8:d822")  # NAT64 of 93.184.216.34, a public address
    assert is_internal("fe80::1%eth0")

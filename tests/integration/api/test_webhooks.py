"""Outbound webhooks: endpoints through the API, each event fanned out to its subscribers, delivered
signed to a loopback receiver, retried with back-off, failed after the last attempt, retried by hand."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from engine.clock import ManualClock
from engine.models import OutboxEvent
from engine.models.webhook import WebhookDelivery, WebhookEndpoint
from engine.webhook_targets import ALLOW_PRIVATE_ENV
from engine.webhooks import (
    CLAIM_S,
    MAX_ATTEMPTS,
    claim_deliveries,
    deliver_due,
    fan_out,
    http_sender,
    run_outbound,
)
from tests.integration.api.conftest import Api
from tests.integration.api.test_worked_example import example_order, fulfillment_orders, place, setup_stock


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """An HTTP endpoint on loopback that records what it is sent and answers with ``statuses`` in turn
    (200 once they run out)."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@pytest.fixture(autouse=True)
def loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The receivers here are on loopback, which webhooks refuse unless told otherwise."""
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


def outbound(api: Api, http: httpx.Client, worker: str = "w1") -> int:
    """One round of the worker's outbound thread."""
    return run_outbound(api.database, api.runtime.clock, worker, send=http_sender(http))


def subscribe(api: Api, url: str, events: list[str], role: str = "integrator") -> dict[str, Any]:
    response = api.post("/api/v1/webhooks", {"url": url, "events": events, "description": "shop"}, role=role)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def deliveries(api: Api, endpoint_id: str, status: str | None = None) -> list[dict[str, Any]]:
    query = f"?status={status}" if status else ""
    response = api.get(f"/api/v1/webhooks/{endpoint_id}/deliveries{query}", role="integrator")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_an_order_s_events_reach_their_subscribers_signed(
    api: Api, receiver: Receiver, client: httpx.Client
) -> None:
    setup_stock(api)
    shipped_only = subscribe(api, receiver.url, ["fulfillment_order.shipped"])
    everything = subscribe(api, receiver.url + "/all", ["*"])
    assert shipped_only["secret"].startswith("whsec_") and shipped_only["events"] == [
        "fulfillment_order.shipped"
    ]
    # The secret is shown once: not in the list, not when read again.
    listed = api.get("/api/v1/webhooks", role="integrator").json()["items"]
    assert sorted(e["id"] for e in listed) == sorted([shipped_only["id"], everything["id"]])
    assert all("secret" not in e for e in listed)
    assert "secret" not in api.get(f"/api/v1/webhooks/{everything['id']}", role="integrator").json()

    summary = place(api, example_order())
    fo = fulfillment_orders(api, summary["id"])[0]
    shipped = api.post(
        f"/api/v1/fulfillment-orders/{fo['id']}/ship", {"carrier": "UPS", "tracking_number": "1Z"}
    )
    assert shipped.status_code == 200, shipped.text

    while outbound(api, client):
        pass
    with api.database.session_factory() as session:
        names = list(
            session.scalars(select(OutboxEvent.name).order_by(OutboxEvent.created_at, OutboxEvent.id))
        )
        unpublished = session.scalar(select(func.count()).where(OutboxEvent.published_at.is_(None)))
    assert unpublished == 0
    to_all = [r for r in receiver.received if r.path == "/hooks/all"]
    to_shipped = [r for r in receiver.received if r.path == "/hooks"]
    assert sorted(r.event["name"] for r in to_all) == sorted(names)
    assert [r.event["name"] for r in to_shipped] == ["fulfillment_order.shipped"]
    hook = to_shipped[0]
    assert hook.event["subject_id"] == summary["id"]
    assert hook.event["payload"]["fulfillment_order"]["id"] == fo["id"]
    assert hook.headers["Ordo-Event"] == "fulfillment_order.shipped"
    assert hook.headers["Ordo-Event-Id"] == hook.event["id"]
    # The receiver checks the signature with the secret it was given.
    stamp, _, mac = hook.headers["Ordo-Signature"].partition(",")
    timestamp = stamp.removeprefix("t=")
    expected = hmac.new(
        shipped_only["secret"].encode(), f"{timestamp}.".encode() + hook.body, hashlib.sha256
    ).hexdigest()
    assert mac == f"v1={expected}"
    assert int(timestamp) == int(api.runtime.clock.now().timestamp())
    [record] = deliveries(api, shipped_only["id"])
    assert (record["status"], record["attempts"], record["last_status"]) == ("delivered", 1, 200)
    assert record["event_id"] == hook.event["id"] and record["delivered_at"] is not None


def test_events_from_before_an_endpoint_existed_are_not_sent(
    api: Api, receiver: Receiver, client: httpx.Client
) -> None:
    setup_stock(api)
    place(api, example_order())
    assert isinstance(api.runtime.clock, ManualClock)
    api.runtime.clock.advance(1)
    endpoint = subscribe(api, receiver.url, ["*"])
    while outbound(api, client):
        pass
    assert receiver.received == [] and deliveries(api, endpoint["id"]) == []


def test_a_failing_endpoint_is_retried_with_back_off_then_fails_and_can_be_retried_by_hand(
    api: Api, receiver: Receiver, client: httpx.Client
) -> None:
    clock = api.runtime.clock
    assert isinstance(clock, ManualClock)
    setup_stock(api)
    endpoint = subscribe(api, receiver.url, ["order_summary.created"])
    receiver.statuses = [500, 503]
    place(api, example_order())
    outbound(api, client)
    [first] = deliveries(api, endpoint["id"])
    assert (first["status"], first["attempts"], first["last_status"], first["last_error"]) == (
        "pending",
        1,
        500,
        "HTTP 500",
    )
    outbound(api, client)  # not due yet: 30 s back-off
    assert len(receiver.received) == 1
    clock.advance(30)
    outbound(api, client)
    assert deliveries(api, endpoint["id"])[0]["attempts"] == 2 and len(receiver.received) == 2
    clock.advance(59)
    outbound(api, client)
    assert len(receiver.received) == 2  # the back-off doubled: 60 s
    clock.advance(1)
    outbound(api, client)
    [done] = deliveries(api, endpoint["id"])
    assert (done["status"], done["attempts"]) == ("delivered", 3)
    # Every attempt carried the same event id: a receiver can tell a repeat.
    assert len({r.headers["Ordo-Event-Id"] for r in receiver.received}) == 1

    # An endpoint that never answers 2xx: failed after the last attempt.
    receiver.statuses = [500] * MAX_ATTEMPTS
    api.runtime.clock.advance(1)
    place(api, example_order("EX-2"), key="k-2")
    for _ in range(MAX_ATTEMPTS):
        outbound(api, client)
        clock.advance(3600)
    [failed] = deliveries(api, endpoint["id"], status="failed")
    assert failed["attempts"] == MAX_ATTEMPTS and failed["next_attempt_at"] is None
    assert len(receiver.received) == 3 + MAX_ATTEMPTS
    retried = api.post(
        f"/api/v1/webhooks/{endpoint['id']}/deliveries/{failed['id']}/retry", role="integrator"
    )
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    outbound(api, client)
    assert [d["status"] for d in deliveries(api, endpoint["id"])] == ["delivered", "delivered"]
    again = api.post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{failed['id']}/retry", role="integrator")
    assert again.status_code == 409


def test_an_unreachable_endpoint_is_a_failed_attempt_not_a_crash(api: Api, client: httpx.Client) -> None:
    with socket_closed_port() as port:
        endpoint = subscribe(api, f"http://127.0.0.1:{port}/gone", ["*"])
        setup_stock(api)
        place(api, example_order())
        assert outbound(api, client) > 0
    [attempt] = deliveries(api, endpoint["id"])[:1]
    assert attempt["status"] == "pending" and attempt["attempts"] == 1
    assert attempt["last_status"] is None and "ConnectError" in attempt["last_error"]


def test_a_disabled_endpoint_gets_nothing_more(api: Api, receiver: Receiver, client: httpx.Client) -> None:
    setup_stock(api)
    endpoint = subscribe(api, receiver.url, ["*"])
    place(api, example_order())
    assert fan_out(api.database, api.runtime.clock.now()) > 0
    assert (
        api.client.delete(f"/api/v1/webhooks/{endpoint['id']}", headers=api.headers("integrator")).status_code
        == 204
    )
    outbound(api, client)
    assert receiver.received == []
    assert {d["status"] for d in deliveries(api, endpoint["id"])} == {"failed"}
    assert deliveries(api, endpoint["id"])[0]["last_error"] == "the endpoint was disabled"
    read = api.get(f"/api/v1/webhooks/{endpoint['id']}", role="integrator").json()
    assert read["active"] is False and read["disabled_at"] is not None
    # New events no longer fan out to it.
    place(api, example_order("EX-2"), key="k-2")
    fan_out(api.database, api.runtime.clock.now())
    with api.database.session_factory() as session:
        pending = session.scalar(select(func.count()).where(WebhookDelivery.status == "pending"))
    assert pending == 0


def test_a_delivery_is_claimed_by_one_worker_at_a_time(api: Api, receiver: Receiver) -> None:
    setup_stock(api)
    subscribe(api, receiver.url, ["order_summary.created"])
    place(api, example_order())
    now = api.runtime.clock.now()
    fan_out(api.database, now)
    assert fan_out(api.database, now) == 0  # published once
    first = claim_deliveries(api.database, now, "w1", 10)
    assert len(first) == 1
    assert claim_deliveries(api.database, now, "w2", 10) == []
    # w2 sends nothing while w1 holds the claim; w1's answer is recorded.
    sent: list[str] = []

    def send(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str | None]:
        sent.append(headers["Ordo-Delivery"])
        return 204, None

    assert deliver_due(api.database, api.runtime.clock, "w2", send=send) == 0 and sent == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.test/x", "events": ["*"]}, "url"),
        ({"url": "http:///nohost", "events": ["*"]}, "url"),
        ({"url": "https://example.test/x", "events": ["order.teleported"]}, "events.0"),
        ({"url": "https://example.test/x", "events": []}, "events"),
        ({"events": ["*"]}, "url"),
        ({"url": "http://[::1", "events": ["*"]}, "url"),
        ({"url": "http://a:abc/", "events": ["*"]}, "url"),
    ],
)
def test_an_invalid_endpoint_is_refused_with_the_field_named(
    api: Api, body: dict[str, Any], field: str
) -> None:
    response = api.post("/api/v1/webhooks", body, role="integrator")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [error["field"] for error in response.json()["errors"]]
    assert api.get("/api/v1/webhooks", role="integrator").json()["items"] == []


@pytest.mark.parametrize(
    ("role", "status"), [("agent", 403), ("manager", 403), ("integrator", 200), ("admin", 200)]
)
def test_webhooks_are_for_admins_and_integrators(api: Api, role: str, status: int) -> None:
    assert api.get("/api/v1/webhooks", role=role).status_code == status


def test_an_unknown_endpoint_is_404(api: Api) -> None:
    assert api.get("/api/v1/webhooks/whe_nope", role="integrator").status_code == 404
    assert api.get("/api/v1/webhooks/whe_nope/deliveries", role="integrator").status_code == 404


class socket_closed_port:
    """A loopback port that nothing listens on while the block runs."""

    def __enter__(self) -> int:
        import socket

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        port: int = self._socket.getsockname()[1]
        return port

    def __exit__(self, *_exc: object) -> None:
        self._socket.close()


def test_the_worker_delivers_from_a_thread_of_its_own(api: Api, receiver: Receiver) -> None:
    import time

    from engine.worker import BackgroundWorker

    setup_stock(api)
    subscribe(api, receiver.url, ["order_summary.created"])
    place(api, example_order())
    worker = BackgroundWorker(api.database, runtime=api.runtime, idle_s=0.02)
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop()
    assert [r.event["name"] for r in receiver.received] == ["order_summary.created"]


def test_internal_addresses_are_refused_unless_allowed(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV)
    for url in (
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://192.168.0.10/x",
    ):
        response = api.post("/api/v1/webhooks", {"url": url, "events": ["*"]}, role="integrator")
        assert response.status_code == 422, url
        assert response.json()["errors"][0]["field"] == "url"
    assert (
        api.post("/api/v1/webhooks", {"url": "https://93.184.216.34/x", "events": ["*"]}).status_code == 201
    )


def test_a_target_that_turns_internal_is_refused_at_send_time(
    api: Api, receiver: Receiver, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_stock(api)
    endpoint = subscribe(api, receiver.url, ["order_summary.created"])
    place(api, example_order())
    monkeypatch.delenv(ALLOW_PRIVATE_ENV)
    outbound(api, client)
    assert receiver.received == []
    [attempt] = deliveries(api, endpoint["id"])
    assert attempt["status"] == "pending" and attempt["attempts"] == 1
    assert attempt["last_error"].startswith("TargetRefused")


def test_a_url_httpx_will_not_send_is_a_failed_attempt_not_a_stuck_delivery(
    api: Api, client: httpx.Client
) -> None:
    endpoint = subscribe(api, "https://example.test/hooks", ["order_summary.created"])
    with api.database.session_factory() as session:  # as a row written before URLs were checked
        session.execute(
            WebhookEndpoint.__table__.update()
            .where(WebhookEndpoint.__table__.c.id == endpoint["id"])
            .values(url="http://a:abc/")
        )
        session.commit()
    setup_stock(api)
    place(api, example_order())
    assert outbound(api, client) > 0
    [attempt] = deliveries(api, endpoint["id"])
    assert attempt["attempts"] == 1 and attempt["status"] == "pending" and attempt["last_error"]


def test_disabling_fails_deliveries_waiting_in_back_off_at_once(
    api: Api, receiver: Receiver, client: httpx.Client
) -> None:
    setup_stock(api)
    endpoint = subscribe(api, receiver.url, ["order_summary.created"])
    receiver.statuses = [500]
    place(api, example_order())
    outbound(api, client)
    assert deliveries(api, endpoint["id"])[0]["next_attempt_at"] is not None
    deleted = api.client.delete(f"/api/v1/webhooks/{endpoint['id']}", headers=api.headers("integrator"))
    assert deleted.status_code == 204
    [failed] = deliveries(api, endpoint["id"])
    assert (failed["status"], failed["next_attempt_at"], failed["last_error"]) == (
        "failed",
        None,
        "the endpoint was disabled",
    )
    retry = api.post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{failed['id']}/retry", role="integrator")
    assert retry.status_code == 409


def test_a_lapsed_claim_is_taken_over_and_the_first_worker_neither_sends_nor_records(
    api: Api, receiver: Receiver, client: httpx.Client
) -> None:
    clock = api.runtime.clock
    assert isinstance(clock, ManualClock)
    setup_stock(api)
    endpoint = subscribe(api, receiver.url, ["order_summary.created"])
    place(api, example_order())
    fan_out(api.database, clock.now())
    [delivery_id] = claim_deliveries(api.database, clock.now(), "w1", 10)
    clock.advance(CLAIM_S + 1)  # w1 stalled past its claim
    assert deliver_due(api.database, clock, "w2", send=http_sender(client)) == 1
    assert len(receiver.received) == 1
    # w1 wakes up: its claim is gone, so it sends nothing and writes nothing.
    from engine.webhooks import _record, _renew

    assert not _renew(api.database, delivery_id, "w1", clock.now())
    _record(api.database, delivery_id, "w1", clock.now(), 500, "HTTP 500")
    [done] = deliveries(api, endpoint["id"])
    assert (done["status"], done["attempts"], done["last_status"]) == ("delivered", 1, 200)


def test_a_stopping_worker_gives_its_claims_back_unsent(
    api: Api, receiver: Receiver, client: httpx.Client
) -> None:
    setup_stock(api)
    endpoint = subscribe(api, receiver.url, ["order_summary.created"])
    place(api, example_order())
    fan_out(api.database, api.runtime.clock.now())
    stop = threading.Event()
    stop.set()
    assert deliver_due(api.database, api.runtime.clock, "w1", send=http_sender(client), stop=stop) == 0
    assert receiver.received == []
    # Given back, not held for two minutes: another worker sends it at once.
    assert deliver_due(api.database, api.runtime.clock, "w2", send=http_sender(client)) == 1
    assert deliveries(api, endpoint["id"])[0]["status"] == "delivered"


def test_workers_fanning_out_at_once_make_each_delivery_once(api: Api, receiver: Receiver) -> None:
    setup_stock(api)
    subscribe(api, receiver.url, ["*"])
    subscribe(api, receiver.url + "/2", ["*"])
    for n in range(4):
        place(api, example_order(f"EX-{n}"), key=f"k-{n}")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while fan_out(api.database, api.runtime.clock.now(), limit=3):
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with api.database.session_factory() as session:
        events = session.scalar(select(func.count()).select_from(OutboxEvent))
        made = session.scalar(select(func.count()).select_from(WebhookDelivery))
        unpublished = session.scalar(select(func.count()).where(OutboxEvent.published_at.is_(None)))
    assert unpublished == 0 and made == 2 * events


def test_the_deliveries_filter_takes_only_a_known_status(api: Api) -> None:
    endpoint = subscribe(api, "https://example.test/hooks", ["*"])
    assert (
        api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries?status=bogus", role="integrator").status_code
        == 422
    )


def test_admins_see_failing_deliveries_in_the_console_and_send_them_again(
    api: Api, receiver: Receiver, client: httpx.Client
) -> None:
    from fastapi.testclient import TestClient

    from tests.integration.designer.conftest import CSRF, log_in

    clock = api.runtime.clock
    assert isinstance(clock, ManualClock)
    setup_stock(api)
    endpoint = subscribe(api, receiver.url, ["order_summary.created"])
    receiver.statuses = [500] * MAX_ATTEMPTS
    place(api, example_order())
    for _ in range(MAX_ATTEMPTS):
        outbound(api, client)
        clock.advance(3600)
    [failed] = deliveries(api, endpoint["id"])
    assert failed["status"] == "failed"

    admin = TestClient(api.client.app)
    assert log_in(admin, api.keys["admin"]).status_code == 303
    page = admin.get("/ui/webhooks")
    assert page.status_code == 200, page.text
    assert f'data-endpoint="{endpoint["id"]}"' in page.text and receiver.url in page.text
    assert f'data-delivery="{failed["id"]}"' in page.text and "HTTP 500" in page.text
    assert "Send again" in page.text and 'href="/ui/webhooks"' in page.text  # and in the nav
    token = CSRF.search(admin.get("/ui/flows").text)
    assert token
    sent = admin.post(
        f"/ui/webhooks/deliveries/{failed['id']}/retry",
        headers={"X-CSRF-Token": token.group(1), "HX-Request": "true"},
    )
    assert sent.status_code == 200 and 'id="webhook-notice"' in sent.text
    assert deliveries(api, endpoint["id"])[0]["status"] == "pending"
    again = admin.post(
        f"/ui/webhooks/deliveries/{failed['id']}/retry",
        headers={"X-CSRF-Token": token.group(1), "HX-Request": "true"},
    )
    assert again.status_code == 409 and "not failed" in again.text

    agent = TestClient(api.client.app)
    assert log_in(agent, api.keys["agent"]).status_code == 303
    assert agent.get("/ui/webhooks").status_code == 403
    assert 'href="/ui/webhooks"' not in agent.get("/ui/flows").text


def test_a_database_error_mid_round_gives_the_remaining_claims_back(
    api: Api, receiver: Receiver, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.webhooks

    setup_stock(api)
    endpoint = subscribe(api, receiver.url, ["order_summary.created"])
    for n in range(3):
        place(api, example_order(f"EX-{n}"), key=f"k-{n}")
    fan_out(api.database, api.runtime.clock.now())

    def broken(*_args: Any) -> None:
        raise RuntimeError("the database went away")

    working = engine.webhooks._record
    monkeypatch.setattr(engine.webhooks, "_record", broken)
    with pytest.raises(RuntimeError):
        deliver_due(api.database, api.runtime.clock, "w1", send=http_sender(client))
    monkeypatch.setattr(engine.webhooks, "_record", working)
    # The first was sent and its answer lost (it goes again: at least once); none is left claimed.
    assert len(receiver.received) == 1
    assert deliver_due(api.database, api.runtime.clock, "w2", send=http_sender(client)) == 3
    assert {d["status"] for d in deliveries(api, endpoint["id"])} == {"delivered"}


def test_the_console_retry_needs_the_session_s_csrf_token(api: Api) -> None:
    from fastapi.testclient import TestClient

    from tests.integration.designer.conftest import log_in

    admin = TestClient(api.client.app)
    assert log_in(admin, api.keys["admin"]).status_code == 303
    refused = admin.post("/ui/webhooks/deliveries/whd_x/retry", headers={"HX-Request": "true"})
    assert refused.status_code == 403

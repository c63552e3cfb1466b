"""The designer's live check round trip, per starter flow: from the moment htmx sends the check request
to the moment the diagnostics and graph are swapped into the page (Chromium, headless), plus the server's
share alone (in-process HTTP through TestClient). The 300 ms typing debounce comes before the request and
is not counted. Target: p95 under 100 ms.

Usage: .venv/bin/python benchmarks/designer_check.py [--rounds 40]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from api.bootstrap import build_runtime, prepare_database
from api.keys import Role, create_key
from engine import flows as flow_service
from engine.db import Database

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip

# Waits for the next check request's swap, timing it from htmx's beforeRequest to afterSettle.
MEASURE = """text => new Promise(resolve => {
  let start = 0;
  const before = e => { if (e.detail.elt.id === 'source') start = performance.now(); };
  const after = e => {
    if (e.detail.elt.id !== 'check-result' && e.detail.target?.id !== 'check-result') return;
    document.removeEventListener('htmx:beforeRequest', before);
    document.removeEventListener('htmx:afterSettle', after);
    resolve(performance.now() - start);
  };
  document.addEventListener('htmx:beforeRequest', before);
  document.addEventListener('htmx:afterSettle', after);
  const el = document.getElementById('source');
  el.value = text;
  el.dispatchEvent(new Event('input', {bubbles: true}));
})"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    rounds = parser.parse_args().rounds
    directory = Path(tempfile.mkdtemp(prefix="ordo-bench-"))
    database = Database(f"sqlite:///{directory / 'ordo.db'}")
    runtime = build_runtime()
    prepare_database(database, runtime)
    with database.uow() as uow:
        key = create_key(uow.session, role=Role.ADMIN, name="bench")
        starters = [f for f in flow_service.list_flows(uow.session) if f.starter]
        drafts = {}
        for flow in starters:  # starter flows are read-only: the editor works on clones
            clone = flow_service.clone(uow.session, flow.id, f"bench_{flow.id}", flow.title)
            drafts[flow.id] = (clone.id, flow_service.get_version(uow.session, clone.id, 1).source)
        uow.commit()
    app = create_app(database, runtime)
    print(f"{len(drafts)} starter flows, {rounds} checks each, alternating the text and a one-character edit")

    server_ms: dict[str, list[float]] = {}
    with TestClient(app) as client:
        login_page = client.get("/ui/login")
        token = login_page.text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/ui/login", data={"key": key, "csrf_token": token})
        csrf = client.get("/ui/flows").text.split('name="csrf_token" value="')[1].split('"')[0]
        for starter, (flow_id, source) in drafts.items():
            times = server_ms.setdefault(starter, [])
            for i in range(rounds):
                text = source if i % 2 else source + "#\n"
                started = time.perf_counter()
                response = client.post(
                    f"/ui/flows/{flow_id}/versions/1/check",
                    data={"source": text},
                    headers={"HX-Request": "true", "X-CSRF-Token": csrf},
                )
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200

    browser_ms: dict[str, list[float]] = {}
    if CHROMIUM.exists():
        from playwright.sync_api import sync_playwright

        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            page: Any = browser.new_page()
            page.goto(f"{base}/ui/login")
            page.fill("#key", key)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/ui/flows")
            for starter, (flow_id, source) in drafts.items():
                page.goto(f"{base}/ui/flows/{flow_id}/versions/1/edit")
                times = browser_ms.setdefault(starter, [])
                for i in range(rounds + 3):
                    elapsed = page.evaluate(MEASURE, source if i % 2 else source + "#\n")
                    if i >= 3:  # the first few warm up the page and the connection
                        times.append(float(elapsed))
            browser.close()
        server.should_exit = True
        thread.join(timeout=10)
    else:
        print(f"(no Chromium at {CHROMIUM}: browser figures skipped)")

    print()
    print("| starter flow | lines | browser p50 ms | browser p95 ms | server p50 ms | server p95 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for starter, (_flow_id, source) in drafts.items():
        b = browser_ms.get(starter) or []
        s = server_ms[starter]
        bp50 = f"{statistics.median(b):.1f}" if b else "-"
        bp95 = f"{percentile(b, 95):.1f}" if b else "-"
        print(
            f"| `{starter}` | {source.count(chr(10))} | {bp50} | {bp95} | "
            f"{statistics.median(s):.1f} | {percentile(s, 95):.1f} |"
        )
    database.dispose()


if __name__ == "__main__":
    main()

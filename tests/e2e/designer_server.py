"""An ``ordo serve`` subprocess for the designer's browser tests, with keys made by ``ordo keys create``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from migrations.runner import upgrade
from tests.conftest import require_or_skip
from tests.e2e.test_serve import free_port

ORDO = Path(sys.executable).parent / "ordo"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


@dataclass
class Server:
    url: str
    keys: dict[str, str]

    def api(self, method: str, path: str, role: str = "admin", **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[role]}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)


def _prepare_schema(url: str) -> None:
    upgrade(url)


def _key(url: str, role: str) -> str:
    done = subprocess.run(
        [str(ORDO), "keys", "create", "--role", role, "--name", f"e2e {role}", "--db", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not CHROMIUM.exists():
        require_or_skip(f"browser tests need Chromium at {CHROMIUM}")
    directory = tmp_path_factory.mktemp("designer-e2e")
    url = f"sqlite:///{directory / 'ordo.db'}"
    _prepare_schema(url)
    keys = {role: _key(url, role) for role in ("admin", "manager", "agent", "integrator")}
    port = free_port()
    log = (directory / "serve.log").open("w+")
    process = subprocess.Popen(
        [str(ORDO), "serve", "--db", url, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ORDO_DATABASE_URL": url},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        else:
            log.seek(0)
            pytest.fail(f"ordo serve did not start:\n{log.read()}")
        yield Server(base, keys)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


def log_in(page: Any, server: Server, role: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.url}/ui/login")
    page.fill("#key", server.keys[role])
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/ui/flows")

"""``ordo serve --demo`` starts on a fresh SQLite file, answers /healthz and serves the demo data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ORDO = Path(sys.executable).parent / "ordo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_demo_answers_health_and_prints_keys(tmp_path: Path) -> None:
    port = free_port()
    db = f"sqlite:///{tmp_path / 'ordo.db'}"
    log = (tmp_path / "serve.log").open("w+")
    process = subprocess.Popen(
        [str(ORDO), "serve", "--demo", "--db", db, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ORDO_DATABASE_URL": db},
    )
    try:
        deadline = time.monotonic() + 60
        healthy = False
        while time.monotonic() < deadline and process.poll() is None:
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json() == {"status": "ok"}
            except httpx.HTTPError:
                healthy = False
            if healthy:
                break
            time.sleep(0.25)
        log.seek(0)
        output = log.read()
        assert healthy, f"ordo serve did not answer /healthz within 60 s:\n{output}"
        admin_key = next(
            line.split("key:")[1].strip() for line in output.splitlines() if "demo admin" in line
        )
        listing = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/order-summaries",
            headers={"Authorization": f"Bearer {admin_key}"},
            timeout=10,
        )
        assert listing.status_code == 200
        numbers = {item["order_number"] for item in listing.json()["items"]}
        assert {"DEMO-1001", "DEMO-1004"} <= numbers
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()

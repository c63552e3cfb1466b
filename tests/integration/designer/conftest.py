"""Browser-UI clients over the test database: one logged-in TestClient per role."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

import designer.records  # noqa: F401  (the session table must be in the schema the db fixture builds)
from tests.integration.api.conftest import Api, api  # noqa: F401  (re-exported fixture)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Ui:
    client: TestClient
    csrf: str

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, str] | None = None, *, htmx: bool = True, **kwargs: Any) -> Any:
        # HTMX sends the token as a header (hx-headers on <body>); plain forms as a hidden field.
        headers = {"X-CSRF-Token": self.csrf, "HX-Request": "true"} if htmx else {}
        if not htmx:
            data = {**(data or {}), "csrf_token": self.csrf}
        headers.update(kwargs.pop("headers", {}))
        return self.client.post(path, data=data, headers=headers, follow_redirects=False, **kwargs)


def log_in(client: TestClient, key: str) -> Any:
    page = client.get("/ui/login")
    token = CSRF.search(page.text)
    assert token, page.text
    return client.post(
        "/ui/login",
        data={"key": key, "csrf_token": token.group(1), "next": "/ui/flows"},
        follow_redirects=False,
    )


@pytest.fixture
def ui(api: Api) -> Iterator[Callable[[str], Ui]]:  # noqa: F811
    clients: list[TestClient] = []

    def login(role: str) -> Ui:
        client = TestClient(api.client.app)
        clients.append(client)
        response = log_in(client, api.keys[role])
        assert response.status_code == 303, response.text
        page = client.get("/ui/flows")
        match = CSRF.search(page.text)
        assert match, page.text
        return Ui(client, match.group(1))

    yield login
    for client in clients:
        client.close()

"""An unexpected error answers a person in the browser with a page, and a program with problem+json."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

import designer.routes.console_dashboard as dashboard_route
from tests.integration.api.conftest import Api
from tests.integration.designer.conftest import log_in


def _boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("boom: internals that must not reach the page")


@pytest.fixture
def lenient(api: Api) -> Iterator[TestClient]:
    """A logged-in client that gets the server's answer to an error instead of the exception."""
    with TestClient(api.client.app, raise_server_exceptions=False) as client:
        log_in(client, api.keys["agent"])
        yield client


def test_a_console_page_that_fails_is_an_html_500_page(
    api: Api, lenient: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_route, "dashboard", _boom)
    response = lenient.get("/ui/dashboard")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in response.text
    assert "boom" not in response.text


def test_an_api_call_that_fails_stays_problem_json(
    api: Api, lenient: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.routes.summaries as summaries_route

    monkeypatch.setattr(summaries_route, "search_summaries", _boom)
    response = lenient.get("/api/v1/order-summaries", headers=api.headers())
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "Internal error"
    assert "boom" not in response.text

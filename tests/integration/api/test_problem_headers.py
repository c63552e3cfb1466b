"""HTTP errors raised by the framework keep their headers in the problem document's answer."""

from __future__ import annotations

from tests.integration.api.conftest import Api


def test_wrong_method_is_405_problem_json_naming_the_allowed_methods(api: Api) -> None:
    response = api.client.delete("/api/v1/orders", headers=api.headers())
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 405
    assert "POST" in response.headers["allow"]

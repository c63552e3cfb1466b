"""An API request that only reads ends its transactions with COMMIT (see engine.transactions)."""

from __future__ import annotations

from tests.integration.api.conftest import Api
from tests.integration.api.test_worked_example import example_order, place, setup_stock
from tests.integration.engine.test_read_transactions import endings_of


def test_an_api_read_ends_without_a_rollback(api: Api) -> None:
    endings = endings_of(api.database.engine)
    assert api.get("/api/v1/order-summaries").status_code == 200
    # The key lookup's transaction and the request's own.
    assert endings == ["commit", "commit"]


def test_placing_and_reading_an_order_rolls_nothing_back(api: Api) -> None:
    """Every session of an order's request (key, idempotency, capture, flows, response) either wrote and
    committed, or only read and committed too: none leaves psycopg a rollback to drop its statements."""
    setup_stock(api)
    endings = endings_of(api.database.engine)
    summary = place(api, example_order())
    assert api.get(f"/api/v1/order-summaries/{summary['id']}").status_code == 200
    assert "rollback" not in endings
    assert len(endings) >= 4

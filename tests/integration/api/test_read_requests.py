"""An API request that only reads ends its transactions with COMMIT (see engine.transactions)."""

from __future__ import annotations

from tests.integration.api.conftest import Api
from tests.integration.engine.test_read_transactions import endings_of


def test_an_api_read_ends_without_a_rollback(api: Api) -> None:
    endings = endings_of(api.database.engine)
    assert api.get("/api/v1/order-summaries").status_code == 200
    # The key lookup's transaction and the request's own.
    assert endings == ["commit", "commit"]

"""Console clients over the test database (both databases): the designer's logged-in clients, stock,
orders placed through the API, and a service flow of the tests' own for the action forms."""

from __future__ import annotations

from typing import Any

import pytest

from engine import flows as flow_service
from tests.integration.api.conftest import Api, api  # noqa: F401  (re-exported fixture)
from tests.integration.api.test_worked_example import example_order, place, setup_stock
from tests.integration.designer.conftest import Ui, ui  # noqa: F401  (re-exported fixture)

# Exercises every kind of form field without depending on the starter service flows.
PROBE_FLOW = """\
flow console_probe "Console probe"
  kind service
  action probe "Probe the order"
  input lines: item_quantities "Items to probe"
  input amount: money = 0
  input note: text = "checking"
  input loud: bool = false
  input times: int = 1

  if input.amount > 100 -> too_much
  do set_status(status: "Probed {input.times}")
  done

too_much:
  fail "Too much: {input.amount}" category "Service"
end
"""


@pytest.fixture
def probe(api: Api) -> str:  # noqa: F811
    with api.database.uow() as uow:
        flow_service.create_flow(uow.session, PROBE_FLOW, activate_now=True, runtime=api.runtime)
        uow.commit()
    return "probe"


@pytest.fixture
def order(api: Api) -> dict[str, Any]:  # noqa: F811
    """The worked example's order (two lines, two warehouses), routed with its fulfillment orders."""
    setup_stock(api)
    return place(api, example_order())


def csrf_of(ui: Ui) -> dict[str, str]:  # noqa: F811
    return {"X-CSRF-Token": ui.csrf, "HX-Request": "true"}

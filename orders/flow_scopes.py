"""What flow expressions read of an order: the ``summary`` and ``order`` scopes, and the loaders that
read a record bound with ``as`` live (a fulfillment order, an invoice, a change...)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy.orm import Session

from engine.registry import ScopeRequest
from orders.models import OrderSummary
from orders.views import SUMMARY_FIELDS, amount

TOTAL_NAMES = ("ordered", "canceled", "credited", "grand_total", "authorized", "invoiced", "captured")
TOTAL_NAMES_ALL = (*TOTAL_NAMES, "refunded", "balance_due", "shipping")


class SummaryFacade(Mapping[str, Any]):
    """``summary`` in flow expressions: the fields of the summary's JSON plus its totals directly on it.

    Read live: every lookup reads the record as the session has it now. Money is Decimal.
    """

    def __init__(self, session: Session, summary_id: str) -> None:
        self._session = session
        self._id = summary_id

    def _summary(self) -> OrderSummary:
        summary = self._session.get(OrderSummary, self._id)
        if summary is None:
            raise KeyError(self._id)
        return summary

    def __getitem__(self, key: str) -> Any:
        summary = self._summary()
        if key in TOTAL_NAMES_ALL:
            return amount(summary.totals()[key], summary.currency, False)
        field = SUMMARY_FIELDS.get(key)
        if field is None:
            raise KeyError(key)
        return field(summary, False)

    def __iter__(self) -> Iterator[str]:
        return iter([*SUMMARY_FIELDS, *TOTAL_NAMES_ALL])

    def __len__(self) -> int:
        return len(SUMMARY_FIELDS) + len(TOTAL_NAMES_ALL)


def order_view(summary: OrderSummary) -> dict[str, Any]:
    """``order`` in flow expressions: the order exactly as captured."""
    order = summary.order
    currency = order.currency
    return {
        "id": order.id,
        "order_number": order.order_number,
        "channel": order.channel,
        "currency": currency,
        "lifecycle": order.lifecycle.value,
        "customer": {"email": order.customer_email, "name": order.customer_name},
        "ship_to": order.ship_to(),
        "delivery_method": order.delivery_method,
        "adjustments": amount(order.adjustments, currency, False),
        "shipping": {
            "amount": amount(order.shipping_amount, currency, False),
            "tax": amount(order.shipping_tax, currency, False),
        },
        "payment": {"gateway": order.payment_gateway},
        "lines": [
            {
                "sku": item.sku,
                "name": item.name,
                "quantity": item.quantity,
                "unit_price": amount(item.unit_price, currency, False),
                "adjustments": amount(item.adjustments, currency, False),
                "tax": amount(item.tax, currency, False),
                "delivery_method": item.delivery_method,
                "pickup_location": item.pickup_location,
            }
            for item in order.items
        ],
    }


def summary_scope(request: ScopeRequest) -> Mapping[str, Any] | None:
    if request.session is None or request.subject_id is None:
        return None
    if request.session.get(OrderSummary, request.subject_id) is None:
        return None
    return SummaryFacade(request.session, request.subject_id)


def order_scope(request: ScopeRequest) -> Mapping[str, Any] | None:
    if request.session is None or request.subject_id is None:
        return None
    summary = request.session.get(OrderSummary, request.subject_id)
    return order_view(summary) if summary is not None else None


def loader(model: type[Any], view: Callable[[Any], dict[str, Any]]) -> Callable[[Session | None, str], Any]:
    def load(session: Session | None, record_id: str) -> Mapping[str, Any] | None:
        if session is None:
            return None
        record = session.get(model, record_id)
        return view(record) if record is not None else None

    return load

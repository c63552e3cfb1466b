"""The JSON shapes of CONTRACT.md, built from the records.

With ``as_text=True`` (the default, for the API) money is a decimal string at the currency's minor unit
(``"12.30"``); with ``as_text=False`` it is the same amount as a ``Decimal``, which is what flow
expressions compare (``invoice.total == 0``) and what the engine's codec keeps exact.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from orders import money
from orders.models import (
    CreditMemo,
    FulfillmentOrder,
    Invoice,
    OrderChange,
    OrderItemSummary,
    OrderSummary,
    ReturnOrder,
)


def amount(value: Decimal, currency: str, as_text: bool = True) -> str | Decimal:
    """``value`` rounded to ``currency``: a string for JSON or a Decimal for expressions."""
    exact = money.quantize(value, currency)
    return f"{exact:f}" if as_text else exact


def item_view(item: OrderItemSummary, currency: str, as_text: bool = True) -> dict[str, Any]:
    return {
        "id": item.id,
        "line_number": item.line_number,
        "sku": item.sku,
        "name": item.name,
        "quantity_ordered": item.quantity_ordered,
        "quantity_canceled": item.quantity_canceled,
        "quantity_allocated": item.quantity_allocated,
        "quantity_fulfilled": item.quantity_fulfilled,
        "quantity_return_initiated": item.quantity_return_initiated,
        "quantity_returned": item.quantity_returned,
        "quantity_available_to_cancel": item.quantity_available_to_cancel,
        "quantity_available_to_return": item.quantity_available_to_return,
        "unit_price": amount(item.unit_price, currency, as_text),
        "total": amount(item.remaining_total, currency, as_text),
    }


def fulfillment_order_view(fo: FulfillmentOrder) -> dict[str, Any]:
    return {
        "id": fo.id,
        "order_summary_id": fo.order_summary_id,
        "location": fo.location.code,
        "delivery_method": fo.delivery_method.code,
        "status": fo.status.value,
        "carrier": fo.carrier,
        "tracking_number": fo.tracking_number,
        "charge": fo.charge,
        "lines": [
            {"item_id": line.order_item_summary_id, "sku": line.item.sku, "quantity": line.quantity}
            for line in fo.lines
        ],
    }


def invoice_view(invoice: Invoice, as_text: bool = True) -> dict[str, Any]:
    currency = invoice.summary.currency
    return {
        "id": invoice.id,
        "order_summary_id": invoice.order_summary_id,
        "fulfillment_order_id": invoice.fulfillment_order_id,
        "total": amount(invoice.total, currency, as_text),
        "shipping_amount": amount(invoice.shipping_amount, currency, as_text),
    }


def credit_memo_view(memo: CreditMemo, as_text: bool = True) -> dict[str, Any]:
    currency = memo.summary.currency
    return {
        "id": memo.id,
        "order_summary_id": memo.order_summary_id,
        "total": amount(memo.total, currency, as_text),
        "reason": memo.reason,
        "refunded": amount(memo.refunded_amount, currency, as_text),
    }


def return_order_view(ro: ReturnOrder) -> dict[str, Any]:
    return {
        "id": ro.id,
        "order_summary_id": ro.order_summary_id,
        "status": ro.status.value,
        "reason": ro.reason,
        "lines": [
            {
                "item_id": line.order_item_summary_id,
                "sku": line.item.sku,
                "quantity": line.quantity,
                "quantity_received": line.quantity_received,
                "condition": line.condition,
            }
            for line in ro.lines
        ],
    }


def change_view(change: OrderChange, as_text: bool = True) -> dict[str, Any]:
    currency = change.summary.currency
    return {
        "id": change.id,
        "order_summary_id": change.order_summary_id,
        "kind": change.kind.value,
        "amount": amount(change.amount, currency, as_text),
        "refund_due": amount(change.refund_due, currency, as_text),
        "charge_due": amount(change.charge_due, currency, as_text),
        "reason": change.reason,
        "lines": [
            {"item_id": line.order_item_summary_id, "quantity": line.quantity} for line in change.lines
        ],
    }


def customer_view(summary: OrderSummary) -> dict[str, Any]:
    return {"email": summary.customer_email, "name": summary.customer_name}


def totals_view(summary: OrderSummary, as_text: bool = True) -> dict[str, Any]:
    return {name: amount(value, summary.currency, as_text) for name, value in summary.totals().items()}


def _items(summary: OrderSummary, as_text: bool) -> list[dict[str, Any]]:
    return [item_view(item, summary.currency, as_text) for item in summary.items]


def _invoices(summary: OrderSummary, as_text: bool) -> list[dict[str, Any]]:
    return [{"id": inv.id, "total": amount(inv.total, summary.currency, as_text)} for inv in summary.invoices]


def _credit_memos(summary: OrderSummary, as_text: bool) -> list[dict[str, Any]]:
    return [
        {"id": memo.id, "total": amount(memo.total, summary.currency, as_text), "reason": memo.reason}
        for memo in summary.credit_memos
    ]


def _return_orders(summary: OrderSummary, as_text: bool) -> list[dict[str, Any]]:
    return [
        {
            "id": ro.id,
            "status": ro.status.value,
            "lines": [
                {
                    "item_id": line.order_item_summary_id,
                    "quantity": line.quantity,
                    "quantity_received": line.quantity_received,
                }
                for line in ro.lines
            ],
        }
        for ro in summary.return_orders
    ]


# Each field of the summary's JSON, computed on its own so a live facade reads only what it is asked.
SUMMARY_FIELDS: dict[str, Callable[[OrderSummary, bool], Any]] = {
    "id": lambda s, _t: s.id,
    "order_number": lambda s, _t: s.order_number,
    "status": lambda s, _t: s.status,
    "lifecycle": lambda s, _t: s.lifecycle.value,
    "channel": lambda s, _t: s.channel,
    "currency": lambda s, _t: s.currency,
    "customer": lambda s, _t: customer_view(s),
    "ship_to": lambda s, _t: s.ship_to(),
    "created_at": lambda s, _t: s.created_at.isoformat(),
    "totals": totals_view,
    "items": _items,
    "fulfillment_orders": lambda s, _t: [fulfillment_order_view(fo) for fo in s.fulfillment_orders],
    "invoices": _invoices,
    "credit_memos": _credit_memos,
    "return_orders": _return_orders,
    "process_exceptions": lambda _s, _t: [],
    "active_process_exception_count": lambda _s, _t: 0,
}


def summary_view(session: Session | None, summary: OrderSummary, *, as_text: bool = True) -> dict[str, Any]:
    """CONTRACT.md's ``GET /order-summaries/{id}``; process exceptions are the API's to fill in."""
    return {name: field(summary, as_text) for name, field in SUMMARY_FIELDS.items()}

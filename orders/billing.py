"""Invoices: what a shipment shipped is billed by the pool rule, shipping with the first shipment."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from orders.errors import Conflict
from orders.models import DocumentLineKind, FulfillmentOrder, FulfillmentStatus, Invoice, InvoiceLine
from orders.writes import write_pending

ZERO = Decimal(0)
INVOICES = cast(Table, Invoice.__table__)
# Almost always there is none: asked in Core, so the common answer costs no ORM query.
_INVOICE_OF = select(INVOICES.c.id).where(INVOICES.c.fulfillment_order_id == bindparam("b_fo"))


def create_invoice(session: Session, fo: FulfillmentOrder) -> Invoice:
    """The invoice of a shipped fulfillment order; the existing one if it was already billed.

    Each line bills its shipped units by the pool rule. The order's shipping charge (with its tax) goes
    on the first invoice of the order. A no-charge reshipment gets an invoice of 0.00.
    """
    existing_id = session.connection().execute(_INVOICE_OF, {"b_fo": fo.id}).scalar_one_or_none()
    if existing_id is not None:
        existing = session.get(Invoice, existing_id)
        assert existing is not None
        return existing
    if fo.status != FulfillmentStatus.FULFILLED:
        raise Conflict(f"fulfillment order {fo.id} is {fo.status.value}: only shipped ones are invoiced")
    summary = fo.summary
    invoice = Invoice(summary=summary, fulfillment_order=fo, fulfillment_order_id=fo.id, total=ZERO)
    session.add(invoice)
    total = ZERO
    for line in fo.lines:
        if line.quantity == 0:
            continue
        amount = line.item.invoice_units(line.quantity) if fo.charge else ZERO
        line_record = InvoiceLine(
            invoice=invoice,
            item=line.item,
            order_item_summary_id=line.item.id,
            kind=DocumentLineKind.ITEM,
            quantity=line.quantity,
            amount=amount,
        )
        session.add(line_record)
        total += amount
    if fo.charge and not summary.shipping_invoiced and not summary.shipping_canceled:
        shipping = summary.shipping_charge
        summary.shipping_invoiced = True
        if shipping:
            session.add(
                InvoiceLine(invoice=invoice, kind=DocumentLineKind.SHIPPING, quantity=0, amount=shipping)
            )
            invoice.shipping_amount = shipping
            total += shipping
    invoice.total = total
    summary.invoiced_total += total
    write_pending(session)
    return invoice

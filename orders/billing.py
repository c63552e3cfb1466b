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
# Fulfillment orders the session's open transaction shipped and has not invoiced since: they have no
# invoice, since only a shipped one gets one and they were open until it shipped them under a row lock.
# Kept with that transaction: once it ends (a commit, or a rollback that took the shipment back), the
# note no longer says anything.
_SHIPPED_HERE = "ordo.shipped_not_invoiced"


def _shipped_here(session: Session) -> set[str]:
    transaction = session.get_transaction()
    noted = session.info.get(_SHIPPED_HERE)
    if noted is None or noted[0] is not transaction:
        noted = session.info[_SHIPPED_HERE] = (transaction, set())
    shipped: set[str] = noted[1]
    return shipped


def note_shipped(session: Session, fo_id: str) -> None:
    """Tell :func:`create_invoice` that ``fo_id`` has just shipped: its invoice in the same transaction
    (the flow the shipment starts) needs no read to know there is none yet."""
    _shipped_here(session).add(fo_id)


def _existing_invoice(session: Session, fo: FulfillmentOrder) -> Invoice | None:
    shipped_here = _shipped_here(session)
    if fo.id in shipped_here:
        # Only once: from now on a retry or a second invoicing flow must look (the unique constraint on
        # invoices.fulfillment_order_id stops a second invoice even if another writer raced this one).
        shipped_here.discard(fo.id)
        return None
    existing_id = session.connection().execute(_INVOICE_OF, {"b_fo": fo.id}).scalar_one_or_none()
    return session.get(Invoice, existing_id) if existing_id is not None else None


def create_invoice(session: Session, fo: FulfillmentOrder) -> Invoice:
    """The invoice of a shipped fulfillment order; the existing one if it was already billed.

    Each line bills its shipped units by the pool rule. The order's shipping charge (with its tax) goes
    on the first invoice of the order. A no-charge reshipment gets an invoice of 0.00.
    """
    existing = _existing_invoice(session, fo)
    if existing is not None:
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

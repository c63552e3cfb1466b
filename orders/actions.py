"""The built-in flow actions, events, scopes and record loaders, registered in the engine's registry.

Each action is a thin shell over a domain function: it loads the order summary named by
``ctx.subject_id``, calls the function with ``ctx.idempotency_key`` for gateway calls, and turns
domain errors into ``ActionError`` (the step fails, may retry) or ``NotAllowed`` (the order does not
allow it now; nothing changed).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from engine.registry import ActionContext, ActionError, ActionRegistry, DslType, NotAllowed
from orders import billing, fulfillment, money, payments, routing
from orders.errors import (
    Conflict,
    DomainError,
    InvalidTransitionError,
    NotAuthorized,
    NotFound,
    QuantityError,
)
from orders.events import (
    FULFILLMENT_ORDER_SHIPPED,
    NOTIFICATION_REQUESTED,
    ORDER_SUMMARY_CREATED,
    RETURN_ORDER_RECEIVED,
)
from orders.flow_scopes import loader, order_scope, summary_scope
from orders.gateway import GatewayDeclined, GatewayMismatch, GatewayTimeout
from orders.models import CreditMemo, FulfillmentOrder, Invoice, OrderChange, OrderSummary, ReturnOrder
from orders.views import (
    change_view,
    credit_memo_view,
    fulfillment_order_view,
    invoice_view,
    return_order_view,
)
from orders.writes import write_pending

STOCK = "Stock"
PAYMENT = "Payment"
INVOICING = "Invoicing"
FULFILLMENT = "Fulfillment"

MoneyArg = Annotated[Decimal, DslType("money")]
RecordArg = Annotated[dict[str, Any], DslType("record")]


class ItemQuantity(BaseModel):
    item_id: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(gt=0)]


ItemQuantities = Annotated[list[ItemQuantity], DslType("item_quantities")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- inputs and outputs -------------------------------------------------------------------------------


class RouteOrderIn(_In):
    strategy: Annotated[str, Field(max_length=32)] = "fewest_splits"
    lines: ItemQuantities | None = None


class RouteOrderOut(BaseModel):
    allocations: list[dict[str, Any]]
    unallocated_quantity: int


class EnsureFundsIn(_In):
    amount: MoneyArg


class EnsureFundsOut(BaseModel):
    authorized: Decimal
    authorization_id: str | None = None


class CreateFulfillmentOrdersIn(_In):
    allocations: Annotated[list[dict[str, Any]], DslType("any")]
    charge: bool = True
    reason: Annotated[str, Field(max_length=500)] | None = None


class CreateFulfillmentOrdersOut(BaseModel):
    fulfillment_orders: list[dict[str, Any]]
    count: int


class SetStatusIn(_In):
    status: Annotated[str, Field(min_length=1, max_length=32)]


class SetStatusOut(BaseModel):
    status: str


class CreateInvoiceIn(_In):
    fulfillment_order: RecordArg


class InvoiceOut(BaseModel):
    id: str
    total: Decimal


class CaptureFundsIn(_In):
    invoice: RecordArg
    # Authorize anew what lapsed authorizations no longer cover (off: such a capture fails instead).
    reauthorize: bool = True


class CaptureFundsOut(BaseModel):
    amount: Decimal
    # What was authorized anew for this capture, because authorizations had lapsed.
    reauthorized: Decimal = Decimal(0)


class ReleaseFundsIn(_In):
    pass


class ReleaseFundsOut(BaseModel):
    released: Decimal


class NotifyIn(_In):
    template: Annotated[str, Field(min_length=1, max_length=100)]
    to: Annotated[str, Field(min_length=1, max_length=320)]


class NotifyOut(BaseModel):
    template: str
    to: str
    queued: bool


# -- helpers ------------------------------------------------------------------------------------------


def _session(ctx: ActionContext) -> Session:
    if ctx.session is None:
        raise ActionError("this action needs the database; it cannot run without a session")
    return ctx.session


def _summary(ctx: ActionContext) -> OrderSummary:
    session = _session(ctx)
    if ctx.subject_id is None:
        raise ActionError("this action runs on an order summary, and the run has none")
    summary = session.get(OrderSummary, ctx.subject_id)
    if summary is None:
        raise ActionError(f"order summary {ctx.subject_id} does not exist")
    return summary


def _record_id(record: Mapping[str, Any], kind: str) -> str:
    value = record.get("id")
    if not isinstance(value, str) or not value:
        raise ActionError(f"the {kind} given has no id")
    return value


@contextmanager
def _domain(category: str) -> Iterator[None]:
    """Domain errors as the engine's: refusals for what the order does not allow, failures otherwise."""
    try:
        yield
    except GatewayTimeout as exc:
        raise ActionError(str(exc), code="gateway_timeout", category=category) from exc
    except GatewayDeclined as exc:
        raise ActionError(str(exc), code="gateway_declined", category=category, retryable=False) from exc
    except GatewayMismatch as exc:
        raise ActionError(str(exc), code="gateway_mismatch", category=category, retryable=False) from exc
    except NotAuthorized as exc:
        raise ActionError(str(exc), code="not_authorized", category=category, retryable=False) from exc
    except (Conflict, InvalidTransitionError, QuantityError) as exc:
        raise NotAllowed(str(exc)) from exc
    except NotFound as exc:
        raise ActionError(str(exc), code="not_found", category=category, retryable=False) from exc
    except DomainError as exc:
        raise ActionError(str(exc), code="domain_error", category=category) from exc


# -- actions ------------------------------------------------------------------------------------------


def route_order_action(ctx: ActionContext, inputs: RouteOrderIn) -> RouteOrderOut:
    """Choose locations for the order's units and reserve them (all or nothing)."""
    summary = _summary(ctx)
    lines = [(line.item_id, line.quantity) for line in inputs.lines] if inputs.lines is not None else None
    with _domain(STOCK):
        result = routing.route_order(_session(ctx), summary, strategy=inputs.strategy, lines=lines)
    return RouteOrderOut(allocations=result.allocations, unallocated_quantity=result.unallocated_quantity)


def ensure_funds_action(ctx: ActionContext, inputs: EnsureFundsIn) -> EnsureFundsOut:
    """Authorize what the amount needs beyond the open authorizations."""
    summary = _summary(ctx)
    with _domain(PAYMENT):
        auth = payments.ensure_funds(
            _session(ctx), summary, inputs.amount, key=ctx.idempotency_key, at=ctx.decided_at()
        )
    if auth is None:
        return EnsureFundsOut(authorized=Decimal(0))
    return EnsureFundsOut(authorized=auth.amount, authorization_id=auth.id)


def create_fulfillment_orders_action(
    ctx: ActionContext, inputs: CreateFulfillmentOrdersIn
) -> CreateFulfillmentOrdersOut:
    """One fulfillment order per location, delivery method and recipient of the allocations."""
    summary = _summary(ctx)
    with _domain(FULFILLMENT):
        fos = fulfillment.create_fulfillment_orders(
            _session(ctx), summary, inputs.allocations, charge=inputs.charge, reason=inputs.reason
        )
    return CreateFulfillmentOrdersOut(
        fulfillment_orders=[fulfillment_order_view(fo) for fo in fos], count=len(fos)
    )


def set_status_action(ctx: ActionContext, inputs: SetStatusIn) -> SetStatusOut:
    """Set the order summary's status."""
    summary = _summary(ctx)
    summary.status = inputs.status
    write_pending(_session(ctx))
    return SetStatusOut(status=summary.status)


def create_invoice_action(ctx: ActionContext, inputs: CreateInvoiceIn) -> InvoiceOut:
    """Bill what a shipped fulfillment order shipped (once per fulfillment order)."""
    session = _session(ctx)
    fo_id = _record_id(inputs.fulfillment_order, "fulfillment order")
    fo = session.get(FulfillmentOrder, fo_id)
    if fo is None:
        raise ActionError(f"fulfillment order {fo_id} does not exist", category=INVOICING)
    with _domain(INVOICING):
        invoice = billing.create_invoice(session, fo)
    return InvoiceOut(id=invoice.id, total=money.quantize(invoice.total, invoice.summary.currency))


def capture_funds_action(ctx: ActionContext, inputs: CaptureFundsIn) -> CaptureFundsOut:
    """Capture exactly the invoice's amount from usable authorizations (authorizing anew, unless told
    not to, what lapsed ones no longer cover)."""
    session = _session(ctx)
    invoice_id = _record_id(inputs.invoice, "invoice")
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise ActionError(f"invoice {invoice_id} does not exist", category=PAYMENT)
    with _domain(PAYMENT):
        captured = payments.capture_invoice(
            session,
            invoice,
            key=ctx.idempotency_key,
            at=ctx.decided_at(),
            reauthorize=inputs.reauthorize,
            keys_by_position=ctx.retried_from_before_first_attempt_at,
        )
    currency = invoice.summary.currency
    total = sum((p.amount for p in captured.payments), Decimal(0))
    return CaptureFundsOut(
        amount=money.quantize(total, currency), reauthorized=money.quantize(captured.reauthorized, currency)
    )


def release_funds_action(ctx: ActionContext, inputs: ReleaseFundsIn) -> ReleaseFundsOut:
    """Void the authorizations the order no longer needs (after a cancel, or once it is all billed)."""
    summary = _summary(ctx)
    with _domain(PAYMENT):
        released = payments.release_funds(
            _session(ctx), summary, key=ctx.idempotency_key, at=ctx.decided_at()
        )
    return ReleaseFundsOut(released=money.quantize(released, summary.currency))


def notify_action(ctx: ActionContext, inputs: NotifyIn) -> NotifyOut:
    """Queue a message to the customer in the outbox (no mail server: a sender reads the outbox)."""
    payload: dict[str, Any] = {
        "template": inputs.template,
        "to": inputs.to,
        "order_summary_id": ctx.subject_id,
    }
    if ctx.session is not None and ctx.subject_id is not None:
        summary = ctx.session.get(OrderSummary, ctx.subject_id)
        if summary is not None:
            payload["order_number"] = summary.order_number
    ctx.emit(NOTIFICATION_REQUESTED, payload)
    return NotifyOut(template=inputs.template, to=inputs.to, queued=True)


# -- registration -------------------------------------------------------------------------------------


def register_builtin_actions(registry: ActionRegistry) -> None:
    """Register Ordo's built-in actions, events, scopes and record loaders (idempotent per registry)."""
    if "route_order" in registry.actions:
        return
    registry.register(
        "route_order",
        route_order_action,
        input_model=RouteOrderIn,
        output_model=RouteOrderOut,
        category=STOCK,
        description="Choose locations (fewest_splits or priority) and reserve the order's stock",
    )
    registry.register(
        "ensure_funds",
        ensure_funds_action,
        external=True,
        input_model=EnsureFundsIn,
        output_model=EnsureFundsOut,
        category=PAYMENT,
        description="Authorize what the amount needs beyond open authorizations",
    )
    registry.register(
        "create_fulfillment_orders",
        create_fulfillment_orders_action,
        input_model=CreateFulfillmentOrdersIn,
        output_model=CreateFulfillmentOrdersOut,
        category=FULFILLMENT,
        description="One fulfillment order per location, delivery method and recipient",
    )
    registry.register(
        "set_status",
        set_status_action,
        input_model=SetStatusIn,
        output_model=SetStatusOut,
        category=FULFILLMENT,
        description="Set the order summary's status",
    )
    registry.register(
        "create_invoice",
        create_invoice_action,
        input_model=CreateInvoiceIn,
        output_model=InvoiceOut,
        category=INVOICING,
        record_kind="invoice",
        description="Invoice what a fulfillment order shipped",
    )
    registry.register(
        "capture_funds",
        capture_funds_action,
        external=True,
        input_model=CaptureFundsIn,
        output_model=CaptureFundsOut,
        category=PAYMENT,
        description="Capture exactly an invoice's amount, authorizing anew what lapsed authorizations left",
    )
    registry.register(
        "release_funds",
        release_funds_action,
        external=True,
        input_model=ReleaseFundsIn,
        output_model=ReleaseFundsOut,
        category=PAYMENT,
        description="Void the authorizations the order no longer needs",
    )
    registry.register(
        "notify",
        notify_action,
        input_model=NotifyIn,
        output_model=NotifyOut,
        category=FULFILLMENT,
        description="Queue a message to the customer in the outbox",
    )
    # Imported here: the service actions build on this module's helpers and models.
    from orders.service_actions import register_service_actions

    register_service_actions(registry)
    registry.register_event(ORDER_SUMMARY_CREATED, {"summary"})
    registry.register_event(FULFILLMENT_ORDER_SHIPPED, {"fulfillment_order"})
    registry.register_event(RETURN_ORDER_RECEIVED, {"return_order", "received"})
    registry.register_event(NOTIFICATION_REQUESTED, {"template", "to", "order_summary_id", "order_number"})
    registry.register_scope("summary", summary_scope)
    registry.register_scope("order", order_scope)
    registry.register_record_loader("fulfillment_order", loader(FulfillmentOrder, fulfillment_order_view))
    registry.register_record_loader("invoice", loader(Invoice, lambda r: invoice_view(r, as_text=False)))
    registry.register_record_loader(
        "credit_memo", loader(CreditMemo, lambda r: credit_memo_view(r, as_text=False))
    )
    registry.register_record_loader("return_order", loader(ReturnOrder, return_order_view))
    registry.register_record_loader("change", loader(OrderChange, lambda r: change_view(r, as_text=False)))

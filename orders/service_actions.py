"""The service actions (cancel, return, credit, refund, discount, exchange) and their guards and bounds.

Thin shells over ``orders.service_ops``, ``orders.returns``, ``orders.refunds`` and ``orders.exchanges``,
like the fulfillment actions in ``orders.actions``: a quantity or state the order does not allow now
is a ``NotAllowed`` refusal (409 when it is the run's first action, nothing written).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from engine.registry import ActionContext, ActionError, ActionRegistry, DslType
from orders import exchanges, money, refunds, returns, service_ops
from orders.actions import (
    PAYMENT,
    ItemQuantities,
    MoneyArg,
    RecordArg,
    _domain,
    _In,
    _record_id,
    _session,
    _summary,
)
from orders.models import CreditMemo, OrderChange, OrderItemSummary, OrderSummary, ReturnOrder
from orders.views import amount, change_view, credit_memo_view, return_order_view

SERVICE = "Service"
Reason = Annotated[str, Field(max_length=500)]


class SkuQuantity(BaseModel):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(gt=0)]


SkuQuantities = Annotated[list[SkuQuantity], DslType("sku_quantities")]


# -- inputs and outputs -------------------------------------------------------------------------------


class CancelItemsIn(_In):
    lines: ItemQuantities
    reason: Reason = ""


class CreateDiscountIn(_In):
    amount: MoneyArg
    reason: Reason = ""


class ChangeOut(BaseModel):
    """The fields of ``orders.views.change_view``: what a flow reads from a bound change."""

    id: str
    order_summary_id: str
    kind: str
    amount: Decimal
    refund_due: Decimal
    charge_due: Decimal
    reason: str
    lines: list[dict[str, Any]]


class CreateReturnOrderIn(_In):
    lines: ItemQuantities
    reason: Reason = ""


class CancelReturnOrderIn(_In):
    return_order: RecordArg


class ReturnOrderOut(BaseModel):
    id: str
    order_summary_id: str
    status: str
    reason: str
    lines: list[dict[str, Any]]


class CreateCreditMemoIn(_In):
    change: RecordArg | None = None
    return_order: RecordArg | None = None
    include_shipping: bool = False


class CreditMemoOut(BaseModel):
    id: str
    order_summary_id: str
    total: Decimal
    reason: str
    refunded: Decimal


class EnsureRefundsIn(_In):
    credit_memo: RecordArg


class EnsureRefundsOut(BaseModel):
    refunded: Decimal
    outstanding: Decimal
    refunds: int


class ExchangeItemsIn(_In):
    return_lines: ItemQuantities
    new_lines: SkuQuantities
    reason: Reason = ""


class ExchangeOut(BaseModel):
    id: str
    return_order: dict[str, Any]
    new_lines: list[dict[str, Any]]
    allocations: list[dict[str, Any]]
    returned_value: Decimal
    new_value: Decimal
    price_difference: Decimal
    charge_due: Decimal
    refund_due: Decimal


# -- actions ------------------------------------------------------------------------------------------


def _actor(ctx: ActionContext) -> str:
    return f"flow run {ctx.run_id}"


def _pairs(lines: list[Any], key: str) -> list[tuple[str, int]]:
    return [(getattr(line, key), line.quantity) for line in lines]


def _load(ctx: ActionContext, model: type[Any], record: Mapping[str, Any], kind: str) -> Any:
    record_id = _record_id(record, kind)
    found = _session(ctx).get(model, record_id)
    if found is None or found.order_summary_id != ctx.subject_id:
        raise ActionError(f"{kind} {record_id} does not exist on this order", retryable=False)
    return found


def cancel_items_action(ctx: ActionContext, inputs: CancelItemsIn) -> ChangeOut:
    """Cancel units that have not shipped; allocated ones come off their fulfillment orders."""
    summary = _summary(ctx)
    with _domain(SERVICE):
        change = service_ops.cancel_items(
            _session(ctx),
            summary,
            _pairs(inputs.lines, "item_id"),
            reason=inputs.reason,
            actor=_actor(ctx),
            run_id=ctx.run_id,
        )
    return ChangeOut.model_validate(change_view(change, as_text=False))


def create_discount_action(ctx: ActionContext, inputs: CreateDiscountIn) -> ChangeOut:
    """Money off the order: later invoices first, then credited against what was invoiced."""
    summary = _summary(ctx)
    with _domain(SERVICE):
        change = service_ops.create_discount(
            _session(ctx), summary, inputs.amount, reason=inputs.reason, actor=_actor(ctx), run_id=ctx.run_id
        )
    return ChangeOut.model_validate(change_view(change, as_text=False))


def create_return_order_action(ctx: ActionContext, inputs: CreateReturnOrderIn) -> ReturnOrderOut:
    """Open a Submitted return order (RMA) for shipped units."""
    summary = _summary(ctx)
    with _domain(SERVICE):
        ro = returns.create_return_order(
            _session(ctx),
            summary,
            _pairs(inputs.lines, "item_id"),
            reason=inputs.reason,
            actor=_actor(ctx),
            run_id=ctx.run_id,
        )
    return ReturnOrderOut.model_validate(return_order_view(ro))


def cancel_return_order_action(ctx: ActionContext, inputs: CancelReturnOrderIn) -> ReturnOrderOut:
    """Stop expecting what has not arrived on a return order (its timeout, or an agent's decision)."""
    ro: ReturnOrder = _load(ctx, ReturnOrder, inputs.return_order, "return order")
    with _domain(SERVICE):
        returns.cancel_return_order(_session(ctx), ro, actor=_actor(ctx), run_id=ctx.run_id)
    return ReturnOrderOut.model_validate(return_order_view(ro))


def create_credit_memo_action(ctx: ActionContext, inputs: CreateCreditMemoIn) -> CreditMemoOut:
    """A credit memo for a change's refund, or for what a return order received (shipping on request)."""
    if (inputs.change is None) == (inputs.return_order is None):
        raise ActionError("give either a change or a return order", code="bad_input", retryable=False)
    session = _session(ctx)
    with _domain(SERVICE):
        if inputs.change is not None:
            change: OrderChange = _load(ctx, OrderChange, inputs.change, "change")
            memo = refunds.memo_for_change(session, change)
        else:
            assert inputs.return_order is not None
            ro: ReturnOrder = _load(ctx, ReturnOrder, inputs.return_order, "return order")
            memo = refunds.memo_for_return(
                session, ro, include_shipping=inputs.include_shipping, actor=_actor(ctx), run_id=ctx.run_id
            )
    return CreditMemoOut.model_validate(credit_memo_view(memo, as_text=False))


def ensure_refunds_action(ctx: ActionContext, inputs: EnsureRefundsIn) -> EnsureRefundsOut:
    """Refund a credit memo to the payments it came from, newest first; never beyond what was captured."""
    memo: CreditMemo = _load(ctx, CreditMemo, inputs.credit_memo, "credit memo")
    with _domain(PAYMENT):
        made = refunds.ensure_refunds(
            _session(ctx),
            memo,
            key=ctx.idempotency_key,
            keys_by_position=ctx.retried_from_before_first_attempt_at,
        )
    currency = memo.summary.currency
    return EnsureRefundsOut(
        refunded=money.quantize(memo.refunded_amount, currency),
        outstanding=money.quantize(memo.refund_outstanding, currency),
        refunds=len(made),
    )


def exchange_items_action(ctx: ActionContext, inputs: ExchangeItemsIn) -> ExchangeOut:
    """Return some units and send others (same or another SKU), routed and reserved now."""
    summary = _summary(ctx)
    with _domain(SERVICE):
        done = exchanges.exchange_items(
            _session(ctx),
            summary,
            _pairs(inputs.return_lines, "item_id"),
            _pairs(inputs.new_lines, "sku"),
            reason=inputs.reason,
            actor=_actor(ctx),
            run_id=ctx.run_id,
        )
    return ExchangeOut(
        id=done.change.id,
        return_order=return_order_view(done.return_order),
        new_lines=[{"item_id": i.id, "sku": i.sku, "quantity": i.quantity_ordered} for i in done.new_items],
        allocations=done.allocations,
        returned_value=done.returned_value,
        new_value=done.new_value,
        price_difference=done.price_difference,
        charge_due=max(done.price_difference, Decimal(0)),
        refund_due=max(-done.price_difference, Decimal(0)),
    )


# -- guards and bounds --------------------------------------------------------------------------------

Limit = Callable[[OrderItemSummary], int]
ITEM_LIMITS: dict[str, Limit] = {
    "cancel": lambda i: i.quantity_available_to_cancel,
    "return": lambda i: i.quantity_available_to_return,
    "exchange": lambda i: i.quantity_available_to_return,
    "reship": lambda i: i.quantity_available_to_reship,
}


def _summary_of(session: Session | None, subject_id: str | None) -> OrderSummary | None:
    if session is None or subject_id is None:
        return None
    return session.get(OrderSummary, subject_id)


def _item_guard(limit: Limit) -> Callable[[Session | None, str | None], bool]:
    def guard(session: Session | None, subject_id: str | None) -> bool:
        summary = _summary_of(session, subject_id)
        return summary is not None and any(limit(item) > 0 for item in summary.items)

    return guard


def _item_bounds(limit: Limit) -> Callable[[Session | None, str | None], Mapping[str, Any]]:
    def bounds(session: Session | None, subject_id: str | None) -> Mapping[str, Any]:
        summary = _summary_of(session, subject_id)
        if summary is None:
            return {}
        items = [
            {"item_id": i.id, "sku": i.sku, "max_quantity": limit(i)} for i in summary.items if limit(i) > 0
        ]
        return {"item_quantities": {"items": items}}

    return bounds


def _discount_guard(session: Session | None, subject_id: str | None) -> bool:
    summary = _summary_of(session, subject_id)
    return summary is not None and service_ops.discount_limit(summary) > 0


def _discount_bounds(session: Session | None, subject_id: str | None) -> Mapping[str, Any]:
    summary = _summary_of(session, subject_id)
    if summary is None:
        return {}
    currency = summary.currency
    return {
        "money": {
            "min": amount(money.minor_unit(currency), currency),
            "max": amount(service_ops.discount_limit(summary), currency),
        }
    }


def register_service_actions(registry: ActionRegistry) -> None:
    """The service actions, and for the starter flows' action names what is possible now and how much."""
    specs: list[tuple[str, Any, type[BaseModel], type[BaseModel], str, str | None, str]] = [
        (
            "cancel_items",
            cancel_items_action,
            CancelItemsIn,
            ChangeOut,
            SERVICE,
            "change",
            "Cancel units that have not shipped",
        ),
        (
            "create_discount",
            create_discount_action,
            CreateDiscountIn,
            ChangeOut,
            SERVICE,
            "change",
            "Give money off the order",
        ),
        (
            "create_return_order",
            create_return_order_action,
            CreateReturnOrderIn,
            ReturnOrderOut,
            SERVICE,
            "return_order",
            "Open a return order (RMA) for shipped units",
        ),
        (
            "cancel_return_order",
            cancel_return_order_action,
            CancelReturnOrderIn,
            ReturnOrderOut,
            SERVICE,
            "return_order",
            "Stop expecting what has not arrived on a return order",
        ),
        (
            "create_credit_memo",
            create_credit_memo_action,
            CreateCreditMemoIn,
            CreditMemoOut,
            SERVICE,
            "credit_memo",
            "Credit memo for a change's refund or a return's received units",
        ),
        (
            "ensure_refunds",
            ensure_refunds_action,
            EnsureRefundsIn,
            EnsureRefundsOut,
            PAYMENT,
            None,
            "Refund a credit memo to the payments it came from",
        ),
        (
            "exchange_items",
            exchange_items_action,
            ExchangeItemsIn,
            ExchangeOut,
            SERVICE,
            None,
            "Return some units and send others in one action",
        ),
    ]
    for name, func, input_model, output_model, category, record_kind, description in specs:
        registry.register(
            name,
            func,
            input_model=input_model,
            output_model=output_model,
            category=category,
            record_kind=record_kind,
            description=description,
            # The refund goes to the payment gateway: what led up to it commits first.
            external=name == "ensure_refunds",
        )
    for action_name, limit in ITEM_LIMITS.items():
        registry.register_service_guard(action_name, _item_guard(limit))
        registry.register_service_bounds(action_name, _item_bounds(limit))
    registry.register_service_guard("discount", _discount_guard)
    registry.register_service_bounds("discount", _discount_bounds)

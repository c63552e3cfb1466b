"""Orders in: CONTRACT.md's ``POST /orders`` body, its validation, and capture into Order + OrderSummary.

The pydantic models check shape and bounds; ``capture_order`` checks the business rules and reports
every problem at once, by field, before anything is added to the session.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, field_validator
from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.db.plain_load import RecordQuery
from orders import money, reference
from orders.columns import check_storable
from orders.currencies import CURRENCY_EXPONENTS
from orders.errors import Conflict, MoneyError, ValidationFailed
from orders.events import ORDER_SUMMARY_CREATED, DomainEvent
from orders.gateway import gateway_names
from orders.models import (
    DeliveryKind,
    DeliveryMethod,
    Lifecycle,
    Location,
    Order,
    OrderItem,
    OrderItemSummary,
    OrderStatus,
    OrderSummary,
)
from orders.views import summary_view
from orders.writes import write_pending

SKU_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_QUANTITY = 1_000_000
MAX_LINES = 500
_MAX_AMOUNT_TEXT = 40


def _to_decimal(value: Any) -> Any:
    """Amounts from JSON strings or numbers, exact: a float goes through its shortest repr, never binary."""
    if isinstance(value, bool):
        raise ValueError("an amount is a number or a decimal string, not a boolean")
    if isinstance(value, float):
        value = str(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > _MAX_AMOUNT_TEXT:
            raise ValueError("an amount is a decimal string of at most 40 characters")
        try:
            parsed = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal amount") from None
        if not parsed.is_finite():
            raise ValueError(f"{value!r} is not a finite amount")
        return parsed
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("amounts must be finite")
        return value
    raise ValueError("an amount is a number or a decimal string")


MoneyInput = Annotated[Decimal, BeforeValidator(_to_decimal)]

Text64 = Annotated[str, Field(min_length=1, max_length=64)]
Text200 = Annotated[str, Field(max_length=200)]


class _Input(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL's text cannot hold NUL (SQLite's can): refused here, so both databases agree.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain the NUL character")
        return value


class CustomerInput(_Input):
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
    name: Text200 = ""


class AddressInput(_Input):
    name: Text200 = ""
    line1: Text200 = ""
    city: Annotated[str, Field(max_length=100)] = ""
    region: Annotated[str, Field(max_length=100)] = ""
    postal_code: Annotated[str, Field(max_length=32)] = ""
    country: Annotated[str, Field(max_length=64)] = ""


class LineInput(_Input):
    sku: Annotated[str, Field(min_length=1, max_length=200)]
    name: Text200 = ""
    quantity: StrictInt
    unit_price: MoneyInput
    adjustments: MoneyInput = Decimal(0)
    tax: MoneyInput = Decimal(0)
    delivery_method: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    pickup_location: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class ShippingInput(_Input):
    amount: MoneyInput = Decimal(0)
    tax: MoneyInput = Decimal(0)


class PaymentInput(_Input):
    gateway: Text64 = "test"
    token: Annotated[str, Field(min_length=1, max_length=200)]


class OrderInput(_Input):
    order_number: Text64
    channel: Text64 = "web"
    currency: Annotated[str, Field(min_length=1, max_length=8)]
    lifecycle: Literal["managed", "unmanaged"] = "managed"
    customer: CustomerInput
    ship_to: AddressInput = Field(default_factory=AddressInput)
    delivery_method: Text64
    lines: Annotated[list[LineInput], Field(min_length=1, max_length=MAX_LINES)]
    adjustments: MoneyInput = Decimal(0)
    shipping: ShippingInput = Field(default_factory=ShippingInput)
    payment: PaymentInput


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append({"field": field, "message": message})

    def exact(self, field: str, value: Decimal, currency: str | None) -> bool:
        """Whether ``value`` fits the currency and a Money column; records why not."""
        try:
            check_storable(value)
        except MoneyError as exc:
            self.add(field, str(exc))
            return False
        if currency is not None and not money.is_exact(value, currency):
            self.add(
                field,
                f"{value} has more decimal places than {currency} allows ({money.exponent(currency)})",
            )
            return False
        return True


_METHODS = RecordQuery(DeliveryMethod, DeliveryMethod.code.in_(bindparam("b_codes", expanding=True)))
_STORES = RecordQuery(Location, Location.code.in_(bindparam("b_codes", expanding=True)))


def _resolve(
    session: Session, data: OrderInput, errors: _Errors
) -> tuple[dict[str, DeliveryMethod], dict[str, Location]]:
    codes = {data.delivery_method} | {line.delivery_method for line in data.lines if line.delivery_method}
    methods = {m.code: m for m in _METHODS.all(session, {"b_codes": sorted(codes)})}
    stores = {line.pickup_location for line in data.lines if line.pickup_location}
    locations = {loc.code: loc for loc in _STORES.all(session, {"b_codes": sorted(stores)})} if stores else {}
    if data.delivery_method not in methods:
        errors.add("delivery_method", f"unknown delivery method {data.delivery_method!r}")
    reference.remember(session, [*methods.values(), *locations.values()])
    return methods, locations


def validate_order(
    session: Session, data: OrderInput
) -> tuple[dict[str, DeliveryMethod], dict[str, Location]]:
    """Every business rule the body breaks, as ValidationFailed; the resolved records when none."""
    errors = _Errors()
    currency: str | None = data.currency
    if data.currency not in CURRENCY_EXPONENTS:
        errors.add("currency", f"unknown currency {data.currency!r}")
        currency = None
    if data.payment.gateway not in gateway_names():
        errors.add("payment.gateway", f"unknown payment gateway {data.payment.gateway!r}")
    methods, locations = _resolve(session, data, errors)

    line_ok = True
    for i, line in enumerate(data.lines):
        at = f"lines.{i}"
        if not SKU_PATTERN.match(line.sku):
            errors.add(f"{at}.sku", "a SKU is 1-64 characters of A-Z a-z 0-9 - _ .")
        if line.quantity <= 0:
            errors.add(f"{at}.quantity", "quantity must be a whole number greater than 0")
            line_ok = False
        elif line.quantity > MAX_QUANTITY:
            errors.add(f"{at}.quantity", f"quantity must be at most {MAX_QUANTITY:,}")
            line_ok = False
        if line.unit_price < 0:
            errors.add(f"{at}.unit_price", "unit price must not be negative")
            line_ok = False
        if line.tax < 0:
            errors.add(f"{at}.tax", "tax must not be negative")
            line_ok = False
        for name in ("unit_price", "adjustments", "tax"):
            line_ok = errors.exact(f"{at}.{name}", getattr(line, name), currency) and line_ok
        method_code = line.delivery_method or data.delivery_method
        method = methods.get(method_code)
        if line.delivery_method and method is None:
            errors.add(f"{at}.delivery_method", f"unknown delivery method {line.delivery_method!r}")
        if method is not None and method.kind == DeliveryKind.PICKUP:
            if not line.pickup_location:
                errors.add(f"{at}.pickup_location", "a pickup line needs a pickup_location")
            else:
                store = locations.get(line.pickup_location)
                if store is None:
                    errors.add(f"{at}.pickup_location", f"unknown location {line.pickup_location!r}")
                elif not store.pickup:
                    errors.add(f"{at}.pickup_location", f"location {store.code!r} is not a pickup store")
        elif method is not None and line.pickup_location:
            errors.add(f"{at}.pickup_location", f"delivery method {method.code!r} ships; it takes no pickup")
        elif method is None and line.pickup_location and line.pickup_location not in locations:
            # The method is unknown (reported above), but a store that does not exist is wrong either way.
            errors.add(f"{at}.pickup_location", f"unknown location {line.pickup_location!r}")

    order_ok = errors.exact("adjustments", data.adjustments, currency)
    if data.shipping.amount < 0:
        errors.add("shipping.amount", "shipping must not be negative")
        order_ok = False
    if data.shipping.tax < 0:
        errors.add("shipping.tax", "shipping tax must not be negative")
        order_ok = False
    order_ok = errors.exact("shipping.amount", data.shipping.amount, currency) and order_ok
    order_ok = errors.exact("shipping.tax", data.shipping.tax, currency) and order_ok

    if currency is not None and line_ok:
        _check_totals(data, currency, errors, order_ok=order_ok)
    if errors.items:
        raise ValidationFailed(errors.items)
    return methods, locations


def _priced(data: OrderInput) -> list[money.PricedLine]:
    return [money.PricedLine(ln.quantity, ln.unit_price, ln.adjustments, ln.tax) for ln in data.lines]


def _check_totals(data: OrderInput, currency: str, errors: _Errors, *, order_ok: bool) -> None:
    """What the amounts come to, line by line and in all; every line is checked, not just the first."""
    lines_ok = True
    for i, line in enumerate(data.lines):
        subtotal = money.line_subtotal(line.quantity, line.unit_price, line.adjustments)
        if subtotal < 0:
            errors.add(f"lines.{i}.adjustments", "line adjustments exceed the line's price")
            lines_ok = False
        elif not errors.exact(f"lines.{i}.unit_price", subtotal, currency):
            lines_ok = False
    if not (lines_ok and order_ok):
        return  # the order's totals need every amount right
    try:
        totals = money.price_lines(_priced(data), data.adjustments, currency)
    except MoneyError as exc:
        errors.add("adjustments", str(exc))
        return
    if any(line_totals.total < 0 for line_totals in totals):
        errors.add("adjustments", "order adjustments exceed what the lines are worth")
        return
    # A list, not a generator: every line's error is recorded, not only the first.
    lines_ok = all([errors.exact(f"lines.{i}", t.total, currency) for i, t in enumerate(totals)])
    if lines_ok:
        ordered = sum((t.total for t in totals), Decimal(0)) + data.shipping.amount + data.shipping.tax
        errors.exact("total", ordered, currency)


_NUMBER_CONSTRAINTS = ("uq_orders_order_number", "uq_order_summaries_order_number")
_NUMBER_COLUMNS = ("orders.order_number", "order_summaries.order_number")


def _number_taken(exc: IntegrityError) -> bool:
    """Whether the constraint that failed is one of the order number's (named on PostgreSQL; SQLite
    names the column instead: "UNIQUE constraint failed: orders.order_number")."""
    diag = getattr(exc.orig, "diag", None)
    if diag is not None:
        return getattr(diag, "constraint_name", None) in _NUMBER_CONSTRAINTS
    prefix, _, columns = str(exc.orig).partition(":")
    return prefix == "UNIQUE constraint failed" and columns.strip() in _NUMBER_COLUMNS


def capture_order(
    session: Session, data: OrderInput, *, now: datetime
) -> tuple[OrderSummary, list[DomainEvent]]:
    """Write the Order (immutable) and its OrderSummary; the ``order_summary.created`` event if managed.

    Raises ValidationFailed (nothing written) or Conflict for an order number already taken.
    """
    methods, locations = validate_order(session, data)

    currency = data.currency
    totals = money.price_lines(_priced(data), data.adjustments, currency)
    shipping_charge = data.shipping.amount + data.shipping.tax
    ordered = sum((t.total for t in totals), Decimal(0)) + shipping_charge
    customer = {
        "customer_email": data.customer.email,
        "customer_name": data.customer.name,
        "ship_to_name": data.ship_to.name,
        "ship_to_line1": data.ship_to.line1,
        "ship_to_city": data.ship_to.city,
        "ship_to_region": data.ship_to.region,
        "ship_to_postal_code": data.ship_to.postal_code,
        "ship_to_country": data.ship_to.country,
    }
    lifecycle = Lifecycle(data.lifecycle)
    order = Order(
        order_number=data.order_number,
        channel=data.channel,
        currency=currency,
        lifecycle=lifecycle,
        delivery_method=data.delivery_method,
        adjustments=data.adjustments,
        shipping_amount=data.shipping.amount,
        shipping_tax=data.shipping.tax,
        payment_gateway=data.payment.gateway,
        payment_token=data.payment.token,
        created_at=now,
        **customer,
    )
    order_items = [
        OrderItem(
            line_number=i + 1,
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            adjustments=line.adjustments,
            tax=line.tax,
            delivery_method=line.delivery_method,
            pickup_location=line.pickup_location,
            created_at=now,
        )
        for i, line in enumerate(data.lines)
    ]
    order.items = order_items
    summary = OrderSummary(
        order=order,
        order_number=data.order_number,
        status=OrderStatus.CREATED.value,
        lifecycle=lifecycle,
        channel=data.channel,
        currency=currency,
        delivery_method_id=methods[data.delivery_method].id,
        order_adjustments=data.adjustments,
        shipping_amount=data.shipping.amount,
        shipping_tax=data.shipping.tax,
        ordered_total=ordered,
        shipping_total=shipping_charge,
        created_at=now,
        updated_at=now,
        **customer,
    )
    for i, (line, item, line_totals) in enumerate(zip(data.lines, order_items, totals, strict=True)):
        method = methods[line.delivery_method or data.delivery_method]
        store = locations.get(line.pickup_location) if line.pickup_location else None
        OrderItemSummary(
            summary=summary,
            order_item=item,
            line_number=i + 1,
            sku=line.sku,
            name=line.name,
            delivery_method=method,
            pickup_location=store,
            unit_price=line.unit_price,
            adjustments=line.adjustments,
            adjustment_share=line_totals.adjustment_share,
            tax=line.tax,
            line_total=line_totals.total,
            quantity_ordered=line.quantity,
            created_at=now,
            updated_at=now,
        )
    session.add(order)
    session.add(summary)
    # A new summary has none of these; saying so now spares a query each when the view reads them.
    for empty in ("fulfillment_orders", "invoices", "credit_memos", "return_orders", "authorizations"):
        set_committed_value(summary, empty, [])
    try:
        write_pending(session)
    except IntegrityError as exc:
        # The number is taken: the unique constraints on both tables say so, races included (a check
        # beforehand would cost a read on every order and still need this). Only those constraints count
        # (see _number_taken); the caller rolls back.
        if not _number_taken(exc):
            raise
        raise Conflict(f"order number {data.order_number!r} already exists") from exc
    events: list[DomainEvent] = []
    if summary.is_managed:
        events.append(
            DomainEvent(
                ORDER_SUMMARY_CREATED, {"summary": summary_view(session, summary, as_text=False)}, summary.id
            )
        )
    return summary, events

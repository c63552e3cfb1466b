"""Every table of the order domain; importing this package registers them all on ``engine.db.Base``."""

from orders.models.base import Immutable, Record
from orders.models.billing import CreditMemo, CreditMemoLine, Invoice, InvoiceLine
from orders.models.changes import OrderChange, OrderChangeLine
from orders.models.delivery import DeliveryMethod
from orders.models.enums import (
    AuthorizationStatus,
    ChangeKind,
    DeliveryKind,
    DocumentLineKind,
    FulfillmentStatus,
    ItemOrigin,
    Lifecycle,
    LocationKind,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    ReservationStatus,
    ReturnStatus,
)
from orders.models.fulfillment import FulfillmentOrder, FulfillmentOrderLine
from orders.models.gateway import GatewayCall
from orders.models.inventory import InventoryLevel, Location, Reservation
from orders.models.item_summary import OrderItemSummary, Pool
from orders.models.order import Order, OrderItem
from orders.models.payments import Payment, PaymentAuthorization, Refund
from orders.models.returns import ReturnOrder, ReturnOrderLine
from orders.models.summary import OrderSummary

__all__ = [
    "AuthorizationStatus",
    "ChangeKind",
    "CreditMemo",
    "CreditMemoLine",
    "DeliveryKind",
    "DeliveryMethod",
    "DocumentLineKind",
    "FulfillmentOrder",
    "FulfillmentOrderLine",
    "FulfillmentStatus",
    "GatewayCall",
    "Immutable",
    "InventoryLevel",
    "Invoice",
    "InvoiceLine",
    "ItemOrigin",
    "Lifecycle",
    "Location",
    "LocationKind",
    "Order",
    "OrderChange",
    "OrderChangeLine",
    "OrderItem",
    "OrderItemSummary",
    "OrderStatus",
    "OrderSummary",
    "Payment",
    "PaymentAuthorization",
    "PaymentStatus",
    "Pool",
    "Record",
    "Refund",
    "RefundStatus",
    "Reservation",
    "ReservationStatus",
    "ReturnOrder",
    "ReturnOrderLine",
    "ReturnStatus",
]

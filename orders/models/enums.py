"""The closed vocabularies of the order model. Values are what the API and the flows see."""

from __future__ import annotations

from enum import StrEnum


class Lifecycle(StrEnum):
    MANAGED = "managed"
    UNMANAGED = "unmanaged"


class OrderStatus(StrEnum):
    CREATED = "Created"
    PENDING_APPROVAL = "Pending Approval"
    REJECTED = "Rejected"
    WAITING_TO_FULFILL = "Waiting to Fulfill"
    PARTIALLY_FULFILLED = "Partially Fulfilled"
    FULFILLED = "Fulfilled"
    CANCELED = "Canceled"
    CLOSED = "Closed"


class ItemOrigin(StrEnum):
    ORDER = "order"
    EXCHANGE = "exchange"


class ChangeKind(StrEnum):
    CANCEL = "cancel"
    RETURN = "return"
    DISCOUNT = "discount"
    RESHIPMENT = "reshipment"
    EXCHANGE = "exchange"


class LocationKind(StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"


class DeliveryKind(StrEnum):
    SHIP = "ship"
    PICKUP = "pickup"


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    CONSUMED = "consumed"


class FulfillmentStatus(StrEnum):
    DRAFT = "Draft"
    ALLOCATED = "Allocated"
    ASSIGNED = "Assigned"
    PICKED = "Picked"
    PACKED = "Packed"
    FULFILLED = "Fulfilled"
    CANCELED = "Canceled"
    REJECTED = "Rejected"


class AuthorizationStatus(StrEnum):
    PENDING = "Pending"
    AUTHORIZED = "Authorized"
    DECLINED = "Declined"
    CLOSED = "Closed"
    VOIDED = "Voided"
    # Lapsed at the processor before all of it was captured: what it held is no longer there.
    EXPIRED = "Expired"


class PaymentStatus(StrEnum):
    CAPTURED = "Captured"
    FAILED = "Failed"


class RefundStatus(StrEnum):
    PENDING = "Pending"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class DocumentLineKind(StrEnum):
    """What an invoice or credit memo line is for."""

    ITEM = "item"
    SHIPPING = "shipping"
    ADJUSTMENT = "adjustment"


class ReturnStatus(StrEnum):
    DRAFT = "Draft"
    SUBMITTED = "Submitted"
    RECEIVED = "Received"
    CLOSED = "Closed"
    CANCELED = "Canceled"

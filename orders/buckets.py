"""Quantity buckets of an order line, and the only ways to move units between them.

Every operation checks first and raises ``QuantityError`` without touching anything when it would push
a bucket negative or past what is available. The invariants, after the Salesforce model:

    0 <= canceled, 0 <= fulfilled <= allocated, canceled + allocated <= ordered
    0 <= returned <= return_initiated <= fulfilled
    0 <= reshipped <= reship_allocated

``allocated`` counts every unit ever placed on a charged fulfillment order and not released, shipped or
not; units sent again at no charge (reshipments) have buckets of their own so they never count twice.
"""

from __future__ import annotations

from sqlalchemy.orm import Mapped, mapped_column

from orders.errors import QuantityError

BUCKET_COLUMNS = (
    "quantity_ordered",
    "quantity_canceled",
    "quantity_allocated",
    "quantity_fulfilled",
    "quantity_return_initiated",
    "quantity_returned",
    "quantity_reship_allocated",
    "quantity_reshipped",
)


class QuantityBuckets:
    quantity_ordered: Mapped[int] = mapped_column()
    quantity_canceled: Mapped[int] = mapped_column(default=0)
    quantity_allocated: Mapped[int] = mapped_column(default=0)
    quantity_fulfilled: Mapped[int] = mapped_column(default=0)
    quantity_return_initiated: Mapped[int] = mapped_column(default=0)
    quantity_returned: Mapped[int] = mapped_column(default=0)
    quantity_reship_allocated: Mapped[int] = mapped_column(default=0)
    quantity_reshipped: Mapped[int] = mapped_column(default=0)

    def bucket_label(self) -> str:
        """How errors name this line; the mapped class knows its SKU and id."""
        return "line"

    # Derived buckets

    @property
    def quantity_available_to_fulfill(self) -> int:
        """Units that still need a fulfillment order."""
        return self.quantity_ordered - self.quantity_canceled - self.quantity_allocated

    @property
    def quantity_available_to_cancel(self) -> int:
        """Units not shipped and not canceled; allocated ones must be released before they are canceled."""
        return self.quantity_ordered - self.quantity_canceled - self.quantity_fulfilled

    @property
    def quantity_available_to_return(self) -> int:
        return self.quantity_fulfilled - self.quantity_return_initiated

    @property
    def quantity_allocated_unshipped(self) -> int:
        return self.quantity_allocated - self.quantity_fulfilled

    @property
    def quantity_awaiting_return(self) -> int:
        """Units on return orders that have not arrived."""
        return self.quantity_return_initiated - self.quantity_returned

    @property
    def quantity_reship_open(self) -> int:
        return self.quantity_reship_allocated - self.quantity_reshipped

    @property
    def quantity_available_to_reship(self) -> int:
        """Shipped units the customer keeps and has not already been sent again."""
        return self.quantity_fulfilled - self.quantity_return_initiated - self.quantity_reship_open

    def buckets(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in BUCKET_COLUMNS}

    # Checks

    def _check(self, verb: str, k: int, bucket: str, limit: int, detail: str = "") -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
            raise QuantityError(
                f"{self.bucket_label()}: cannot {verb} {k!r} units: a quantity is a whole number > 0"
            )
        if k > limit:
            extra = f" ({detail})" if detail else ""
            raise QuantityError(
                f"{self.bucket_label()}: cannot {verb} {k}: only {max(limit, 0)} {bucket}{extra}"
            )

    def _counts(self) -> str:
        return ", ".join(
            f"{name.removeprefix('quantity_')} {value}" for name, value in self.buckets().items()
        )

    # Operations: check everything, then change.

    def allocate(self, k: int) -> None:
        self._check("allocate", k, "available to fulfill", self.quantity_available_to_fulfill, self._counts())
        self.quantity_allocated += k

    def release(self, k: int) -> None:
        """Take allocated, unshipped units off their fulfillment order (before a cancel or a re-route)."""
        self._check(
            "release", k, "allocated and not shipped", self.quantity_allocated_unshipped, self._counts()
        )
        self.quantity_allocated -= k

    def fulfill(self, k: int) -> None:
        self._check(
            "fulfill", k, "allocated and not shipped", self.quantity_allocated_unshipped, self._counts()
        )
        self.quantity_fulfilled += k

    def cancel(self, k: int) -> None:
        self._check("cancel", k, "available to cancel", self.quantity_available_to_cancel, self._counts())
        if k > self.quantity_available_to_fulfill:
            raise QuantityError(
                f"{self.bucket_label()}: cannot cancel {k}: {self.quantity_allocated_unshipped} of them are "
                f"allocated; release them from their fulfillment order first"
            )
        self.quantity_canceled += k

    def initiate_return(self, k: int) -> None:
        self._check("return", k, "available to return", self.quantity_available_to_return, self._counts())
        self.quantity_return_initiated += k

    def cancel_return(self, k: int) -> None:
        """Units expected back that will not come (an RMA canceled, expired or closed short)."""
        self._check(
            "cancel the return of", k, "awaiting return", self.quantity_awaiting_return, self._counts()
        )
        self.quantity_return_initiated -= k

    def receive_return(self, k: int) -> None:
        self._check("receive", k, "awaiting return", self.quantity_awaiting_return, self._counts())
        self.quantity_returned += k

    def allocate_reship(self, k: int) -> None:
        self._check("reship", k, "available to reship", self.quantity_available_to_reship, self._counts())
        self.quantity_reship_allocated += k

    def release_reship(self, k: int) -> None:
        self._check("release reshipped", k, "open for reshipment", self.quantity_reship_open, self._counts())
        self.quantity_reship_allocated -= k

    def fulfill_reship(self, k: int) -> None:
        self._check("ship reshipped", k, "open for reshipment", self.quantity_reship_open, self._counts())
        self.quantity_reshipped += k

    def bucket_violations(self) -> list[str]:
        """Broken invariants, in words; empty when the buckets add up. For tests and health checks."""
        b = self.buckets()
        problems = [f"{name} is negative ({value})" for name, value in b.items() if value < 0]
        if self.quantity_canceled + self.quantity_allocated > self.quantity_ordered:
            problems.append("canceled + allocated exceeds ordered")
        if self.quantity_fulfilled > self.quantity_allocated:
            problems.append("fulfilled exceeds allocated")
        if not self.quantity_returned <= self.quantity_return_initiated <= self.quantity_fulfilled:
            problems.append("returned <= return_initiated <= fulfilled does not hold")
        if self.quantity_reshipped > self.quantity_reship_allocated:
            problems.append("reshipped exceeds reship_allocated")
        return problems

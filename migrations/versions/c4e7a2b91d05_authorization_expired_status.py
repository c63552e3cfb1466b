"""payment authorizations may be Expired: lapsed at the processor before all of it was captured

Revision ID: c4e7a2b91d05
Revises: 53893638310b
Create Date: 2026-12-03 17:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c4e7a2b91d05"
down_revision: str | None = "53893638310b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ck_payment_authorizations_status_valid"
BEFORE = "status IN ('Pending', 'Authorized', 'Declined', 'Closed', 'Voided')"
AFTER = "status IN ('Pending', 'Authorized', 'Declined', 'Closed', 'Voided', 'Expired')"


def _replace_check(condition: str) -> None:
    # (On SQLite the batch recreates the table, with the new CHECK in place of the old.)
    with op.batch_alter_table("payment_authorizations") as batch_op:
        batch_op.drop_constraint(batch_op.f(NAME), type_="check")
        batch_op.create_check_constraint(batch_op.f(NAME), condition)


def upgrade() -> None:
    _replace_check(AFTER)


def downgrade() -> None:
    # Expired authorizations hold nothing any more: as far as the older statuses go, they are voided.
    op.execute("UPDATE payment_authorizations SET status = 'Voided', remaining = 0 WHERE status = 'Expired'")
    _replace_check(BEFORE)

"""idempotency records carry the token of the request that holds the claim

Revision ID: 8d4a6c1e3f20
Revises: 5b1e0f7c2a9d
Create Date: 2026-12-02 19:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d4a6c1e3f20"
down_revision: str | None = "5b1e0f7c2a9d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_records") as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_records") as batch_op:
        batch_op.drop_column("claim_token")

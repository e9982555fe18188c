"""intake_claims: what became of each intake request the gateway stopped waiting for

Revision ID: 3f6a8c1d9e27
Revises: 9b4d2e6f8a1c
Create Date: 2026-12-02 09:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lianxin.db import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "3f6a8c1d9e27"
down_revision: str | Sequence[str] | None = "9b4d2e6f8a1c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_claims",
        sa.Column("request_key", sa.String(length=64), nullable=False),
        sa.Column("center_id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.String(length=36), nullable=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_key"),
    )
    op.create_index("ix_intake_claims_at", "intake_claims", ["at"])


def downgrade() -> None:
    op.drop_index("ix_intake_claims_at", table_name="intake_claims")
    op.drop_table("intake_claims")

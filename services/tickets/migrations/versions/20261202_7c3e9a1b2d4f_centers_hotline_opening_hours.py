"""centers: hotline and opening hours (the residents' home page)

Revision ID: 7c3e9a1b2d4f
Revises: 5e1f0c2a7b3d
Create Date: 2026-12-02 04:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "7c3e9a1b2d4f"
down_revision: str | Sequence[str] | None = "5e1f0c2a7b3d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("centers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hotline", sa.String(length=20), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("opening_hours", sa.String(length=100), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("centers", schema=None) as batch_op:
        batch_op.drop_column("opening_hours")
        batch_op.drop_column("hotline")

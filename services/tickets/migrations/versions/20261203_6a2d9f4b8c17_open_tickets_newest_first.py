"""open tickets newest first: a center's latest open tickets (intake's likely repeats) as
an index scan that stops at its LIMIT, not a sort of every open ticket

Revision ID: 6a2d9f4b8c17
Revises: 4c8e2b7d1f60
Create Date: 2026-12-03 07:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6a2d9f4b8c17"
down_revision: str | Sequence[str] | None = "4c8e2b7d1f60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_open_created",
        "tickets",
        ["center_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("due_at IS NOT NULL"),
        sqlite_where=sa.text("due_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_tickets_open_created",
        table_name="tickets",
        postgresql_where=sa.text("due_at IS NOT NULL"),
        sqlite_where=sa.text("due_at IS NOT NULL"),
    )

"""county month indexes: every center's received and resolved tickets of a period as
index-only range scans (the county view)

Revision ID: 4c8e2b7d1f60
Revises: 3f6a8c1d9e27
Create Date: 2026-12-02 19:00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "4c8e2b7d1f60"
down_revision: str | Sequence[str] | None = "3f6a8c1d9e27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_created_month",
        "tickets",
        ["created_at"],
        unique=False,
        postgresql_include=["center_id", "resolve_breached", "acknowledged_at"],
    )
    op.create_index(
        "ix_tickets_resolved_month",
        "tickets",
        ["resolved_at"],
        unique=False,
        postgresql_include=["center_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_resolved_month", table_name="tickets")
    op.drop_index("ix_tickets_created_month", table_name="tickets")

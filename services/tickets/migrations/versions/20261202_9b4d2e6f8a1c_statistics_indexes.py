"""statistics indexes: a center's resolutions and timeline steps in a period (the monthly
report's ticket figures and the county view)

Revision ID: 9b4d2e6f8a1c
Revises: 7c3e9a1b2d4f
Create Date: 2026-12-02 05:15:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "9b4d2e6f8a1c"
down_revision: str | Sequence[str] | None = "7c3e9a1b2d4f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_center_resolved", "tickets", ["center_id", "resolved_at"], unique=False
    )
    op.create_index("ix_ticket_log_center_at", "ticket_log", ["center_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ticket_log_center_at", table_name="ticket_log")
    op.drop_index("ix_tickets_center_resolved", table_name="tickets")

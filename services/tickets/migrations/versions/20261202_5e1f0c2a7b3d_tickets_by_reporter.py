"""tickets by reporter (a person's tickets: the resident's list, a caller's earlier issues)

Revision ID: 5e1f0c2a7b3d
Revises: d0a5c54e7d8a
Create Date: 2026-12-02 04:00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "5e1f0c2a7b3d"
down_revision: str | Sequence[str] | None = "d0a5c54e7d8a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_reporter", "tickets", ["center_id", "reporter_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_reporter", table_name="tickets")

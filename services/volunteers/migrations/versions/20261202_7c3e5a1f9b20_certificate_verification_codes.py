"""Certificates carry a verification code (证书验证码): one for every milestone, those
reached before this revision included.

Revision ID: 7c3e5a1f9b20
Revises: 4b0e881dc2ca
Create Date: 2026-12-02 04:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from services.volunteers.verification import new_code


# revision identifiers, used by Alembic.
revision: str = '7c3e5a1f9b20'
down_revision: Union[str, Sequence[str], None] = '4b0e881dc2ca'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add milestones.verify_code, fill it for the certificates already issued, index it."""
    with op.batch_alter_table('milestones') as batch:
        batch.add_column(sa.Column('verify_code', sa.String(length=16), nullable=True))
    milestones = sa.table(
        'milestones',
        sa.column('volunteer_id', sa.String),
        sa.column('milestone_hours', sa.Integer),
        sa.column('verify_code', sa.String),
    )
    conn = op.get_bind()
    for volunteer_id, hours in conn.execute(
        sa.select(milestones.c.volunteer_id, milestones.c.milestone_hours)
    ).all():
        conn.execute(
            milestones.update()
            .where(
                milestones.c.volunteer_id == volunteer_id, milestones.c.milestone_hours == hours
            )
            .values(verify_code=new_code())
        )
    with op.batch_alter_table('milestones') as batch:
        batch.alter_column('verify_code', existing_type=sa.String(length=16), nullable=False)
        batch.create_unique_constraint('uq_milestones_verify_code', ['verify_code'])


def downgrade() -> None:
    with op.batch_alter_table('milestones') as batch:
        batch.drop_constraint('uq_milestones_verify_code', type_='unique')
        batch.drop_column('verify_code')

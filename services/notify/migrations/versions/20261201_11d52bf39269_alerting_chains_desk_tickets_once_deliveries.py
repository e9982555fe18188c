"""alerting chains, desk tickets, messages told once

A center's alerting chain (who is told when nobody on duty can be reached, and the
escalation ladder's third level); the tickets resolved at the desk (their party is told
nothing of them); deliveries told once per key (a reporter hears of each step of a ticket
once, whatever the events); and one delivery per event *and message type* for a recipient
on a channel (a resolution tells its reporter the answer and asks for a rating).

Revision ID: 11d52bf39269
Revises: f7c713da217f
Create Date: 2026-12-01 22:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import lianxin.db


# revision identifiers, used by Alembic.
revision: str = '11d52bf39269'
down_revision: Union[str, Sequence[str], None] = 'f7c713da217f'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'alerting',
        sa.Column('center_id', sa.String(length=40), nullable=False),
        sa.Column('fallback_person_ids', sa.JSON(), nullable=False),
        sa.Column('leadership_person_ids', sa.JSON(), nullable=False),
        sa.Column('updated_by', sa.String(length=64), nullable=True),
        sa.Column('updated_at', lianxin.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('center_id'),
    )
    op.create_table(
        'desk_tickets',
        sa.Column('center_id', sa.String(length=40), nullable=False),
        sa.Column('ticket_id', sa.String(length=64), nullable=False),
        sa.Column('resolved_at', lianxin.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('center_id', 'ticket_id'),
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('once_key', sa.String(length=140), nullable=True))
        batch_op.drop_constraint('uq_deliveries_source_recipient_channel', type_='unique')
        batch_op.create_unique_constraint(
            'uq_deliveries_source_type_recipient_channel',
            ['source_id', 'message_type', 'recipient', 'channel'],
        )
    # Partial: the deliveries not told once (once_key NULL) write nothing to it.
    op.create_index(
        'uq_deliveries_once_recipient_channel',
        'deliveries',
        ['once_key', 'recipient', 'channel'],
        unique=True,
        postgresql_where=sa.text('once_key IS NOT NULL'),
        sqlite_where=sa.text('once_key IS NOT NULL'),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('uq_deliveries_once_recipient_channel', table_name='deliveries')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint('uq_deliveries_source_type_recipient_channel', type_='unique')
        batch_op.create_unique_constraint(
            'uq_deliveries_source_recipient_channel', ['source_id', 'recipient', 'channel']
        )
        batch_op.drop_column('once_key')
    op.drop_table('desk_tickets')
    op.drop_table('alerting')

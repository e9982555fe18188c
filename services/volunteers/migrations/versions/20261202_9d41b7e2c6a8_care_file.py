"""The care file (帮扶档案): a beneficiary linked to the directory's person once confirmed,
and the log of every opening of a file.

Revision ID: 9d41b7e2c6a8
Revises: 7c3e5a1f9b20
Create Date: 2026-12-02 04:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import lianxin.db


# revision identifiers, used by Alembic.
revision: str = '9d41b7e2c6a8'
down_revision: Union[str, Sequence[str], None] = '7c3e5a1f9b20'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('beneficiaries') as batch:
        batch.add_column(sa.Column('person_id', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('person_linked_by', sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column('person_linked_at', lianxin.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        'care_file_access',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('center_id', sa.String(length=40), nullable=False),
        sa.Column('beneficiary_id', sa.String(length=36), nullable=False),
        sa.Column('reader_id', sa.String(length=64), nullable=True),
        sa.Column('reader_role', sa.String(length=20), nullable=False),
        sa.Column('reader_duty', sa.String(length=20), nullable=True),
        sa.Column('opened_at', lianxin.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_care_file_access_center_opened', 'care_file_access', ['center_id', 'opened_at']
    )
    op.create_index(
        'ix_care_file_access_beneficiary',
        'care_file_access',
        ['center_id', 'beneficiary_id', 'opened_at'],
    )


def downgrade() -> None:
    op.drop_index('ix_care_file_access_beneficiary', table_name='care_file_access')
    op.drop_index('ix_care_file_access_center_opened', table_name='care_file_access')
    op.drop_table('care_file_access')
    with op.batch_alter_table('beneficiaries') as batch:
        batch.drop_column('person_linked_at')
        batch.drop_column('person_linked_by')
        batch.drop_column('person_id')

"""cdr tab: keyset index on cdrs (customer, start, id); resumable recalc runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 18:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from connex_tui.data.types import UTCDateTime

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The CDR tab pages by (started_at, id) within one customer: the id makes the order
    # total (many CDRs share a millisecond), so the index must carry it (PostgreSQL).
    op.drop_index('ix_cdrs_customer_started', table_name='cdrs')
    op.create_index('ix_cdrs_customer_started', 'cdrs', ['customer_id', 'started_at', 'id'])
    with op.batch_alter_table('recalc_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=10), nullable=False,
                                      server_default='done'))
        batch_op.add_column(sa.Column('cursor_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('cursor_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('skipped', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('finished_at', UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('recalc_runs', schema=None) as batch_op:
        batch_op.drop_column('finished_at')
        batch_op.drop_column('skipped')
        batch_op.drop_column('cursor_id')
        batch_op.drop_column('cursor_at')
        batch_op.drop_column('status')
    op.drop_index('ix_cdrs_customer_started', table_name='cdrs')
    op.create_index('ix_cdrs_customer_started', 'cdrs', ['customer_id', 'started_at'])

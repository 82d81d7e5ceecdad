"""dids: did_rent, the months of DID rent charged; dids indexed by (customer, number)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 21:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from connex_tui.data.types import Money, UTCDateTime

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('dids', schema=None) as batch_op:
        batch_op.drop_index('ix_dids_customer_id')
        batch_op.create_index('ix_dids_customer_number', ['customer_id', 'number'],
                              unique=False)
        batch_op.create_index('ix_dids_stock', ['number'], unique=False,
                              postgresql_where=sa.text('customer_id IS NULL'),
                              sqlite_where=sa.text('customer_id IS NULL'))
    op.create_table('did_rent',
    sa.Column('did_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('amount', Money(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                            name=op.f('fk_did_rent_customer_id_customers'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('did_id', 'month', name=op.f('pk_did_rent'))
    )
    with op.batch_alter_table('did_rent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_did_rent_customer_id'), ['customer_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('did_rent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_did_rent_customer_id'))
    op.drop_table('did_rent')
    with op.batch_alter_table('dids', schema=None) as batch_op:
        batch_op.drop_index('ix_dids_stock')
        batch_op.drop_index('ix_dids_customer_number')
        batch_op.create_index('ix_dids_customer_id', ['customer_id'], unique=False)

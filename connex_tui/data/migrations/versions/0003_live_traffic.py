"""live traffic: SIP user, ringing time and source IP on dialogs; per-prefix stats rollup

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 18:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from connex_tui.data.types import Money, UTCDateTime

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('dialogs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sip_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ringing_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('source_ip', sa.String(length=64), nullable=False,
                                      server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_dialogs_sip_user_id_sip_users'),
                                    'sip_users', ['sip_user_id'], ['id'],
                                    ondelete='SET NULL')
    op.create_table('stats_prefixes',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('grain', sa.String(length=1), nullable=False),
    sa.Column('bucket', UTCDateTime(), nullable=False),
    sa.Column('prefix', sa.String(length=32), nullable=False),
    sa.Column('destination', sa.String(length=100), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('connected', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.BigInteger(), nullable=False),
    sa.Column('billed_s', sa.BigInteger(), nullable=False),
    sa.Column('charge', Money(), nullable=False),
    sa.Column('cost', Money(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                            name=op.f('fk_stats_prefixes_customer_id_customers'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'grain', 'bucket', 'prefix',
                            name=op.f('pk_stats_prefixes'))
    )


def downgrade() -> None:
    op.drop_table('stats_prefixes')
    with op.batch_alter_table('dialogs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dialogs_sip_user_id_sip_users'),
                                 type_='foreignkey')
        batch_op.drop_column('source_ip')
        batch_op.drop_column('ringing_at')
        batch_op.drop_column('sip_user_id')

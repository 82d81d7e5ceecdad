"""free_minutes: what each free-minutes package has given away per interval; cdrs.free_s

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 21:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from connex_tui.data.types import UTCDateTime

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One row per customer package per interval: the seconds its calls have used. The CDR
    # writer moves it in the transaction that stores those calls (docs/decisions.md).
    op.create_table(
        'free_minute_usage',
        sa.Column('customer_package_id', sa.Integer(), nullable=False),
        sa.Column('interval_start', UTCDateTime(), nullable=False),
        sa.Column('used_s', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ['customer_package_id'], ['customer_packages.id'],
            name=op.f('fk_free_minute_usage_customer_package_id_customer_packages'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('customer_package_id', 'interval_start',
                                name=op.f('pk_free_minute_usage')),
    )
    # the billed seconds of a call that a package paid for (0: none)
    with op.batch_alter_table('cdrs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('free_s', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('cdrs', schema=None) as batch_op:
        batch_op.drop_column('free_s')
    op.drop_table('free_minute_usage')

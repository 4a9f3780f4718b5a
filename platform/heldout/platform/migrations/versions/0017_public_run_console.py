"""public run console: a public run's console request and what it shows beside its checks

Revision ID: 0017_public_run_console
Revises: 0016_ats_orders
Created: 2026-12-05 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0017_public_run_console'
down_revision = '0016_ats_orders'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('public_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('console', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('output', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('public_run', schema=None) as batch_op:
        batch_op.drop_column('output')
        batch_op.drop_column('console')

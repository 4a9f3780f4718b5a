"""ats callbacks: a delivery goes to a webhook endpoint or to an ATS order's callback address

Revision ID: 0026_ats_callbacks
Revises: 0025_self_identification
Created: 2026-12-06 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0026_ats_callbacks'
down_revision = '0025_self_identification'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.alter_column('endpoint_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('ats_order_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_webhook_delivery_ats_order_id'), ['ats_order_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_webhook_delivery_ats_order_id_ats_order'),
                                    'ats_order', ['ats_order_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    op.execute("DELETE FROM webhook_delivery WHERE endpoint_id IS NULL")
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_webhook_delivery_ats_order_id_ats_order'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_ats_order_id'))
        batch_op.drop_column('ats_order_id')
        batch_op.alter_column('endpoint_id', existing_type=sa.Integer(), nullable=False)

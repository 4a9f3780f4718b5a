"""ats orders: assessments ordered from an applicant-tracking system, and their invites

Revision ID: 0016_ats_orders
Revises: 0015_integrity_runs
Created: 2026-12-05 22:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0016_ats_orders'
down_revision = '0015_integrity_runs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ats_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('invite_id', sa.Integer(), nullable=False),
    sa.Column('callback_url', sa.String(length=1000), nullable=False),
    sa.Column('profile_url', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['invite_id'], ['invite.id'], name=op.f('fk_ats_order_invite_id_invite')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ats_order')),
    sa.UniqueConstraint('invite_id', name=op.f('uq_ats_order_invite_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_ats_order_public_id'))
    )


def downgrade() -> None:
    op.drop_table('ats_order')

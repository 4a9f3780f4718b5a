"""accommodations: an invite's extra time and break allowance, and the breaks taken

Revision ID: 0024_accommodations
Revises: 0023_oidc
Created: 2026-12-06 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0024_accommodations'
down_revision = '0023_oidc'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accommodation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invite_id', sa.Integer(), nullable=False),
    sa.Column('time_percent', sa.Integer(), nullable=False),
    sa.Column('extra_minutes', sa.Integer(), nullable=False),
    sa.Column('break_minutes', sa.Integer(), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invite_id'], ['invite.id'], name=op.f('fk_accommodation_invite_id_invite')),
    sa.ForeignKeyConstraint(['set_by_id'], ['user_account.id'], name=op.f('fk_accommodation_set_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accommodation')),
    sa.UniqueConstraint('invite_id', name=op.f('uq_accommodation_invite_id'))
    )
    op.create_table('attempt_break',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_by', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_attempt_break_attempt_id_attempt')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt_break'))
    )
    with op.batch_alter_table('attempt_break', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_break_attempt_id'), ['attempt_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attempt_break', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_break_attempt_id'))
    op.drop_table('attempt_break')
    op.drop_table('accommodation')

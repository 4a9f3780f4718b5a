"""practice: runs of the public practice page, kept apart from every attempt

Revision ID: 0027_practice
Revises: 0026_ats_callbacks
Created: 2026-12-06 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0027_practice'
down_revision = '0026_ats_callbacks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('practice_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visitor', sa.String(length=64), nullable=False),
    sa.Column('split', sa.String(length=10), nullable=False),
    sa.Column('challenge_slug', sa.String(length=100), nullable=False),
    sa.Column('challenge_version', sa.String(length=80), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('evaluation', sa.JSON(), nullable=True),
    sa.Column('output', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_run'))
    )
    with op.batch_alter_table('practice_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practice_run_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_practice_run_visitor'), ['visitor'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('practice_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practice_run_visitor'))
        batch_op.drop_index(batch_op.f('ix_practice_run_status'))

    op.drop_table('practice_run')

"""integrity runs: a graded model_training submission's re-run on perturbed inputs

Revision ID: 0015_integrity_runs
Revises: 0014_webhooks
Created: 2026-12-05 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0015_integrity_runs'
down_revision = '0014_webhooks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('integrity_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('challenge_slug', sa.String(length=100), nullable=False),
    sa.Column('challenge_version', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('labels_key', sa.String(length=64), nullable=True),
    sa.Column('row_errors', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_integrity_run_attempt_id_attempt')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_integrity_run_challenge_id_challenge')),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_integrity_run_submission_id_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrity_run')),
    sa.UniqueConstraint('submission_id', name=op.f('uq_integrity_run_submission_id'))
    )
    with op.batch_alter_table('integrity_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integrity_run_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_integrity_run_labels_key'), ['labels_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_integrity_run_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('integrity_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integrity_run_status'))
        batch_op.drop_index(batch_op.f('ix_integrity_run_labels_key'))
        batch_op.drop_index(batch_op.f('ix_integrity_run_attempt_id'))
    op.drop_table('integrity_run')

"""public runs: the candidate's code run on the public checks while working

A table of its own, not a kind of submission: a public run never counts, is never graded
on hidden data, and nothing that reads submissions (reports, pending counts, recovery of
grading jobs) can pick one up. Nothing existed before, so there is nothing to fill.

Revision ID: 0005_public_runs
Revises: 0004_variants
Created: 2026-12-01 21:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005_public_runs'
down_revision = '0004_variants'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('public_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('challenge_slug', sa.String(length=100), nullable=False),
    sa.Column('challenge_version', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('evaluation', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_public_run_attempt_id_attempt')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_public_run_challenge_id_challenge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_run'))
    )
    with op.batch_alter_table('public_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_run_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_run_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('public_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_run_status'))
        batch_op.drop_index(batch_op.f('ix_public_run_attempt_id'))

    op.drop_table('public_run')

"""drafts: autosaved work, its snapshots, the deadline's submissions; which submission counts

Drafts hold the latest text of each file a candidate edits (one row per attempt, challenge
and file), snapshots a bounded history of it, and deadline_submission the worker's one
claim per attempt and challenge on submitting the drafts when time runs out. Assessments
get ``counting`` ("last", as every assessment counted until now, or "best").

Revision ID: 0009_drafts
Revises: 0008_teams_audit
Created: 2026-12-01 20:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009_drafts'
down_revision = '0008_teams_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('snapshot_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_draft_attempt_id_attempt')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_draft_challenge_id_challenge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft')),
    sa.UniqueConstraint('attempt_id', 'challenge_id', 'name', name=op.f('uq_draft_attempt_id_challenge_id_name'))
    )
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_attempt_id'), ['attempt_id'], unique=False)

    op.create_table('draft_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_draft_snapshot_attempt_id_attempt')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_draft_snapshot_challenge_id_challenge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_snapshot'))
    )
    with op.batch_alter_table('draft_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_snapshot_attempt_id'), ['attempt_id'], unique=False)

    op.create_table('deadline_submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.Column('draft_saved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_deadline_submission_attempt_id_attempt')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_deadline_submission_challenge_id_challenge')),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_deadline_submission_submission_id_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_submission')),
    sa.UniqueConstraint('attempt_id', 'challenge_id', name=op.f('uq_deadline_submission_attempt_id_challenge_id'))
    )
    with op.batch_alter_table('deadline_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_submission_attempt_id'), ['attempt_id'], unique=False)

    # A plain ADD COLUMN, not a batch: SQLite's batch mode copies and drops the assessment
    # table, which the invites' foreign keys refuse. Every assessment so far counted the last.
    op.add_column('assessment', sa.Column('counting', sa.String(length=10),
                                          server_default='last', nullable=False))


def downgrade() -> None:
    op.drop_column('assessment', 'counting')

    with op.batch_alter_table('deadline_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadline_submission_attempt_id'))
    op.drop_table('deadline_submission')

    with op.batch_alter_table('draft_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_snapshot_attempt_id'))
    op.drop_table('draft_snapshot')

    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_attempt_id'))
    op.drop_table('draft')

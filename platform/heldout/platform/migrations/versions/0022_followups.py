"""authorship follow-ups: an assessment's setting and the follow-up questions of attempts

Revision ID: 0022_followups
Revises: 0021_ai_policy
Created: 2026-12-06 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0022_followups'
down_revision = '0021_ai_policy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch (as in 0009): SQLite's batch mode would copy and drop
    # the assessment table, which the invites' foreign keys refuse.
    op.add_column('assessment', sa.Column('followups', sa.Boolean(), server_default=sa.false(),
                                          nullable=False))
    op.create_table('followup_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('challenge_slug', sa.String(length=100), nullable=False),
    sa.Column('challenge_version', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('answer_kind', sa.String(length=10), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('quoted', sa.Text(), nullable=False),
    sa.Column('request', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('expected', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('time_limit_seconds', sa.Integer(), nullable=False),
    sa.Column('shown_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_followup_question_attempt_id_attempt')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_followup_question_challenge_id_challenge')),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_followup_question_submission_id_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_question')),
    sa.UniqueConstraint('attempt_id', 'position', name=op.f('uq_followup_question_attempt_id_position'))
    )
    with op.batch_alter_table('followup_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_question_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_question_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_question_submission_id'), ['submission_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('followup_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followup_question_submission_id'))
        batch_op.drop_index(batch_op.f('ix_followup_question_status'))
        batch_op.drop_index(batch_op.f('ix_followup_question_attempt_id'))
    op.drop_table('followup_question')
    op.drop_column('assessment', 'followups')

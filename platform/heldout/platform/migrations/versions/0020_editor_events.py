"""editor events (pastes, focus, idle gaps) and interviewers' marks on integrity signals

Revision ID: 0020_editor_events
Revises: 0019_problem_reports
Created: 2026-12-06 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0020_editor_events'
down_revision = '0019_problem_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('editor_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('file', sa.String(length=255), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_editor_event_attempt_id_attempt')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_editor_event_challenge_id_challenge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_editor_event'))
    )
    with op.batch_alter_table('editor_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_editor_event_attempt_id'), ['attempt_id'], unique=False)
    op.create_table('signal_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('signal', sa.String(length=120), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_signal_review_attempt_id_attempt')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user_account.id'], name=op.f('fk_signal_review_reviewed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signal_review')),
    sa.UniqueConstraint('attempt_id', 'signal', name=op.f('uq_signal_review_attempt_id_signal'))
    )
    with op.batch_alter_table('signal_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signal_review_attempt_id'), ['attempt_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signal_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signal_review_attempt_id'))
    op.drop_table('signal_review')
    with op.batch_alter_table('editor_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_editor_event_attempt_id'))
    op.drop_table('editor_event')

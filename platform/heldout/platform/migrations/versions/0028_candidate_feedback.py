"""candidate feedback: an assessment's setting and the feedback e-mail of each attempt

Revision ID: 0028_candidate_feedback
Revises: 0027_practice
Created: 2026-12-06 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0028_candidate_feedback'
down_revision = '0027_practice'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch (as in 0022): SQLite's batch mode would copy and drop
    # the assessment table, which the invites' foreign keys refuse.
    op.add_column('assessment', sa.Column('feedback_to_candidates', sa.Boolean(),
                                          server_default=sa.false(), nullable=False))
    op.create_table('feedback_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_feedback_mail_attempt_id_attempt')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_mail')),
    sa.UniqueConstraint('attempt_id', name=op.f('uq_feedback_mail_attempt_id'))
    )
    with op.batch_alter_table('feedback_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_mail_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feedback_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_mail_status'))
    op.drop_table('feedback_mail')
    op.drop_column('assessment', 'feedback_to_candidates')

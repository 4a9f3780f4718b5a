"""AI policy per assessment: the policy, the candidate's disclosure, the assistant's transcript

Revision ID: 0021_ai_policy
Revises: 0020_editor_events
Created: 2026-12-06 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0021_ai_policy'
down_revision = '0020_editor_events'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('assessment', sa.Column('ai_policy', sa.String(length=20), server_default='not_allowed', nullable=False))
    op.add_column('attempt', sa.Column('ai_disclosure', sa.Text(), nullable=True))
    op.create_table('ai_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('prompt_tokens', sa.Integer(), nullable=False),
    sa.Column('completion_tokens', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_ai_message_attempt_id_attempt')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_ai_message_challenge_id_challenge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_message'))
    )
    with op.batch_alter_table('ai_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ai_message_attempt_id'), ['attempt_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ai_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ai_message_attempt_id'))
    op.drop_table('ai_message')
    # Not batch mode: SQLite would copy the tables other tables' foreign keys point at.
    op.drop_column('attempt', 'ai_disclosure')
    op.drop_column('assessment', 'ai_policy')

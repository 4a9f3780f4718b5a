"""problem reports: candidates report a problem with a challenge from its workspace

Revision ID: 0019_problem_reports
Revises: 0018_similarity
Created: 2026-12-05 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0019_problem_reports'
down_revision = '0018_similarity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('problem_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('challenge_version', sa.String(length=80), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_problem_report_attempt_id_attempt')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_problem_report_challenge_id_challenge')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['user_account.id'], name=op.f('fk_problem_report_resolved_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_report'))
    )
    with op.batch_alter_table('problem_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_report_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_problem_report_challenge_id'), ['challenge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_problem_report_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('problem_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problem_report_created_at'))
        batch_op.drop_index(batch_op.f('ix_problem_report_challenge_id'))
        batch_op.drop_index(batch_op.f('ix_problem_report_attempt_id'))
    op.drop_table('problem_report')

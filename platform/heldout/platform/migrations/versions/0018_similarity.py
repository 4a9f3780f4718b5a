"""similarity: a leased check per graded submission, and the pairs of submissions it found

Revision ID: 0018_similarity
Revises: 0017_public_run_console
Created: 2026-12-05 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0018_similarity'
down_revision = '0017_public_run_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('similarity_check',
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
    sa.Column('detector', sa.String(length=40), nullable=True),
    sa.Column('fingerprints', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_similarity_check_attempt_id_attempt')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_similarity_check_challenge_id_challenge')),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_similarity_check_submission_id_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_similarity_check')),
    sa.UniqueConstraint('submission_id', name=op.f('uq_similarity_check_submission_id'))
    )
    with op.batch_alter_table('similarity_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_similarity_check_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_similarity_check_challenge_version'), ['challenge_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_similarity_check_status'), ['status'], unique=False)

    op.create_table('similarity_pair',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('challenge_version', sa.String(length=80), nullable=False),
    sa.Column('submission_a_id', sa.Integer(), nullable=False),
    sa.Column('submission_b_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('share_a', sa.Float(), nullable=False),
    sa.Column('share_b', sa.Float(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['submission_a_id'], ['submission.id'], name=op.f('fk_similarity_pair_submission_a_id_submission')),
    sa.ForeignKeyConstraint(['submission_b_id'], ['submission.id'], name=op.f('fk_similarity_pair_submission_b_id_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_similarity_pair')),
    sa.UniqueConstraint('submission_a_id', 'submission_b_id', name=op.f('uq_similarity_pair_submission_a_id_submission_b_id'))
    )
    with op.batch_alter_table('similarity_pair', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_similarity_pair_challenge_version'), ['challenge_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_similarity_pair_submission_a_id'), ['submission_a_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_similarity_pair_submission_b_id'), ['submission_b_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('similarity_pair', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_similarity_pair_submission_b_id'))
        batch_op.drop_index(batch_op.f('ix_similarity_pair_submission_a_id'))
        batch_op.drop_index(batch_op.f('ix_similarity_pair_challenge_version'))
    op.drop_table('similarity_pair')
    with op.batch_alter_table('similarity_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_similarity_check_status'))
        batch_op.drop_index(batch_op.f('ix_similarity_check_challenge_version'))
        batch_op.drop_index(batch_op.f('ix_similarity_check_attempt_id'))
    op.drop_table('similarity_check')

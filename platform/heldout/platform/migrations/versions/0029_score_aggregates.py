"""score aggregates: each attempt's standing and the percentile counts, filled from the
submissions already graded

Revision ID: 0029_score_aggregates
Revises: 0028_candidate_feedback
Created: 2026-12-06 01:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = '0029_score_aggregates'
down_revision = '0028_candidate_feedback'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attempt_standing',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('total', sa.Float(), nullable=True),
    sa.Column('versions', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_attempt_standing_assessment_id_assessment')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_attempt_standing_attempt_id_attempt')),
    sa.PrimaryKeyConstraint('attempt_id', name=op.f('pk_attempt_standing'))
    )
    with op.batch_alter_table('attempt_standing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_standing_assessment_id'), ['assessment_id'], unique=False)
    op.create_table('challenge_standing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('version', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_challenge_standing_attempt_id_attempt')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_challenge_standing_challenge_id_challenge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_challenge_standing')),
    sa.UniqueConstraint('attempt_id', 'challenge_id', name=op.f('uq_challenge_standing_attempt_id_challenge_id'))
    )
    op.create_table('score_aggregate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('versions', sa.String(length=64), nullable=False),
    sa.Column('total', sa.Float(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_score_aggregate_assessment_id_assessment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_aggregate')),
    sa.UniqueConstraint('assessment_id', 'versions', 'total', name=op.f('uq_score_aggregate_assessment_id_versions_total'))
    )
    # The standings of the attempts already there, by the same rules as every later write.
    from heldout.platform.services import standings

    session = Session(bind=op.get_bind())
    standings.rebuild(session)



def downgrade() -> None:
    op.drop_table('score_aggregate')
    op.drop_table('challenge_standing')
    with op.batch_alter_table('attempt_standing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_standing_assessment_id'))
    op.drop_table('attempt_standing')

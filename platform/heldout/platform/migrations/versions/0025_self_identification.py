"""self identification: voluntary answers for the adverse-impact report, apart from attempts

Revision ID: 0025_self_identification
Revises: 0024_accommodations
Created: 2026-12-06 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0025_self_identification'
down_revision = '0024_accommodations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('self_identification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_self_identification_assessment_id_assessment')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_self_identification_attempt_id_attempt')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_self_identification')),
    sa.UniqueConstraint('attempt_id', name=op.f('uq_self_identification_attempt_id'))
    )
    with op.batch_alter_table('self_identification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_self_identification_assessment_id'), ['assessment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('self_identification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_self_identification_assessment_id'))
    op.drop_table('self_identification')

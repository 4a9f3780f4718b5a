"""teams and audit: hiring teams, their members, the team of an assessment, the audit log

Everything that existed before joins one default team (slug ``default``): every account
becomes a member and every assessment belongs to it, so staff keep seeing what they saw.

Revision ID: 0008_teams_audit
Revises: 0007_artefacts
Created: 2026-12-01 20:40:00
"""

from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0008_teams_audit'
down_revision = '0007_artefacts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team')),
    sa.UniqueConstraint('slug', name=op.f('uq_team_slug'))
    )
    op.create_table('team_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_member_team_id_team')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_team_member_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_member')),
    sa.UniqueConstraint('team_id', 'user_id', name=op.f('uq_team_member_team_id_user_id'))
    )
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_member_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_member_user_id'), ['user_id'], unique=False)

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_audit_event_actor_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_created_at'), ['created_at'], unique=False)

    # A plain ADD COLUMN with the reference inline, not a batch: SQLite's batch mode copies
    # and drops the assessment table, which the invites' foreign keys refuse.
    op.add_column('assessment', sa.Column(
        'team_id', sa.Integer(),
        sa.ForeignKey('team.id', name=op.f('fk_assessment_team_id_team')), nullable=True),
        inline_references=True)
    op.create_index(op.f('ix_assessment_team_id'), 'assessment', ['team_id'], unique=False)

    team = sa.table('team', sa.column('id', sa.Integer()), sa.column('slug', sa.String()),
                    sa.column('name', sa.String()), sa.column('created_at', sa.DateTime(timezone=True)))
    connection = op.get_bind()
    now = datetime.now(timezone.utc)
    connection.execute(team.insert().values(slug='default', name='Default team', created_at=now))
    default_id = connection.execute(sa.select(team.c.id).where(team.c.slug == 'default')).scalar()
    connection.execute(sa.text(
        "INSERT INTO team_member (team_id, user_id, created_at) "
        "SELECT :team, id, :now FROM user_account"), {"team": default_id, "now": now})
    connection.execute(sa.text("UPDATE assessment SET team_id = :team"), {"team": default_id})


def downgrade() -> None:
    op.drop_index(op.f('ix_assessment_team_id'), table_name='assessment')
    op.drop_column('assessment', 'team_id')

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))
    op.drop_table('audit_event')

    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_member_user_id'))
        batch_op.drop_index(batch_op.f('ix_team_member_team_id'))
    op.drop_table('team_member')
    op.drop_table('team')

"""bundle versions: the history of every challenge version submissions were made against

Submissions already record their bundle version; grading now reads that version's files
from the bundle store. The new table lists every version the catalogue loaded, filled
here from each challenge's current version and the versions its submissions name (their
files are stored on first use while the challenges directory still has them).

Revision ID: 0003_bundle_versions
Revises: 0002_session_tokens
Created: 2026-12-01 20:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003_bundle_versions'
down_revision = '0002_session_tokens'
branch_labels = None
depends_on = None

# Table stubs, not the models: a migration must keep working when the models change.
challenge = sa.table('challenge', sa.column('id', sa.Integer), sa.column('version', sa.String),
                     sa.column('loaded_at', sa.DateTime(timezone=True)))
submission = sa.table('submission', sa.column('challenge_id', sa.Integer),
                      sa.column('challenge_version', sa.String),
                      sa.column('created_at', sa.DateTime(timezone=True)))


def upgrade() -> None:
    op.create_table('challenge_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=80), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_challenge_version_challenge_id_challenge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_challenge_version')),
    sa.UniqueConstraint('challenge_id', 'version', name=op.f('uq_challenge_version_challenge_id_version'))
    )
    with op.batch_alter_table('challenge_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenge_version_challenge_id'), ['challenge_id'], unique=False)

    connection = op.get_bind()
    first_seen: dict[tuple[int, str], object] = {}
    for challenge_id, version, created_at in connection.execute(
            sa.select(submission.c.challenge_id, submission.c.challenge_version,
                      sa.func.min(submission.c.created_at))
            .group_by(submission.c.challenge_id, submission.c.challenge_version)):
        first_seen[(challenge_id, version)] = created_at
    for challenge_id, version, loaded_at in connection.execute(
            sa.select(challenge.c.id, challenge.c.version, challenge.c.loaded_at)):
        first_seen.setdefault((challenge_id, version), loaded_at)
    versions = sa.table('challenge_version', sa.column('challenge_id', sa.Integer),
                        sa.column('version', sa.String),
                        sa.column('loaded_at', sa.DateTime(timezone=True)))
    rows = [{'challenge_id': challenge_id, 'version': version, 'loaded_at': seen}
            for (challenge_id, version), seen in sorted(first_seen.items(),
                                                        key=lambda item: str(item[1]))]
    if rows:
        connection.execute(versions.insert(), rows)


def downgrade() -> None:
    with op.batch_alter_table('challenge_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenge_version_challenge_id'))

    op.drop_table('challenge_version')

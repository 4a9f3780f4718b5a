"""variants: each attempt records the seed of its per-candidate data variants

Attempts started before this revision keep a NULL seed: their candidates already
downloaded the committed data, so they go on being served and graded with it. Every new
attempt gets a random seed when it starts.

Revision ID: 0004_variants
Revises: 0003_bundle_versions
Created: 2026-12-01 21:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_variants'
down_revision = '0003_bundle_versions'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not a batch: SQLite's batch mode copies and drops the table, which
# its foreign keys (submission -> attempt) refuse. SQLite adds and drops a nullable
# column in place (DROP COLUMN since 3.35), as PostgreSQL does.


def upgrade() -> None:
    op.add_column('attempt', sa.Column('variant_seed', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('attempt', 'variant_seed')

"""artefacts: the files a kind kept for the report, recorded on each evaluation

An executed notebook, a deployment's probe table, a sql query's result shapes: stored
content-addressed in the blob store, listed here by name, sha256 and size. Evaluations
graded before this revision kept none, so they get an empty list.

Revision ID: 0007_artefacts
Revises: 0006_reviews
Created: 2026-12-01 22:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007_artefacts'
down_revision = '0006_reviews'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, as in 0004: SQLite's batch copy would trip over the foreign key
# (evaluation -> submission). The server default fills the rows already there.


def upgrade() -> None:
    op.add_column('evaluation', sa.Column('artefacts', sa.JSON(), nullable=False,
                                          server_default='[]'))


def downgrade() -> None:
    op.drop_column('evaluation', 'artefacts')

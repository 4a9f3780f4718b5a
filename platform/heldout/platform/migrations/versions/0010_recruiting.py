"""recruiting: invites keep a note, when their current link was sent, how it was handed
over, the last e-mail failure and how often a new link replaced the old one

Invites made before this revision get ``sent_at`` = ``created_at`` (their only link was
handed over when they were created) and no resends.

Revision ID: 0010_recruiting
Revises: 0009_drafts
Created: 2026-12-01 20:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010_recruiting'
down_revision = '0009_drafts'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not a batch: SQLite's batch mode copies and drops the table, which
# the attempt -> invite foreign key refuses. Nullable columns (and one with a server
# default) are added and dropped in place on SQLite as on PostgreSQL.


def upgrade() -> None:
    op.add_column('invite', sa.Column('note', sa.String(length=500), nullable=True))
    op.add_column('invite', sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('invite', sa.Column('delivery', sa.String(length=20), nullable=True))
    op.add_column('invite', sa.Column('send_error', sa.Text(), nullable=True))
    op.add_column('invite', sa.Column('resends', sa.Integer(), nullable=False,
                                      server_default='0'))
    op.execute("UPDATE invite SET sent_at = created_at")


def downgrade() -> None:
    for column in ('resends', 'send_error', 'delivery', 'sent_at', 'note'):
        op.drop_column('invite', column)

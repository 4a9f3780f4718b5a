"""invite state: the stored ``invite.status`` goes; an invite's state is derived from its
times and its attempt's deadline (``scoring.invite_state``)

The column was written in six places and read almost nowhere, and it could not follow
what happens with nobody writing: a link expiring, a deadline passing. Every page already
derived the state from the times; the column only disagreed with them.

A downgrade puts the column back, filled from the times the way the release before
wrote it (revoked, finished, started, opened or sent), with ``sent`` as its server
default.

Revision ID: 0012_invite_state
Revises: 0011_shown_once
Created: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0012_invite_state'
down_revision = '0011_shown_once'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not a batch: SQLite's batch mode copies and drops the table, which
# the attempt -> invite foreign key refuses (as in 0010_recruiting).


def upgrade() -> None:
    op.drop_column('invite', 'status')


def downgrade() -> None:
    op.add_column('invite', sa.Column('status', sa.String(length=20), nullable=False,
                                      server_default='sent'))
    op.execute(
        "UPDATE invite SET status = CASE"
        " WHEN revoked_at IS NOT NULL THEN 'revoked'"
        " WHEN finished_at IS NOT NULL THEN 'finished'"
        " WHEN started_at IS NOT NULL THEN 'started'"
        " WHEN opened_at IS NOT NULL THEN 'opened'"
        " ELSE 'sent' END")

"""session tokens: every existing account gets a new random one

Sign-out did not rotate the token before this revision, so a cookie saved before a
sign-out still opened the site. Giving every account a fresh, longer token here ends all
sessions issued by the old code; the column is unchanged (String(64), unique).

Revision ID: 0002_session_tokens
Revises: 0001
Created: 2026-12-01 19:40:00
"""

import secrets

from alembic import op
import sqlalchemy as sa


revision = '0002_session_tokens'
down_revision = '0001'
branch_labels = None
depends_on = None

# A table stub, not the models: a migration must keep working when the models change.
user_account = sa.table('user_account', sa.column('id', sa.Integer),
                        sa.column('session_token', sa.String(64)))


def _rotate_all() -> None:
    connection = op.get_bind()
    ids = connection.execute(sa.select(user_account.c.id)).scalars().all()
    for user_id in ids:
        connection.execute(user_account.update().where(user_account.c.id == user_id)
                           .values(session_token=secrets.token_urlsafe(32)))


def upgrade() -> None:
    _rotate_all()


def downgrade() -> None:
    # Old sessions must not come back either way.
    _rotate_all()

"""single sign-on: a staff account remembers its OpenID Connect issuer and subject

Revision ID: 0023_oidc
Revises: 0022_followups
Created: 2026-12-06 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0023_oidc'
down_revision = '0022_followups'
branch_labels = None
depends_on = None

# Plain ALTERs and a unique index, no batch copy: SQLite can't drop user_account to rebuild
# it while every other table's foreign keys point at it.


def upgrade() -> None:
    op.add_column('user_account', sa.Column('oidc_issuer', sa.String(length=255), nullable=True))
    op.add_column('user_account', sa.Column('oidc_subject', sa.String(length=255), nullable=True))
    op.create_index('ix_user_account_oidc_issuer_subject', 'user_account',
                    ['oidc_issuer', 'oidc_subject'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_user_account_oidc_issuer_subject', table_name='user_account')
    op.drop_column('user_account', 'oidc_subject')
    op.drop_column('user_account', 'oidc_issuer')

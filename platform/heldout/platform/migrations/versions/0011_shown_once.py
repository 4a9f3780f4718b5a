"""shown once: secrets waiting for the one page that shows them, masked

A generated password or a new invite link used to travel to that page in the session
cookie (signed, not encrypted; a saved copy showed it again). The row keeps it masked by a
pad only the cookie holds, and is deleted when shown or when stale.

Revision ID: 0011_shown_once
Revises: 0010_recruiting
Created: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0011_shown_once'
down_revision = '0010_recruiting'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('shown_once',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('masked', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shown_once'))
    )
    with op.batch_alter_table('shown_once', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shown_once_created_at'), ['created_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shown_once', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shown_once_created_at'))
    op.drop_table('shown_once')

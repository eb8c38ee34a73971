"""pool expiry

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consortium_pools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("expired_micro", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.create_index(batch_op.f("ix_consortium_pools_expires_on"), ["expires_on"])


def downgrade() -> None:
    with op.batch_alter_table("consortium_pools", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consortium_pools_expires_on"))
        batch_op.drop_column("expired_micro")
        batch_op.drop_column("expires_on")

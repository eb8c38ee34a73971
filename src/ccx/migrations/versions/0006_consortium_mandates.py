"""consortium mandates

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "consortium_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.create_foreign_key(
            "fk_mandates_consortium_id_consortia", "consortia", ["consortium_id"], ["id"]
        )
        batch_op.create_index(
            batch_op.f("ix_mandates_consortium_id"), ["consortium_id"], unique=False
        )

    with op.batch_alter_table("mandate_spend_legs", schema=None) as batch_op:
        batch_op.alter_column("lot_account_id", existing_type=sa.BigInteger(), nullable=True)
        batch_op.add_column(sa.Column("pool_account_id", sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(
            "fk_mandate_spend_legs_pool_account_id_accounts",
            "accounts",
            ["pool_account_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            "spend_leg_one_source", "(lot_account_id IS NULL) <> (pool_account_id IS NULL)"
        )


def downgrade() -> None:
    with op.batch_alter_table("mandate_spend_legs", schema=None) as batch_op:
        batch_op.drop_constraint("spend_leg_one_source", type_="check")
        batch_op.drop_constraint(
            "fk_mandate_spend_legs_pool_account_id_accounts", type_="foreignkey"
        )
        batch_op.drop_column("pool_account_id")
        batch_op.alter_column("lot_account_id", existing_type=sa.BigInteger(), nullable=False)

    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mandates_consortium_id"))
        batch_op.drop_constraint("fk_mandates_consortium_id_consortia", type_="foreignkey")
        batch_op.drop_column("consortium_id")

"""consortia

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consortia",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("industry", sa.String(length=3), nullable=False),
        sa.Column("regions", sa.String(length=120), nullable=False),
        sa.Column(
            "anchor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["anchor_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("consortia", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consortia_anchor_id"), ["anchor_id"], unique=False)

    op.create_table(
        "consortium_contributions",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "consortium_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("amount_micro", sa.BigInteger(), nullable=False),
        sa.Column("legs", sa.JSON(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_micro > 0", name="contribution_amount_positive"),
        sa.ForeignKeyConstraint(
            ["consortium_id"],
            ["consortia.id"],
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "consortium_id", "programme_id", "firm_id", "key", name="contribution_key_per_firm"
        ),
    )
    with op.batch_alter_table("consortium_contributions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consortium_contributions_consortium_id"), ["consortium_id"], unique=False
        )

    op.create_table(
        "consortium_members",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "consortium_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("joined_at_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "(role = 'university') = (person_id IS NOT NULL)", name="member_researcher_is_person"
        ),
        sa.CheckConstraint(
            "role IN ('anchor', 'sme', 'university', 'integrator')", name="member_role_known"
        ),
        sa.ForeignKeyConstraint(
            ["consortium_id"],
            ["consortia.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consortium_members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consortium_members_consortium", ["consortium_id", "org_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_consortium_members_org_id"), ["org_id"], unique=False)

    op.create_table(
        "consortium_models",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "consortium_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("base_model", sa.String(length=200), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=False),
        sa.Column("hardware_profile", sa.String(length=200), nullable=False),
        sa.Column("licence", sa.String(length=200), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("registered_at_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consortium_id"],
            ["consortia.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("consortium_id", "name", name="shared_model_name_per_consortium"),
    )
    op.create_table(
        "consortium_pools",
        sa.Column(
            "consortium_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("opened_at_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["consortium_id"],
            ["consortia.id"],
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
        ),
        sa.PrimaryKeyConstraint("consortium_id", "programme_id"),
        sa.UniqueConstraint("account_id"),
    )


def downgrade() -> None:
    op.drop_table("consortium_pools")
    op.drop_table("consortium_models")
    with op.batch_alter_table("consortium_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consortium_members_org_id"))
        batch_op.drop_index("ix_consortium_members_consortium")

    op.drop_table("consortium_members")
    with op.batch_alter_table("consortium_contributions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consortium_contributions_consortium_id"))

    op.drop_table("consortium_contributions")
    with op.batch_alter_table("consortia", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consortia_anchor_id"))

    op.drop_table("consortia")

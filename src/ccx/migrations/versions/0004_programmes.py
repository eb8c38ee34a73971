"""programmes

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "programmes",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("budget_micro", sa.BigInteger(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("grant_fixed_micro", sa.BigInteger(), nullable=True),
        sa.Column("grant_micro_firm_micro", sa.BigInteger(), nullable=True),
        sa.Column("grant_small_firm_micro", sa.BigInteger(), nullable=True),
        sa.Column("grant_medium_firm_micro", sa.BigInteger(), nullable=True),
        sa.Column("lot_lifetime_days", sa.Integer(), nullable=False),
        sa.Column("firm_cap_micro", sa.BigInteger(), nullable=False),
        sa.Column("group_cap_micro", sa.BigInteger(), nullable=False),
        sa.Column("quota_non_capital_bp", sa.Integer(), nullable=False),
        sa.Column("quota_youth_bp", sa.Integer(), nullable=False),
        sa.Column("tracks", sa.String(length=64), nullable=False),
        sa.Column("eligible_kinds", sa.String(length=64), nullable=False),
        sa.Column("service_share_max_bp", sa.Integer(), nullable=False),
        sa.Column("price_krw_per_credit", sa.BigInteger(), nullable=False),
        sa.Column("audit_sample_bp", sa.Integer(), nullable=False),
        sa.Column("risk_cluster_min", sa.Integer(), nullable=False),
        sa.Column("risk_founded_within_days", sa.Integer(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("budget_micro > 0", name="programme_budget_positive"),
        sa.CheckConstraint("opens_on <= closes_on", name="programme_dates_ordered"),
        sa.CheckConstraint(
            "quota_non_capital_bp >= 0 AND quota_youth_bp >= 0 AND quota_non_capital_bp + quota_youth_bp <= 10000",
            name="programme_quotas_range",
        ),
        sa.CheckConstraint(
            "service_share_max_bp BETWEEN 0 AND 10000", name="programme_service_share_range"
        ),
        sa.ForeignKeyConstraint(
            ["id"],
            ["ledgers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "mandates",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "integrator_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("project", sa.String(length=200), nullable=False),
        sa.Column("cap_micro", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("granted_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at_ns", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("cap_micro > 0", name="mandate_cap_positive"),
        sa.CheckConstraint("firm_id <> integrator_id", name="mandate_parties_differ"),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["integrator_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("programme_id", "firm_id", "key", name="mandate_key_per_firm"),
    )
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mandates_firm_id"), ["firm_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mandates_integrator_id"), ["integrator_id"], unique=False
        )

    op.create_table(
        "programme_applications",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("track", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("amount_micro", sa.BigInteger(), nullable=False),
        sa.Column("lot_account_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("in_capital_region", sa.Boolean(), nullable=False),
        sa.Column("youth_led", sa.Boolean(), nullable=False),
        sa.Column("group_key", sa.String(length=120), nullable=True),
        sa.Column("address_key", sa.String(length=300), nullable=False),
        sa.Column("contact_key", sa.String(length=254), nullable=False),
        sa.Column("audit_status", sa.String(length=16), nullable=False),
        sa.Column("audit_reasons", sa.JSON(), nullable=False),
        sa.Column("audit_note", sa.String(length=500), nullable=False),
        sa.Column("audited_at_ns", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "audit_status IN ('not_selected', 'selected', 'passed', 'failed')",
            name="application_audit_status",
        ),
        sa.CheckConstraint("decision IN ('approved', 'refused')", name="application_decision"),
        sa.CheckConstraint("amount_micro >= 0", name="application_amount_not_negative"),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("programme_id", "firm_id", "key", name="application_key_per_firm"),
    )
    with op.batch_alter_table("programme_applications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_programme_applications_address", ["programme_id", "address_key"], unique=False
        )
        batch_op.create_index(
            "ix_programme_applications_audit", ["programme_id", "audit_status"], unique=False
        )
        batch_op.create_index(
            "ix_programme_applications_contact", ["programme_id", "contact_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_programme_applications_firm_id"), ["firm_id"], unique=False
        )
        batch_op.create_index(
            "ix_programme_applications_group", ["programme_id", "group_key"], unique=False
        )

    op.create_table(
        "mandate_spends",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("mandate_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_micro", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("timeout_s", sa.Integer(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("settled_at_ns", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("kind IN ('compute', 'service_fee')", name="spend_kind_known"),
        sa.CheckConstraint("amount_micro > 0", name="spend_amount_positive"),
        sa.ForeignKeyConstraint(
            ["mandate_id"],
            ["mandates.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mandate_id", "key", name="spend_key_per_mandate"),
    )
    with op.batch_alter_table("mandate_spends", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mandate_spends_mandate_id"), ["mandate_id"], unique=False
        )

    op.create_table(
        "programme_lots",
        sa.Column("account_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("application_id", sa.BigInteger(), nullable=False),
        sa.Column("granted_micro", sa.BigInteger(), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("clawed_back_at_ns", sa.BigInteger(), nullable=True),
        sa.Column("clawed_back_micro", sa.BigInteger(), nullable=False),
        sa.Column("expired_at_ns", sa.BigInteger(), nullable=True),
        sa.Column("expired_micro", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("granted_micro > 0", name="lot_granted_positive"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["programme_applications.id"],
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
        ),
        sa.PrimaryKeyConstraint("account_id"),
        sa.UniqueConstraint("application_id"),
    )
    with op.batch_alter_table("programme_lots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_programme_lots_expires_on"), ["expires_on"], unique=False
        )
        batch_op.create_index(
            "ix_programme_lots_firm", ["programme_id", "firm_id", "expires_on"], unique=False
        )

    op.create_table(
        "mandate_spend_legs",
        sa.Column("transfer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("spend_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("lot_account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_micro", sa.BigInteger(), nullable=False),
        sa.Column("posted_micro", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lot_account_id"],
            ["programme_lots.account_id"],
        ),
        sa.ForeignKeyConstraint(
            ["spend_id"],
            ["mandate_spends.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
        ),
        sa.PrimaryKeyConstraint("transfer_id"),
    )
    with op.batch_alter_table("mandate_spend_legs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mandate_spend_legs_spend_id"), ["spend_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mandate_spend_legs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mandate_spend_legs_spend_id"))

    op.drop_table("mandate_spend_legs")
    with op.batch_alter_table("programme_lots", schema=None) as batch_op:
        batch_op.drop_index("ix_programme_lots_firm")
        batch_op.drop_index(batch_op.f("ix_programme_lots_expires_on"))

    op.drop_table("programme_lots")
    with op.batch_alter_table("mandate_spends", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mandate_spends_mandate_id"))

    op.drop_table("mandate_spends")
    with op.batch_alter_table("programme_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_programme_applications_group")
        batch_op.drop_index(batch_op.f("ix_programme_applications_firm_id"))
        batch_op.drop_index("ix_programme_applications_contact")
        batch_op.drop_index("ix_programme_applications_audit")
        batch_op.drop_index("ix_programme_applications_address")

    op.drop_table("programme_applications")
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mandates_integrator_id"))
        batch_op.drop_index(batch_op.f("ix_mandates_firm_id"))

    op.drop_table("mandates")
    op.drop_table("programmes")

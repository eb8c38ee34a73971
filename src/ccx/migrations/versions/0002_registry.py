"""registry

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("brn", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region", sa.String(length=5), nullable=False),
        sa.Column("ksic_code", sa.String(length=6), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("sales_3y_avg_krw", sa.BigInteger(), nullable=True),
        sa.Column("total_assets_krw", sa.BigInteger(), nullable=True),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("founded_on", sa.Date(), nullable=True),
        sa.Column("youth_led", sa.Boolean(), nullable=False),
        sa.Column("business_group", sa.String(length=100), nullable=True),
        sa.Column("registered_at_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('sme', 'mid_sized', 'large', 'integrator', 'university', 'public_agency', 'centre')",
            name="organisation_kind_known",
        ),
        sa.CheckConstraint("employees IS NULL OR employees >= 0", name="organisation_employees"),
        sa.CheckConstraint("length(brn) = 10", name="organisation_brn_length"),
        sa.CheckConstraint(
            "sales_3y_avg_krw IS NULL OR sales_3y_avg_krw >= 0", name="organisation_sales"
        ),
        sa.CheckConstraint(
            "total_assets_krw IS NULL OR total_assets_krw >= 0", name="organisation_assets"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("brn"),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisations_business_group"), ["business_group"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_organisations_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_region"), ["region"], unique=False)

    op.create_table(
        "integrator_certification_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "integrator_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("certified_until", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("timestamp_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["integrator_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("integrator_certification_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_integrator_certification_events_integrator_id"),
            ["integrator_id"],
            unique=False,
        )

    op.create_table(
        "integrator_certifications",
        sa.Column(
            "integrator_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("certified_until", sa.Date(), nullable=True),
        sa.Column("updated_at_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('applied', 'certified', 'suspended', 'revoked')",
            name="certification_status_known",
        ),
        sa.ForeignKeyConstraint(
            ["integrator_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("integrator_id"),
    )
    op.create_table(
        "people",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.CheckConstraint("role IN ('staff', 'officer', 'researcher')", name="person_role_known"),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email", "org_id", name="person_email_per_org"),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_people_org_id"), ["org_id"], unique=False)

    op.create_table(
        "shareholders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("holder_brn", sa.String(length=10), nullable=True),
        sa.Column("share_bp", sa.Integer(), nullable=False),
        sa.Column("is_corporation", sa.Boolean(), nullable=False),
        sa.Column("holder_total_assets_krw", sa.BigInteger(), nullable=True),
        sa.Column("is_largest", sa.Boolean(), nullable=False),
        sa.CheckConstraint("share_bp BETWEEN 0 AND 10000", name="shareholder_share_range"),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("shareholders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shareholders_holder_brn"), ["holder_brn"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_shareholders_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shareholders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shareholders_org_id"))
        batch_op.drop_index(batch_op.f("ix_shareholders_holder_brn"))

    op.drop_table("shareholders")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_org_id"))
        batch_op.drop_index(batch_op.f("ix_people_email"))

    op.drop_table("people")
    op.drop_table("integrator_certifications")
    with op.batch_alter_table("integrator_certification_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integrator_certification_events_integrator_id"))

    op.drop_table("integrator_certification_events")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_region"))
        batch_op.drop_index(batch_op.f("ix_organisations_kind"))
        batch_op.drop_index(batch_op.f("ix_organisations_business_group"))

    op.drop_table("organisations")

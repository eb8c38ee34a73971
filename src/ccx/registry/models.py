"""Registry tables (private)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ccx.db import Base

BigIntegerKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class OrganisationRow(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(16), index=True)
    brn: Mapped[str] = mapped_column(sa.String(10), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    region: Mapped[str] = mapped_column(sa.String(5), index=True)
    ksic_code: Mapped[str] = mapped_column(sa.String(6))
    address: Mapped[str] = mapped_column(sa.String(300))
    contact_email: Mapped[str] = mapped_column(sa.String(254))
    sales_3y_avg_krw: Mapped[int | None] = mapped_column(sa.BigInteger)
    total_assets_krw: Mapped[int | None] = mapped_column(sa.BigInteger)
    employees: Mapped[int | None] = mapped_column(sa.Integer)
    founded_on: Mapped[date | None] = mapped_column(sa.Date)
    youth_led: Mapped[bool] = mapped_column(sa.Boolean)
    business_group: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    registered_at_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('sme', 'mid_sized', 'large', 'integrator', 'university', 'public_agency',"
            " 'centre')",
            name="organisation_kind_known",
        ),
        sa.CheckConstraint("length(brn) = 10", name="organisation_brn_length"),
        sa.CheckConstraint(
            "sales_3y_avg_krw IS NULL OR sales_3y_avg_krw >= 0", name="organisation_sales"
        ),
        sa.CheckConstraint(
            "total_assets_krw IS NULL OR total_assets_krw >= 0", name="organisation_assets"
        ),
        sa.CheckConstraint("employees IS NULL OR employees >= 0", name="organisation_employees"),
    )


class ShareholderRow(Base):
    __tablename__ = "shareholders"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    holder_name: Mapped[str] = mapped_column(sa.String(200))
    holder_brn: Mapped[str | None] = mapped_column(sa.String(10), index=True)
    share_bp: Mapped[int] = mapped_column(sa.Integer)
    is_corporation: Mapped[bool] = mapped_column(sa.Boolean)
    holder_total_assets_krw: Mapped[int | None] = mapped_column(sa.BigInteger)
    is_largest: Mapped[bool] = mapped_column(sa.Boolean)

    __table_args__ = (
        sa.CheckConstraint("share_bp BETWEEN 0 AND 10000", name="shareholder_share_range"),
    )


class PersonRow(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))

    __table_args__ = (
        sa.CheckConstraint("role IN ('staff', 'officer', 'researcher')", name="person_role_known"),
        sa.UniqueConstraint("email", "org_id", name="person_email_per_org"),
    )


class CertificationRow(Base):
    """The certification state of an integrator (one row each); history in the events table."""

    __tablename__ = "integrator_certifications"

    integrator_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id"), primary_key=True, autoincrement=False
    )
    status: Mapped[str] = mapped_column(sa.String(16))
    certified_until: Mapped[date | None] = mapped_column(sa.Date)
    updated_at_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('applied', 'certified', 'suspended', 'revoked')",
            name="certification_status_known",
        ),
    )


class CertificationEventRow(Base):
    __tablename__ = "integrator_certification_events"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    integrator_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    certified_until: Mapped[date | None] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.String(500))
    timestamp_ns: Mapped[int] = mapped_column(sa.BigInteger)

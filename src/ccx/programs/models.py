"""Programme tables (private): programmes, applications, lots, mandates and their spends.

Balances are never stored here: they live in the programme's ledger. These tables keep what
the ledger does not: the rules, the decisions with their reasons, lot expiry and attribution.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ccx.db import Base


class ProgrammeRow(Base):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(
        sa.ForeignKey("ledgers.id"), primary_key=True, autoincrement=False
    )
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    budget_micro: Mapped[int] = mapped_column(sa.BigInteger)
    opens_on: Mapped[date] = mapped_column(sa.Date)
    closes_on: Mapped[date] = mapped_column(sa.Date)
    grant_fixed_micro: Mapped[int | None] = mapped_column(sa.BigInteger)
    grant_micro_firm_micro: Mapped[int | None] = mapped_column(sa.BigInteger)
    grant_small_firm_micro: Mapped[int | None] = mapped_column(sa.BigInteger)
    grant_medium_firm_micro: Mapped[int | None] = mapped_column(sa.BigInteger)
    lot_lifetime_days: Mapped[int] = mapped_column(sa.Integer)
    firm_cap_micro: Mapped[int] = mapped_column(sa.BigInteger)
    group_cap_micro: Mapped[int] = mapped_column(sa.BigInteger)
    quota_non_capital_bp: Mapped[int] = mapped_column(sa.Integer)
    quota_youth_bp: Mapped[int] = mapped_column(sa.Integer)
    tracks: Mapped[str] = mapped_column(sa.String(64))  # values, comma-separated, sorted
    eligible_kinds: Mapped[str] = mapped_column(sa.String(64))  # values, comma-separated, sorted
    service_share_max_bp: Mapped[int] = mapped_column(sa.Integer)
    price_krw_per_credit: Mapped[int] = mapped_column(sa.BigInteger)
    audit_sample_bp: Mapped[int] = mapped_column(sa.Integer)
    risk_cluster_min: Mapped[int] = mapped_column(sa.Integer)
    risk_founded_within_days: Mapped[int] = mapped_column(sa.Integer)
    created_at_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.CheckConstraint("budget_micro > 0", name="programme_budget_positive"),
        sa.CheckConstraint("opens_on <= closes_on", name="programme_dates_ordered"),
        sa.CheckConstraint(
            "quota_non_capital_bp >= 0 AND quota_youth_bp >= 0"
            " AND quota_non_capital_bp + quota_youth_bp <= 10000",
            name="programme_quotas_range",
        ),
        sa.CheckConstraint(
            "service_share_max_bp BETWEEN 0 AND 10000", name="programme_service_share_range"
        ),
    )


class ApplicationRow(Base):
    """An application as decided, with the facts about the firm its decision used."""

    __tablename__ = "programme_applications"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"))
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    track: Mapped[str] = mapped_column(sa.String(16))
    decision: Mapped[str] = mapped_column(sa.String(8))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    amount_micro: Mapped[int] = mapped_column(sa.BigInteger)
    lot_account_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    decided_at_ns: Mapped[int] = mapped_column(sa.BigInteger)
    in_capital_region: Mapped[bool] = mapped_column(sa.Boolean)
    youth_led: Mapped[bool] = mapped_column(sa.Boolean)
    group_key: Mapped[str | None] = mapped_column(sa.String(120))
    address_key: Mapped[str] = mapped_column(sa.String(300))
    contact_key: Mapped[str] = mapped_column(sa.String(254))
    audit_status: Mapped[str] = mapped_column(sa.String(16))
    audit_reasons: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    audit_note: Mapped[str] = mapped_column(sa.String(500))
    audited_at_ns: Mapped[int | None] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.UniqueConstraint("programme_id", "firm_id", "key", name="application_key_per_firm"),
        sa.CheckConstraint("decision IN ('approved', 'refused')", name="application_decision"),
        sa.CheckConstraint(
            "audit_status IN ('not_selected', 'selected', 'passed', 'failed')",
            name="application_audit_status",
        ),
        sa.CheckConstraint("amount_micro >= 0", name="application_amount_not_negative"),
        sa.Index("ix_programme_applications_group", "programme_id", "group_key"),
        sa.Index("ix_programme_applications_address", "programme_id", "address_key"),
        sa.Index("ix_programme_applications_contact", "programme_id", "contact_key"),
        sa.Index("ix_programme_applications_audit", "programme_id", "audit_status"),
    )


class LotRow(Base):
    """A grant's wallet account and its expiry; its balance is in the ledger."""

    __tablename__ = "programme_lots"

    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id"), primary_key=True, autoincrement=False
    )
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"))
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programme_applications.id"), unique=True
    )
    granted_micro: Mapped[int] = mapped_column(sa.BigInteger)
    granted_on: Mapped[date] = mapped_column(sa.Date)
    expires_on: Mapped[date] = mapped_column(sa.Date, index=True)
    clawed_back_at_ns: Mapped[int | None] = mapped_column(sa.BigInteger)
    clawed_back_micro: Mapped[int] = mapped_column(sa.BigInteger)
    expired_at_ns: Mapped[int | None] = mapped_column(sa.BigInteger)
    expired_micro: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.Index("ix_programme_lots_firm", "programme_id", "firm_id", "expires_on"),
        sa.CheckConstraint("granted_micro > 0", name="lot_granted_positive"),
    )


class MandateRow(Base):
    """A mandate over a firm's lots, or over a consortium's pool (given by its anchor)."""

    __tablename__ = "mandates"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"))
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    integrator_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    # a consortium mandate draws from the consortium's pool; `firm_id` is then its anchor
    consortium_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("consortia.id", name="fk_mandates_consortium_id_consortia"), index=True
    )
    key: Mapped[str] = mapped_column(sa.String(64))
    project: Mapped[str] = mapped_column(sa.String(200))
    cap_micro: Mapped[int] = mapped_column(sa.BigInteger)
    valid_until: Mapped[date] = mapped_column(sa.Date)
    granted_at_ns: Mapped[int] = mapped_column(sa.BigInteger)
    revoked_at_ns: Mapped[int | None] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.UniqueConstraint("programme_id", "firm_id", "key", name="mandate_key_per_firm"),
        sa.CheckConstraint("cap_micro > 0", name="mandate_cap_positive"),
        sa.CheckConstraint("firm_id <> integrator_id", name="mandate_parties_differ"),
    )


class SpendRow(Base):
    """One spend request under a mandate (compute or a fee), as a chain of legs."""

    __tablename__ = "mandate_spends"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    mandate_id: Mapped[int] = mapped_column(sa.ForeignKey("mandates.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(16))
    amount_micro: Mapped[int] = mapped_column(sa.BigInteger)
    purpose: Mapped[str] = mapped_column(sa.String(200))
    pending: Mapped[bool] = mapped_column(sa.Boolean)
    timeout_s: Mapped[int] = mapped_column(sa.Integer)
    created_at_ns: Mapped[int] = mapped_column(sa.BigInteger)
    settled_at_ns: Mapped[int | None] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.UniqueConstraint("mandate_id", "key", name="spend_key_per_mandate"),
        sa.CheckConstraint("kind IN ('compute', 'service_fee')", name="spend_kind_known"),
        sa.CheckConstraint("amount_micro > 0", name="spend_amount_positive"),
    )


class SpendLegRow(Base):
    """One transfer of a spend: from one lot, or from a consortium's pool."""

    __tablename__ = "mandate_spend_legs"

    transfer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("transfers.id"), primary_key=True, autoincrement=False
    )
    spend_id: Mapped[int] = mapped_column(sa.ForeignKey("mandate_spends.id"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    lot_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("programme_lots.account_id"))
    pool_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", name="fk_mandate_spend_legs_pool_account_id_accounts")
    )
    amount_micro: Mapped[int] = mapped_column(sa.BigInteger)
    posted_micro: Mapped[int | None] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.CheckConstraint(
            "(lot_account_id IS NULL) <> (pool_account_id IS NULL)", name="spend_leg_one_source"
        ),
    )

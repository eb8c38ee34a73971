"""Consortium tables (private). Balances live in the programmes' ledgers."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ccx.db import Base

BigIntegerKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class ConsortiumRow(Base):
    __tablename__ = "consortia"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    industry: Mapped[str] = mapped_column(sa.String(3))
    regions: Mapped[str] = mapped_column(sa.String(120))  # ISO codes, comma-separated, sorted
    anchor_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    created_at_ns: Mapped[int] = mapped_column(sa.BigInteger)


class MemberRow(Base):
    """A member: an organisation, or a researcher (person) of a university."""

    __tablename__ = "consortium_members"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    consortium_id: Mapped[int] = mapped_column(sa.ForeignKey("consortia.id"))
    role: Mapped[str] = mapped_column(sa.String(16))
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"))
    joined_at_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.CheckConstraint(
            "role IN ('anchor', 'sme', 'university', 'integrator')", name="member_role_known"
        ),
        sa.CheckConstraint(
            "(role = 'university') = (person_id IS NOT NULL)", name="member_researcher_is_person"
        ),
        sa.Index("ix_consortium_members_consortium", "consortium_id", "org_id"),
    )


class PoolRow(Base):
    """The consortium's pool account in one programme's ledger."""

    __tablename__ = "consortium_pools"

    consortium_id: Mapped[int] = mapped_column(sa.ForeignKey("consortia.id"), primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), unique=True)
    opened_at_ns: Mapped[int] = mapped_column(sa.BigInteger)
    # the latest expiry of the credits put in; None while it holds none that can expire
    expires_on: Mapped[date | None] = mapped_column(sa.Date, index=True)
    expired_micro: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")


class ContributionRow(Base):
    __tablename__ = "consortium_contributions"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    consortium_id: Mapped[int] = mapped_column(sa.ForeignKey("consortia.id"), index=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"))
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    key: Mapped[str] = mapped_column(sa.String(64))
    amount_micro: Mapped[int] = mapped_column(sa.BigInteger)
    legs: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    created_at_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.UniqueConstraint(
            "consortium_id", "programme_id", "firm_id", "key", name="contribution_key_per_firm"
        ),
        sa.CheckConstraint("amount_micro > 0", name="contribution_amount_positive"),
    )


class SharedModelRow(Base):
    __tablename__ = "consortium_models"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    consortium_id: Mapped[int] = mapped_column(sa.ForeignKey("consortia.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    base_model: Mapped[str] = mapped_column(sa.String(200))
    task: Mapped[str] = mapped_column(sa.String(200))
    hardware_profile: Mapped[str] = mapped_column(sa.String(200))
    licence: Mapped[str] = mapped_column(sa.String(200))
    metrics: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    registered_at_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.UniqueConstraint("consortium_id", "name", name="shared_model_name_per_consortium"),
    )

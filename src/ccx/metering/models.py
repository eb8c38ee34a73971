"""Metering tables (private): usage records as the centre reported them, and GPU utilisation
samples."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ccx.db import Base


class UsageRow(Base):
    """One job allocation or step, keyed by (cluster, job, step) as the scheduler names it."""

    __tablename__ = "usage_records"

    cluster: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    step: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    account: Mapped[str] = mapped_column(sa.String(64))
    accelerator: Mapped[str] = mapped_column(sa.String(16))
    devices: Mapped[int] = mapped_column(sa.Integer)
    start_ns: Mapped[int] = mapped_column(sa.BigInteger)
    end_ns: Mapped[int | None] = mapped_column(sa.BigInteger)
    state: Mapped[str] = mapped_column(sa.String(16))
    # the allocation its account names (ccx-a<id>); None for accounts ccx does not manage
    allocation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("exchange_allocations.id"), index=True
    )
    charged_at_ns: Mapped[int | None] = mapped_column(sa.BigInteger)
    imported_at_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.Index("ix_usage_records_uncharged", "charged_at_ns", "end_ns"),
        sa.CheckConstraint("devices > 0", name="usage_devices_positive"),
    )


class UtilisationRow(Base):
    """One accelerator's utilisation as one scrape of the exporter saw it while a job ran."""

    __tablename__ = "utilisation_samples"

    cluster: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    gpu: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    observed_at_ns: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    utilisation_milli: Mapped[int] = mapped_column(sa.Integer)


class CentreUserRow(Base):
    """A login on the centre that belongs to an integrator: it may submit jobs under the
    accounts of the integrator's allocations."""

    __tablename__ = "centre_users"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    integrator_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    added_at_ns: Mapped[int] = mapped_column(sa.BigInteger)

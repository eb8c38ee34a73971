"""Exchange tables (private): the catalogue of accelerator types, pools and their maintenance,
versioned exchange rates, requests, rounds and allocations.

Credits are never stored here: an allocation's credits are a hold in the programme's ledger
(its `spend_id`). These tables keep what the ledger does not: capacity, the plan, the prices
and the explanations.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ccx.db import Base

BigIntegerKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class AcceleratorTypeRow(Base):
    __tablename__ = "accelerator_types"

    code: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    vendor: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(8))
    memory_gb: Mapped[int] = mapped_column(sa.Integer)
    bf16_tflops: Mapped[int | None] = mapped_column(sa.Integer)
    int8_tops: Mapped[int | None] = mapped_column(sa.Integer)
    source: Mapped[str] = mapped_column(sa.String(300))

    __table_args__ = (sa.CheckConstraint("kind IN ('gpu', 'npu')", name="accelerator_kind_known"),)


class RateRow(Base):
    """One version of a type's exchange rate; in force from `effective_from_ns` until the next."""

    __tablename__ = "exchange_rates"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    accelerator: Mapped[str] = mapped_column(sa.ForeignKey("accelerator_types.code"))
    effective_from_ns: Mapped[int] = mapped_column(sa.BigInteger)
    rate_micro: Mapped[int] = mapped_column(sa.BigInteger)
    source: Mapped[str] = mapped_column(sa.String(300))
    created_at_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.UniqueConstraint("accelerator", "effective_from_ns", name="uq_rate_version"),
        sa.CheckConstraint("rate_micro > 0", name="rate_positive"),
    )


class PriceCapRow(Base):
    """A programme's cap on clearing prices, in thousandths of the published rate."""

    __tablename__ = "exchange_price_caps"

    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), primary_key=True)
    price_cap_milli: Mapped[int] = mapped_column(sa.Integer)

    __table_args__ = (sa.CheckConstraint("price_cap_milli >= 1000", name="cap_at_least_rate"),)


class PoolRow(Base):
    __tablename__ = "exchange_pools"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    accelerator: Mapped[str] = mapped_column(sa.ForeignKey("accelerator_types.code"))
    devices: Mapped[int] = mapped_column(sa.Integer)
    created_at_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (sa.CheckConstraint("devices >= 0", name="pool_devices_not_negative"),)


class MaintenanceRow(Base):
    """Devices of a pool out of service from `start_ns` to `end_ns`."""

    __tablename__ = "exchange_maintenance"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    pool_id: Mapped[int] = mapped_column(sa.ForeignKey("exchange_pools.id"))
    start_ns: Mapped[int] = mapped_column(sa.BigInteger)
    end_ns: Mapped[int] = mapped_column(sa.BigInteger)
    devices_out: Mapped[int] = mapped_column(sa.Integer)
    reason: Mapped[str] = mapped_column(sa.String(300))

    __table_args__ = (
        sa.CheckConstraint("end_ns > start_ns", name="maintenance_ends_after_start"),
        sa.Index("ix_exchange_maintenance_pool_end", "pool_id", "end_ns"),
    )


class RequestRow(Base):
    __tablename__ = "exchange_requests"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    mandate_id: Mapped[int] = mapped_column(sa.ForeignKey("mandates.id"))
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"))
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    integrator_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    workload_class: Mapped[str] = mapped_column(sa.String(64))
    devices_per_job: Mapped[int] = mapped_column(sa.Integer)
    work_device_hours: Mapped[int] = mapped_column(sa.BigInteger)
    earliest_start_ns: Mapped[int] = mapped_column(sa.BigInteger)
    deadline_ns: Mapped[int] = mapped_column(sa.BigInteger)
    max_credits_micro: Mapped[int] = mapped_column(sa.BigInteger)
    options: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(16))
    allocated_work_milli: Mapped[int] = mapped_column(sa.BigInteger)
    committed_micro: Mapped[int] = mapped_column(sa.BigInteger)
    created_at_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.UniqueConstraint("mandate_id", "key", name="uq_request_key"),
        sa.CheckConstraint(
            "status IN ('open', 'allocated', 'cancelled', 'expired')", name="request_status_known"
        ),
        sa.CheckConstraint("committed_micro <= max_credits_micro", name="request_within_budget"),
        sa.Index("ix_exchange_requests_status_deadline", "status", "deadline_ns"),
    )


class LearnedThroughputRow(Base):
    """Throughput measured on metered runs of one workload class of one integrator on one
    accelerator type (a running mean)."""

    __tablename__ = "exchange_learned_throughput"

    integrator_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True)
    workload_class: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    accelerator: Mapped[str] = mapped_column(
        sa.ForeignKey("accelerator_types.code"), primary_key=True
    )
    throughput_milli: Mapped[int] = mapped_column(sa.Integer)
    samples: Mapped[int] = mapped_column(sa.Integer)


class RoundRow(Base):
    __tablename__ = "exchange_rounds"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    policy: Mapped[str] = mapped_column(sa.String(16))
    start_ns: Mapped[int] = mapped_column(sa.BigInteger)
    slot_s: Mapped[int] = mapped_column(sa.Integer)
    slots: Mapped[int] = mapped_column(sa.Integer)
    grace_s: Mapped[int] = mapped_column(sa.Integer)
    firm_share_milli: Mapped[int] = mapped_column(sa.Integer)
    integrator_share_milli: Mapped[int] = mapped_column(sa.Integer)
    group_share_milli: Mapped[int] = mapped_column(sa.Integer)
    floor_share_milli: Mapped[int] = mapped_column(sa.Integer)
    solve_us: Mapped[int] = mapped_column(sa.BigInteger)
    requests: Mapped[int] = mapped_column(sa.Integer)
    capacity_device_hours: Mapped[int] = mapped_column(sa.BigInteger)
    allocated_device_hours: Mapped[int] = mapped_column(sa.BigInteger)
    reclaimed_device_hours: Mapped[int] = mapped_column(sa.BigInteger)
    used_device_s: Mapped[int] = mapped_column(sa.BigInteger)
    allocated_micro: Mapped[int] = mapped_column(sa.BigInteger)
    unplaced: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    created_at_ns: Mapped[int] = mapped_column(sa.BigInteger)


class RoundPriceRow(Base):
    __tablename__ = "exchange_round_prices"

    round_id: Mapped[int] = mapped_column(sa.ForeignKey("exchange_rounds.id"), primary_key=True)
    pool_id: Mapped[int] = mapped_column(sa.ForeignKey("exchange_pools.id"), primary_key=True)
    slot: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    rate_micro: Mapped[int] = mapped_column(sa.BigInteger)
    dual_micro: Mapped[int] = mapped_column(sa.BigInteger)
    price_micro: Mapped[int] = mapped_column(sa.BigInteger)
    capacity_device_hours: Mapped[int] = mapped_column(sa.BigInteger)
    allocated_device_hours: Mapped[int] = mapped_column(sa.BigInteger)


class AllocationRow(Base):
    __tablename__ = "exchange_allocations"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("exchange_rounds.id"), index=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("exchange_requests.id"), index=True)
    pool_id: Mapped[int] = mapped_column(sa.ForeignKey("exchange_pools.id"))
    mandate_id: Mapped[int] = mapped_column(sa.ForeignKey("mandates.id"), index=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"))
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    integrator_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    # the spend holding what is left: the first hold, then each re-hold after a charge
    spend_id: Mapped[int] = mapped_column(sa.ForeignKey("mandate_spends.id"), unique=True)
    devices: Mapped[int] = mapped_column(sa.Integer)
    device_hours: Mapped[int] = mapped_column(sa.BigInteger)
    start_ns: Mapped[int] = mapped_column(sa.BigInteger)
    end_ns: Mapped[int] = mapped_column(sa.BigInteger)
    rate_micro: Mapped[int] = mapped_column(sa.BigInteger)
    price_micro: Mapped[int] = mapped_column(sa.BigInteger)
    amount_micro: Mapped[int] = mapped_column(sa.BigInteger)
    work_milli: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(16))
    reclaim_after_ns: Mapped[int] = mapped_column(sa.BigInteger)
    started_at_ns: Mapped[int | None] = mapped_column(sa.BigInteger)
    used_device_s: Mapped[int] = mapped_column(sa.BigInteger)  # charged so far
    utilisation_milli: Mapped[int | None] = mapped_column(sa.Integer)
    posted_micro: Mapped[int] = mapped_column(sa.BigInteger)  # charged so far
    held_micro: Mapped[int] = mapped_column(sa.BigInteger)  # still held by `spend_id`
    resolved_at_ns: Mapped[int | None] = mapped_column(sa.BigInteger)
    explanation: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('held', 'running', 'reclaimed', 'settled')",
            name="allocation_status_known",
        ),
        sa.CheckConstraint("device_hours > 0 AND amount_micro > 0", name="allocation_positive"),
        sa.Index("ix_exchange_allocations_status_reclaim", "status", "reclaim_after_ns"),
        sa.Index("ix_exchange_allocations_pool_end", "pool_id", "end_ns"),
    )


class AllocationSlotRow(Base):
    """An allocation's device-hours in one slot: what later rounds see as taken."""

    __tablename__ = "exchange_allocation_slots"

    allocation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("exchange_allocations.id"), primary_key=True
    )
    start_ns: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    end_ns: Mapped[int] = mapped_column(sa.BigInteger)
    device_hours: Mapped[int] = mapped_column(sa.BigInteger)


class ChargeRow(Base):
    """One metered usage charged to an allocation: keyed by the usage record, so a replay
    never charges twice."""

    __tablename__ = "exchange_allocation_charges"

    allocation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("exchange_allocations.id"), primary_key=True
    )
    usage_key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    used_device_s: Mapped[int] = mapped_column(sa.BigInteger)
    charged_micro: Mapped[int] = mapped_column(sa.BigInteger)
    created_at_ns: Mapped[int] = mapped_column(sa.BigInteger)

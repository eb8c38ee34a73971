"""exchange: accelerator catalogue with default rates, pools, requests, rounds, allocations

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ccx.exchange.catalogue import seed_catalogue

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accelerator_types",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("vendor", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("memory_gb", sa.Integer(), nullable=False),
        sa.Column("bf16_tflops", sa.Integer(), nullable=True),
        sa.Column("int8_tops", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.CheckConstraint("kind IN ('gpu', 'npu')", name="accelerator_kind_known"),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "exchange_rounds",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("slot_s", sa.Integer(), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("grace_s", sa.Integer(), nullable=False),
        sa.Column("firm_share_milli", sa.Integer(), nullable=False),
        sa.Column("integrator_share_milli", sa.Integer(), nullable=False),
        sa.Column("group_share_milli", sa.Integer(), nullable=False),
        sa.Column("floor_share_milli", sa.Integer(), nullable=False),
        sa.Column("solve_us", sa.BigInteger(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("capacity_device_hours", sa.BigInteger(), nullable=False),
        sa.Column("allocated_device_hours", sa.BigInteger(), nullable=False),
        sa.Column("reclaimed_device_hours", sa.BigInteger(), nullable=False),
        sa.Column("used_device_s", sa.BigInteger(), nullable=False),
        sa.Column("allocated_micro", sa.BigInteger(), nullable=False),
        sa.Column("unplaced", sa.JSON(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "exchange_learned_throughput",
        sa.Column(
            "integrator_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("workload_class", sa.String(length=64), nullable=False),
        sa.Column("accelerator", sa.String(length=16), nullable=False),
        sa.Column("throughput_milli", sa.Integer(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["accelerator"],
            ["accelerator_types.code"],
        ),
        sa.ForeignKeyConstraint(
            ["integrator_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("integrator_id", "workload_class", "accelerator"),
    )
    op.create_table(
        "exchange_pools",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("accelerator", sa.String(length=16), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("devices >= 0", name="pool_devices_not_negative"),
        sa.ForeignKeyConstraint(
            ["accelerator"],
            ["accelerator_types.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "exchange_rates",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("accelerator", sa.String(length=16), nullable=False),
        sa.Column("effective_from_ns", sa.BigInteger(), nullable=False),
        sa.Column("rate_micro", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("rate_micro > 0", name="rate_positive"),
        sa.ForeignKeyConstraint(
            ["accelerator"],
            ["accelerator_types.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("accelerator", "effective_from_ns", name="uq_rate_version"),
    )
    op.create_table(
        "exchange_maintenance",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("pool_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_ns", sa.BigInteger(), nullable=False),
        sa.Column("devices_out", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.CheckConstraint("end_ns > start_ns", name="maintenance_ends_after_start"),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["exchange_pools.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("exchange_maintenance", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_maintenance_pool_end", ["pool_id", "end_ns"], unique=False
        )

    op.create_table(
        "exchange_price_caps",
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("price_cap_milli", sa.Integer(), nullable=False),
        sa.CheckConstraint("price_cap_milli >= 1000", name="cap_at_least_rate"),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
        ),
        sa.PrimaryKeyConstraint("programme_id"),
    )
    op.create_table(
        "exchange_round_prices",
        sa.Column("round_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pool_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("rate_micro", sa.BigInteger(), nullable=False),
        sa.Column("dual_micro", sa.BigInteger(), nullable=False),
        sa.Column("price_micro", sa.BigInteger(), nullable=False),
        sa.Column("capacity_device_hours", sa.BigInteger(), nullable=False),
        sa.Column("allocated_device_hours", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["exchange_pools.id"],
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["exchange_rounds.id"],
        ),
        sa.PrimaryKeyConstraint("round_id", "pool_id", "slot"),
    )
    op.create_table(
        "exchange_requests",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("mandate_id", sa.BigInteger(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "integrator_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("workload_class", sa.String(length=64), nullable=False),
        sa.Column("devices_per_job", sa.Integer(), nullable=False),
        sa.Column("work_device_hours", sa.BigInteger(), nullable=False),
        sa.Column("earliest_start_ns", sa.BigInteger(), nullable=False),
        sa.Column("deadline_ns", sa.BigInteger(), nullable=False),
        sa.Column("max_credits_micro", sa.BigInteger(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("allocated_work_milli", sa.BigInteger(), nullable=False),
        sa.Column("committed_micro", sa.BigInteger(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'allocated', 'cancelled', 'expired')", name="request_status_known"
        ),
        sa.CheckConstraint("committed_micro <= max_credits_micro", name="request_within_budget"),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["integrator_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["mandate_id"],
            ["mandates.id"],
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mandate_id", "key", name="uq_request_key"),
    )
    with op.batch_alter_table("exchange_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_requests_firm_id"), ["firm_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_exchange_requests_integrator_id"), ["integrator_id"], unique=False
        )
        batch_op.create_index(
            "ix_exchange_requests_status_deadline", ["status", "deadline_ns"], unique=False
        )

    op.create_table(
        "exchange_allocations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("round_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("pool_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("mandate_id", sa.BigInteger(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "integrator_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("spend_id", sa.BigInteger(), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("device_hours", sa.BigInteger(), nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_ns", sa.BigInteger(), nullable=False),
        sa.Column("rate_micro", sa.BigInteger(), nullable=False),
        sa.Column("price_micro", sa.BigInteger(), nullable=False),
        sa.Column("amount_micro", sa.BigInteger(), nullable=False),
        sa.Column("work_milli", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reclaim_after_ns", sa.BigInteger(), nullable=False),
        sa.Column("started_at_ns", sa.BigInteger(), nullable=True),
        sa.Column("used_device_s", sa.BigInteger(), nullable=False),
        sa.Column("utilisation_milli", sa.Integer(), nullable=True),
        sa.Column("posted_micro", sa.BigInteger(), nullable=False),
        sa.Column("held_micro", sa.BigInteger(), nullable=False),
        sa.Column("resolved_at_ns", sa.BigInteger(), nullable=True),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('held', 'running', 'reclaimed', 'settled')", name="allocation_status_known"
        ),
        sa.CheckConstraint("device_hours > 0 AND amount_micro > 0", name="allocation_positive"),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["integrator_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["mandate_id"],
            ["mandates.id"],
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["exchange_pools.id"],
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["exchange_requests.id"],
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["exchange_rounds.id"],
        ),
        sa.ForeignKeyConstraint(
            ["spend_id"],
            ["mandate_spends.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("spend_id"),
    )
    with op.batch_alter_table("exchange_allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exchange_allocations_firm_id"), ["firm_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_exchange_allocations_integrator_id"), ["integrator_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_exchange_allocations_mandate_id"), ["mandate_id"], unique=False
        )
        batch_op.create_index(
            "ix_exchange_allocations_pool_end", ["pool_id", "end_ns"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_exchange_allocations_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_exchange_allocations_round_id"), ["round_id"], unique=False
        )
        batch_op.create_index(
            "ix_exchange_allocations_status_reclaim", ["status", "reclaim_after_ns"], unique=False
        )

    op.create_table(
        "exchange_allocation_slots",
        sa.Column(
            "allocation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_ns", sa.BigInteger(), nullable=False),
        sa.Column("device_hours", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["exchange_allocations.id"],
        ),
        sa.PrimaryKeyConstraint("allocation_id", "start_ns"),
    )
    op.create_table(
        "exchange_allocation_charges",
        sa.Column(
            "allocation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("usage_key", sa.String(length=200), nullable=False),
        sa.Column("used_device_s", sa.BigInteger(), nullable=False),
        sa.Column("charged_micro", sa.BigInteger(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["allocation_id"], ["exchange_allocations.id"]),
        sa.PrimaryKeyConstraint("allocation_id", "usage_key"),
    )
    seed_catalogue(op.get_bind())


def downgrade() -> None:
    op.drop_table("exchange_allocation_charges")
    op.drop_table("exchange_allocation_slots")
    with op.batch_alter_table("exchange_allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_allocations_status_reclaim")
        batch_op.drop_index(batch_op.f("ix_exchange_allocations_round_id"))
        batch_op.drop_index(batch_op.f("ix_exchange_allocations_request_id"))
        batch_op.drop_index("ix_exchange_allocations_pool_end")
        batch_op.drop_index(batch_op.f("ix_exchange_allocations_mandate_id"))
        batch_op.drop_index(batch_op.f("ix_exchange_allocations_integrator_id"))
        batch_op.drop_index(batch_op.f("ix_exchange_allocations_firm_id"))

    op.drop_table("exchange_allocations")
    with op.batch_alter_table("exchange_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_requests_status_deadline")
        batch_op.drop_index(batch_op.f("ix_exchange_requests_integrator_id"))
        batch_op.drop_index(batch_op.f("ix_exchange_requests_firm_id"))

    op.drop_table("exchange_requests")
    op.drop_table("exchange_round_prices")
    op.drop_table("exchange_price_caps")
    with op.batch_alter_table("exchange_maintenance", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_maintenance_pool_end")

    op.drop_table("exchange_maintenance")
    op.drop_table("exchange_rates")
    op.drop_table("exchange_pools")
    op.drop_table("exchange_learned_throughput")
    op.drop_table("exchange_rounds")
    op.drop_table("accelerator_types")

"""metering: usage records, utilisation samples, centre logins

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "utilisation_samples",
        sa.Column("cluster", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("gpu", sa.String(length=16), nullable=False),
        sa.Column("observed_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("utilisation_milli", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("cluster", "job_id", "hostname", "gpu", "observed_at_ns"),
    )
    op.create_table(
        "centre_users",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column(
            "integrator_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("added_at_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["integrator_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("username"),
    )
    with op.batch_alter_table("centre_users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_centre_users_integrator_id"), ["integrator_id"], unique=False
        )

    op.create_table(
        "usage_records",
        sa.Column("cluster", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("accelerator", sa.String(length=16), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_ns", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column(
            "allocation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("charged_at_ns", sa.BigInteger(), nullable=True),
        sa.Column("imported_at_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("devices > 0", name="usage_devices_positive"),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["exchange_allocations.id"],
        ),
        sa.PrimaryKeyConstraint("cluster", "job_id", "step"),
    )
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_usage_records_allocation_id"), ["allocation_id"], unique=False
        )
        batch_op.create_index(
            "ix_usage_records_uncharged", ["charged_at_ns", "end_ns"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_records_uncharged")
        batch_op.drop_index(batch_op.f("ix_usage_records_allocation_id"))

    op.drop_table("usage_records")
    with op.batch_alter_table("centre_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_centre_users_integrator_id"))

    op.drop_table("centre_users")
    op.drop_table("utilisation_samples")

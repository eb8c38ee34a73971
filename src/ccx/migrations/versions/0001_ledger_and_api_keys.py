"""ledger and api keys

Revision ID: 0001
Revises:
Create Date: 2026-11-22 00:09:22.410824
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("secret_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'operator', 'integrator', 'firm', 'auditor')",
            name="api_key_role_known",
        ),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_table(
        "failed_transfers",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("result", sa.String(length=64), nullable=False),
        sa.Column("timestamp_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "journal_entries",
        sa.Column(
            "entry_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("timestamp_ns", sa.BigInteger(), nullable=False),
        sa.Column("chain_sequence", sa.BigInteger(), nullable=True),
        sa.Column("chain_hash", sa.LargeBinary(length=32), nullable=True),
        sa.CheckConstraint("kind IN (1, 2)", name="journal_kind_known"),
        sa.PrimaryKeyConstraint("entry_id"),
        sa.UniqueConstraint("chain_sequence"),
    )
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_journal_entries_unsealed",
            ["timestamp_ns", "entry_id"],
            unique=False,
            postgresql_where=sa.text("chain_sequence IS NULL"),
            sqlite_where=sa.text("chain_sequence IS NULL"),
        )

    op.create_table(
        "ledger_checkpoints",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("head_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("merkle_root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("timestamp_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sequence"),
    )
    op.create_table(
        "ledgers",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("asset_scale", sa.SmallInteger(), nullable=False),
        sa.Column("timestamp_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("asset_scale BETWEEN 0 AND 18", name="asset_scale_range"),
        sa.CheckConstraint("id > 0", name="ledger_id_positive"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ledger", sa.Integer(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.BigInteger(), nullable=True),
        sa.Column("user_data_64", sa.BigInteger(), nullable=False),
        sa.Column("user_data_32", sa.Integer(), nullable=False),
        sa.Column("debits_pending", sa.BigInteger(), nullable=False),
        sa.Column("debits_posted", sa.BigInteger(), nullable=False),
        sa.Column("credits_pending", sa.BigInteger(), nullable=False),
        sa.Column("credits_posted", sa.BigInteger(), nullable=False),
        sa.Column("timestamp_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "(flags & 2) = 0 OR debits_pending + debits_posted <= credits_posted",
            name="account_debits_within_credits",
        ),
        sa.CheckConstraint(
            "(flags & 4) = 0 OR credits_pending + credits_posted <= debits_posted",
            name="account_credits_within_debits",
        ),
        sa.CheckConstraint("(flags & 6) <> 6", name="account_limit_flags_exclusive"),
        sa.CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 AND credits_posted >= 0",
            name="account_counters_not_negative",
        ),
        sa.CheckConstraint("id > 0", name="account_id_positive"),
        sa.ForeignKeyConstraint(
            ["ledger"],
            ["ledgers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_ledger"), ["ledger"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_accounts_owner_org_id"), ["owner_org_id"], unique=False
        )

    op.create_table(
        "transfers",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("debit_account_id", sa.BigInteger(), nullable=False),
        sa.Column("credit_account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("ledger", sa.Integer(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("pending_id", sa.BigInteger(), nullable=False),
        sa.Column("timeout_s", sa.Integer(), nullable=False),
        sa.Column("user_data_64", sa.BigInteger(), nullable=False),
        sa.Column("user_data_32", sa.Integer(), nullable=False),
        sa.Column("timestamp_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount >= 0", name="transfer_amount_not_negative"),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name="transfer_accounts_differ"
        ),
        sa.CheckConstraint("id > 0", name="transfer_id_positive"),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transfers_credit_account_id"), ["credit_account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transfers_debit_account_id"), ["debit_account_id"], unique=False
        )

    op.create_table(
        "pending_transfers",
        sa.Column("transfer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("expires_at_ns", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'posted', 'voided', 'expired')", name="pending_status_known"
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
        ),
        sa.PrimaryKeyConstraint("transfer_id"),
    )
    with op.batch_alter_table("pending_transfers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pending_transfers_due",
            ["expires_at_ns", "transfer_id"],
            unique=False,
            postgresql_where=sa.text("status = 'pending' AND expires_at_ns IS NOT NULL"),
            sqlite_where=sa.text("status = 'pending' AND expires_at_ns IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("pending_transfers", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_pending_transfers_due",
            postgresql_where=sa.text("status = 'pending' AND expires_at_ns IS NOT NULL"),
            sqlite_where=sa.text("status = 'pending' AND expires_at_ns IS NOT NULL"),
        )

    op.drop_table("pending_transfers")
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfers_debit_account_id"))
        batch_op.drop_index(batch_op.f("ix_transfers_credit_account_id"))

    op.drop_table("transfers")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_accounts_ledger"))

    op.drop_table("accounts")
    op.drop_table("ledgers")
    op.drop_table("ledger_checkpoints")
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_journal_entries_unsealed",
            postgresql_where=sa.text("chain_sequence IS NULL"),
            sqlite_where=sa.text("chain_sequence IS NULL"),
        )

    op.drop_table("journal_entries")
    op.drop_table("failed_transfers")
    op.drop_table("api_keys")

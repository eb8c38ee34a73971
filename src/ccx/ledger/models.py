"""Ledger tables. Private to the ledger feature: others use types, service and queries.

Balances live only in the four counters of `accounts`; CHECK constraints repeat the flag rules
as a second, independent guard. Transfers are never updated or deleted. The journal lists every
balance-changing event (a transfer, or the expiry of a hold) and carries the hash chain.

On PostgreSQL (migration 0010) the transfers' foreign keys to accounts are dropped, because the
ledger's function is their only writer and locks both accounts first, and accounts are stored
with fillfactor 50 so that counter updates stay on their page.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ccx.db import Base

# SQLite autoincrements only INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
BigIntegerKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

DEBITS_LIMIT = 2
CREDITS_LIMIT = 4


class LedgerRow(Base):
    __tablename__ = "ledgers"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    asset_scale: Mapped[int] = mapped_column(sa.SmallInteger)
    timestamp_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.CheckConstraint("id > 0", name="ledger_id_positive"),
        sa.CheckConstraint("asset_scale BETWEEN 0 AND 18", name="asset_scale_range"),
    )


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    ledger: Mapped[int] = mapped_column(sa.ForeignKey("ledgers.id"), index=True)
    code: Mapped[int] = mapped_column(sa.Integer)
    flags: Mapped[int] = mapped_column(sa.Integer)
    owner_org_id: Mapped[int | None] = mapped_column(sa.BigInteger, index=True)
    user_data_64: Mapped[int] = mapped_column(sa.BigInteger)
    user_data_32: Mapped[int] = mapped_column(sa.Integer)
    debits_pending: Mapped[int] = mapped_column(sa.BigInteger)
    debits_posted: Mapped[int] = mapped_column(sa.BigInteger)
    credits_pending: Mapped[int] = mapped_column(sa.BigInteger)
    credits_posted: Mapped[int] = mapped_column(sa.BigInteger)
    timestamp_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.CheckConstraint("id > 0", name="account_id_positive"),
        sa.CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0"
            " AND credits_posted >= 0",
            name="account_counters_not_negative",
        ),
        sa.CheckConstraint(
            f"(flags & {DEBITS_LIMIT}) = 0 OR debits_pending + debits_posted <= credits_posted",
            name="account_debits_within_credits",
        ),
        sa.CheckConstraint(
            f"(flags & {CREDITS_LIMIT}) = 0 OR credits_pending + credits_posted <= debits_posted",
            name="account_credits_within_debits",
        ),
        sa.CheckConstraint(
            f"(flags & {DEBITS_LIMIT | CREDITS_LIMIT}) <> {DEBITS_LIMIT | CREDITS_LIMIT}",
            name="account_limit_flags_exclusive",
        ),
    )


class TransferRow(Base):
    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    debit_account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    credit_account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    ledger: Mapped[int] = mapped_column(sa.Integer)
    code: Mapped[int] = mapped_column(sa.Integer)
    flags: Mapped[int] = mapped_column(sa.Integer)
    pending_id: Mapped[int] = mapped_column(sa.BigInteger)
    timeout_s: Mapped[int] = mapped_column(sa.Integer)
    user_data_64: Mapped[int] = mapped_column(sa.BigInteger)
    user_data_32: Mapped[int] = mapped_column(sa.Integer)
    timestamp_ns: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.CheckConstraint("id > 0", name="transfer_id_positive"),
        sa.CheckConstraint("amount >= 0", name="transfer_amount_not_negative"),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name="transfer_accounts_differ"
        ),
    )


class PendingTransferRow(Base):
    """Where each pending transfer stands; the only ledger row besides accounts that changes."""

    __tablename__ = "pending_transfers"

    transfer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("transfers.id"), primary_key=True, autoincrement=False
    )
    status: Mapped[str] = mapped_column(sa.String(8))
    expires_at_ns: Mapped[int | None] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('pending', 'posted', 'voided', 'expired')", name="pending_status_known"
        ),
        sa.Index(
            "ix_pending_transfers_due",
            "expires_at_ns",
            "transfer_id",
            postgresql_where=sa.text("status = 'pending' AND expires_at_ns IS NOT NULL"),
            sqlite_where=sa.text("status = 'pending' AND expires_at_ns IS NOT NULL"),
        ),
    )


class FailedTransferRow(Base):
    """Ids whose first attempt failed on the ledger's state (answered `id_already_failed`)."""

    __tablename__ = "failed_transfers"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    result: Mapped[str] = mapped_column(sa.String(64))
    timestamp_ns: Mapped[int] = mapped_column(sa.BigInteger)


class JournalEntryRow(Base):
    """One balance-changing event. `chain_*` are set when the sealer links it into the chain."""

    __tablename__ = "journal_entries"

    entry_id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    kind: Mapped[int] = mapped_column(sa.SmallInteger)
    transfer_id: Mapped[int] = mapped_column(sa.BigInteger)
    timestamp_ns: Mapped[int] = mapped_column(sa.BigInteger)
    chain_sequence: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True)
    chain_hash: Mapped[bytes | None] = mapped_column(sa.LargeBinary(32))

    __table_args__ = (
        sa.CheckConstraint("kind IN (1, 2)", name="journal_kind_known"),
        sa.Index(
            "ix_journal_entries_unsealed",
            "timestamp_ns",
            "entry_id",
            postgresql_where=sa.text("chain_sequence IS NULL"),
            sqlite_where=sa.text("chain_sequence IS NULL"),
        ),
    )


class CheckpointRow(Base):
    """A published checkpoint: the chain head and Merkle root at a sequence."""

    __tablename__ = "ledger_checkpoints"

    sequence: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    head_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    merkle_root: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    timestamp_ns: Mapped[int] = mapped_column(sa.BigInteger)

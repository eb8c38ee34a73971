"""Ledger reads. They return types, never rows; every list is bounded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.ledger.chain import GENESIS_HASH
from ccx.ledger.models import (
    AccountRow,
    JournalEntryRow,
    LedgerRow,
    PendingTransferRow,
    TransferRow,
)
from ccx.ledger.types import (
    Account,
    AccountFlags,
    Ledger,
    PendingState,
    PendingStatus,
    Transfer,
    TransferFlags,
)

PAGE_SIZE_MAX = 1_000


def ledger_from_row(row: LedgerRow) -> Ledger:
    return Ledger(
        id=row.id, name=row.name, asset_scale=row.asset_scale, timestamp_ns=row.timestamp_ns
    )


def account_from_row(row: Any) -> Account:
    """From an `accounts` row (ORM or Core)."""
    return Account(
        id=row.id,
        ledger=row.ledger,
        code=row.code,
        flags=AccountFlags(row.flags),
        owner_org_id=row.owner_org_id,
        user_data_64=row.user_data_64,
        user_data_32=row.user_data_32,
        debits_pending=row.debits_pending,
        debits_posted=row.debits_posted,
        credits_pending=row.credits_pending,
        credits_posted=row.credits_posted,
        timestamp_ns=row.timestamp_ns,
    )


def transfer_from_row(row: Any) -> Transfer:
    """From a `transfers` row (ORM or Core)."""
    return Transfer(
        id=row.id,
        debit_account_id=row.debit_account_id,
        credit_account_id=row.credit_account_id,
        amount=row.amount,
        ledger=row.ledger,
        code=row.code,
        flags=TransferFlags(row.flags),
        pending_id=row.pending_id,
        timeout_s=row.timeout_s,
        user_data_64=row.user_data_64,
        user_data_32=row.user_data_32,
        timestamp_ns=row.timestamp_ns,
    )


def get_ledger(session: Session, ledger_id: int) -> Ledger | None:
    row = session.get(LedgerRow, ledger_id)
    return None if row is None else ledger_from_row(row)


def list_ledgers(session: Session) -> list[Ledger]:
    rows = session.scalars(sa.select(LedgerRow).order_by(LedgerRow.id).limit(PAGE_SIZE_MAX))
    return [ledger_from_row(row) for row in rows]


def get_account(session: Session, account_id: int) -> Account | None:
    row = session.get(AccountRow, account_id)
    return None if row is None else account_from_row(row)


def get_accounts(session: Session, account_ids: list[int]) -> dict[int, Account]:
    assert len(account_ids) <= PAGE_SIZE_MAX
    rows = session.scalars(sa.select(AccountRow).where(AccountRow.id.in_(account_ids)))
    return {row.id: account_from_row(row) for row in rows}


def list_accounts(
    session: Session,
    *,
    limit: int,
    after_id: int = 0,
    ledger: int | None = None,
    code: int | None = None,
    owner_org_id: int | None = None,
) -> list[Account]:
    """Accounts with id > after_id, in id order (keyset paging)."""
    assert 0 < limit <= PAGE_SIZE_MAX
    statement = sa.select(AccountRow).where(AccountRow.id > after_id)
    if ledger is not None:
        statement = statement.where(AccountRow.ledger == ledger)
    if code is not None:
        statement = statement.where(AccountRow.code == code)
    if owner_org_id is not None:
        statement = statement.where(AccountRow.owner_org_id == owner_org_id)
    rows = session.scalars(statement.order_by(AccountRow.id).limit(limit))
    return [account_from_row(row) for row in rows]


def get_transfer(session: Session, transfer_id: int) -> Transfer | None:
    row = session.get(TransferRow, transfer_id)
    return None if row is None else transfer_from_row(row)


def get_pending_state(session: Session, transfer_id: int) -> PendingState | None:
    row = session.get(PendingTransferRow, transfer_id)
    if row is None:
        return None
    return PendingState(row.transfer_id, PendingStatus(row.status), row.expires_at_ns)


def pending_statuses(session: Session, transfer_ids: Sequence[int]) -> dict[int, PendingStatus]:
    """Where each of these pending transfers stands (absent: not a pending transfer)."""
    if not transfer_ids:
        return {}
    rows = session.execute(
        sa.select(PendingTransferRow.transfer_id, PendingTransferRow.status).where(
            PendingTransferRow.transfer_id.in_(transfer_ids)
        )
    )
    return {transfer_id: PendingStatus(status) for transfer_id, status in rows}


def list_transfers(
    session: Session,
    *,
    limit: int,
    after_id: int = 0,
    account_id: int | None = None,
    account_ids: frozenset[int] | None = None,
) -> list[Transfer]:
    """Transfers with id > after_id in id order, optionally only those touching some accounts."""
    assert 0 < limit <= PAGE_SIZE_MAX
    statement = sa.select(TransferRow).where(TransferRow.id > after_id)
    if account_id is not None:
        statement = statement.where(
            sa.or_(
                TransferRow.debit_account_id == account_id,
                TransferRow.credit_account_id == account_id,
            )
        )
    if account_ids is not None:
        statement = statement.where(
            sa.or_(
                TransferRow.debit_account_id.in_(account_ids),
                TransferRow.credit_account_id.in_(account_ids),
            )
        )
    rows = session.scalars(statement.order_by(TransferRow.id).limit(limit))
    return [transfer_from_row(row) for row in rows]


def debited_by_code(session: Session, account_ids: Sequence[int], *, code: int) -> dict[int, int]:
    """The total posted by transfers with `code` debiting each of the accounts (absent: 0)."""
    return {
        account_id: int(total or 0)
        for account_id, total in session.execute(
            sa.select(TransferRow.debit_account_id, sa.func.sum(TransferRow.amount))
            .where(TransferRow.debit_account_id.in_(account_ids), TransferRow.code == code)
            .group_by(TransferRow.debit_account_id)
        )
    }


@dataclass(frozen=True, slots=True)
class CodeTotals:
    """The four counters summed over a ledger's accounts of one code."""

    accounts: int
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int

    @property
    def balance_posted(self) -> int:
        return self.credits_posted - self.debits_posted


def totals_by_code(session: Session, ledger_id: int) -> dict[int, CodeTotals]:
    """Each account code of the ledger with its accounts' counters summed."""
    rows = session.execute(
        sa.select(
            AccountRow.code,
            sa.func.count(),
            sa.func.sum(AccountRow.debits_pending),
            sa.func.sum(AccountRow.debits_posted),
            sa.func.sum(AccountRow.credits_pending),
            sa.func.sum(AccountRow.credits_posted),
        )
        .where(AccountRow.ledger == ledger_id)
        .group_by(AccountRow.code)
    )
    return {
        code: CodeTotals(count, int(dp), int(dpo), int(cp), int(cpo))
        for code, count, dp, dpo, cp, cpo in rows
    }


def chain_head(session: Session) -> tuple[int, bytes]:
    """The last sealed (sequence, hash), or (0, genesis)."""
    row = session.execute(
        sa.select(JournalEntryRow.chain_sequence, JournalEntryRow.chain_hash)
        .where(JournalEntryRow.chain_sequence.is_not(None))
        .order_by(JournalEntryRow.chain_sequence.desc())
        .limit(1)
    ).first()
    if row is None:
        return 0, GENESIS_HASH
    assert row.chain_sequence is not None
    assert row.chain_hash is not None
    return row.chain_sequence, row.chain_hash


def sealed_hashes(session: Session) -> list[bytes]:
    """Every sealed entry hash in chain order (for the Merkle root)."""
    result = session.execute(
        sa.select(JournalEntryRow.chain_hash)
        .where(JournalEntryRow.chain_sequence.is_not(None))
        .order_by(JournalEntryRow.chain_sequence)
        .execution_options(yield_per=10_000)
    )
    return [row.chain_hash for row in result if row.chain_hash is not None]

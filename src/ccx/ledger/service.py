"""Ledger writes. Each function takes a session inside an open transaction and never commits.

A batch loads the rows it touches, locking the accounts in sorted id order (PostgreSQL
`FOR UPDATE`; SQLite serialises writers with `BEGIN IMMEDIATE`), runs the pure core, and writes
back the changed counters, the new transfers and their journal entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.clock import Clock
from ccx.ids import derived_id
from ccx.ledger import chain, core, procedure
from ccx.ledger.errors import BatchTooLargeError, LedgerConflictError, NotFoundError
from ccx.ledger.models import (
    AccountRow,
    CheckpointRow,
    JournalEntryRow,
    LedgerRow,
    PendingTransferRow,
)
from ccx.ledger.queries import (
    account_from_row,
    chain_head,
    ledger_from_row,
    sealed_hashes,
    transfer_from_row,
)
from ccx.ledger.types import (
    AMOUNT_MAX,
    BATCH_SIZE_MAX,
    Account,
    AccountOutcome,
    Checkpoint,
    CreateTransferResult,
    Ledger,
    NewAccount,
    NewTransfer,
    PendingState,
    PendingStatus,
    Transfer,
    TransferFlags,
    TransferOutcome,
)
from ccx.ledger.writes import (
    ACCOUNTS,
    FAILED_TRANSFERS,
    JOURNAL,
    PENDING_TRANSFERS,
    TRANSFERS,
    update_accounts,
    update_pending_status,
    write_effects,
)

# Bound on ids per IN (...) list: SQLite allows 32,766 variables, PostgreSQL 65,535.
_IN_CHUNK = 4_000
SEAL_BATCH_MAX = 10_000
EXPIRE_BATCH_MAX = 1_000
_SEAL_LOCK_KEY = 7243000002
CLOSE_SWEEP = "ledger.close.sweep"
CLOSE_FREEZE = "ledger.close.freeze"


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _IN_CHUNK):
        yield ordered[start : start + _IN_CHUNK]


def create_ledger(
    session: Session, *, ledger_id: int, name: str, asset_scale: int, clock: Clock
) -> Ledger:
    """Create a ledger (idempotent: the same id and fields again returns the existing one)."""
    existing = session.get(LedgerRow, ledger_id)
    if existing is not None:
        if (existing.name, existing.asset_scale) != (name, asset_scale):
            raise LedgerConflictError(f"ledger {ledger_id} exists with other fields")
        return ledger_from_row(existing)
    same_name = session.scalar(sa.select(LedgerRow.id).where(LedgerRow.name == name))
    if same_name is not None:
        raise LedgerConflictError(f"a ledger named {name!r} exists (id {same_name})")
    row = LedgerRow(id=ledger_id, name=name, asset_scale=asset_scale, timestamp_ns=clock.now_ns())
    session.add(row)
    session.flush()
    return ledger_from_row(row)


def create_accounts(
    session: Session, accounts: Sequence[NewAccount], clock: Clock
) -> list[AccountOutcome]:
    """Create accounts; returns one outcome per account, in order."""
    _check_batch_size(len(accounts))
    existing = _lock_accounts(session.connection(), (account.id for account in accounts))
    ledger_ids = frozenset(
        session.scalars(
            sa.select(LedgerRow.id).where(LedgerRow.id.in_({a.ledger for a in accounts}))
        )
    )
    outcomes, created = core.apply_accounts(accounts, existing, ledger_ids, clock.now_ns())
    if created:
        session.execute(sa.insert(AccountRow), [_account_values(account) for account in created])
    return outcomes


def create_transfers(
    target: Session | sa.Connection, transfers: Sequence[NewTransfer], clock: Clock
) -> list[TransferOutcome]:
    """Create up to BATCH_SIZE_MAX transfers in the caller's transaction; one outcome each.

    `target` is the caller's session, or a bare connection for a ledger-only write
    (`Database.run_statement_write`): on PostgreSQL the batch is one statement, a call of the
    ledger's function, so it may run as its own transaction.
    """
    _check_batch_size(len(transfers))
    if not transfers:
        return []
    connection = target.connection() if isinstance(target, Session) else target
    if connection.dialect.name == "postgresql":
        return procedure.create_transfers(connection, transfers, clock.now_ns())
    state = _load_state(connection, transfers)
    effects = core.apply_transfers(transfers, state, clock.now_ns())
    write_effects(connection, effects, clock.now_ns())
    return effects.outcomes


def _check_batch_size(size: int) -> None:
    if size > BATCH_SIZE_MAX:
        raise BatchTooLargeError(f"a batch holds at most {BATCH_SIZE_MAX} events, not {size}")


def _load_state(connection: sa.Connection, transfers: Sequence[NewTransfer]) -> core.LedgerState:
    ids = {t.id for t in transfers}
    referenced = {t.pending_id for t in transfers if t.pending_id}
    holds = _transfers_by_id(connection, referenced - ids)  # immutable rows: no lock needed
    account_ids = {t.debit_account_id for t in transfers} | {t.credit_account_id for t in transfers}
    account_ids |= _hold_accounts(holds.values())
    accounts = _lock_accounts(connection, account_ids - {0})
    # Read after the locks so that a concurrent batch's committed changes are seen.
    existing, failed = _existing_and_failed(connection, ids)
    missing = _hold_accounts(t for i, t in existing.items() if i in referenced) - accounts.keys()
    accounts |= _lock_accounts(connection, missing)  # a retried hold whose body changed: rare
    return core.LedgerState(
        accounts=accounts,
        transfers={**holds, **existing},
        pendings=_lock_pending_states(connection, referenced),
        failed=failed,
    )


def _hold_accounts(holds: Iterable[Transfer]) -> set[int]:
    return {
        account for hold in holds for account in (hold.debit_account_id, hold.credit_account_id)
    }


_IDS: sa.BindParameter[list[int]] = sa.bindparam("ids", expanding=True)
_LOCK_ACCOUNTS = (
    sa.select(ACCOUNTS).where(ACCOUNTS.c.id.in_(_IDS)).order_by(ACCOUNTS.c.id).with_for_update()
)
_TRANSFERS_BY_ID = sa.select(TRANSFERS).where(TRANSFERS.c.id.in_(_IDS))
_LOCK_PENDING_STATES = (
    sa.select(PENDING_TRANSFERS)
    .where(PENDING_TRANSFERS.c.transfer_id.in_(_IDS))
    .order_by(PENDING_TRANSFERS.c.transfer_id)
    .with_for_update()
)
# Transfers and remembered failures with the given ids, in one query.
_EXISTING_OR_FAILED = sa.union_all(
    sa.select(*TRANSFERS.c, sa.cast(sa.null(), sa.String(64)).label("result")).where(
        TRANSFERS.c.id.in_(_IDS)
    ),
    sa.select(
        FAILED_TRANSFERS.c.id,
        *(sa.cast(sa.null(), c.type).label(c.name) for c in TRANSFERS.c if c.name != "id"),
        FAILED_TRANSFERS.c.result,
    ).where(FAILED_TRANSFERS.c.id.in_(_IDS)),
)


def _rows(
    connection: sa.Connection, statement: sa.Executable, ids: Iterable[int]
) -> Iterator[sa.Row[Any]]:
    for chunk in _chunks(ids):
        yield from connection.execute(statement, {"ids": chunk})


def _lock_accounts(connection: sa.Connection, ids: Iterable[int]) -> dict[int, Account]:
    return {row.id: account_from_row(row) for row in _rows(connection, _LOCK_ACCOUNTS, ids)}


def _transfers_by_id(connection: sa.Connection, ids: Iterable[int]) -> dict[int, Transfer]:
    return {row.id: transfer_from_row(row) for row in _rows(connection, _TRANSFERS_BY_ID, ids)}


def _existing_and_failed(
    connection: sa.Connection, ids: Iterable[int]
) -> tuple[dict[int, Transfer], dict[int, CreateTransferResult]]:
    existing: dict[int, Transfer] = {}
    failed: dict[int, CreateTransferResult] = {}
    for row in _rows(connection, _EXISTING_OR_FAILED, ids):
        if row.result is None:
            existing[row.id] = transfer_from_row(row)
        else:
            failed[row.id] = CreateTransferResult(row.result)
    return existing, failed


def _lock_pending_states(connection: sa.Connection, ids: Iterable[int]) -> dict[int, PendingState]:
    return {
        row.transfer_id: PendingState(row.transfer_id, PendingStatus(row.status), row.expires_at_ns)
        for row in _rows(connection, _LOCK_PENDING_STATES, ids)
    }


def _account_values(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "ledger": account.ledger,
        "code": account.code,
        "flags": int(account.flags),
        "owner_org_id": account.owner_org_id,
        "user_data_64": account.user_data_64,
        "user_data_32": account.user_data_32,
        "debits_pending": account.debits_pending,
        "debits_posted": account.debits_posted,
        "credits_pending": account.credits_pending,
        "credits_posted": account.credits_posted,
        "timestamp_ns": account.timestamp_ns,
    }


def expire_pending_transfers(
    session: Session, clock: Clock, *, limit: int = EXPIRE_BATCH_MAX
) -> int:
    """Return the amounts of timed-out holds, in expiry order; returns how many expired."""
    assert 0 < limit <= EXPIRE_BATCH_MAX
    now_ns = clock.now_ns()
    due_ids = list(
        session.scalars(
            sa.select(PendingTransferRow.transfer_id)
            .where(PendingTransferRow.status == PendingStatus.PENDING.value)
            .where(PendingTransferRow.expires_at_ns <= now_ns)
            .order_by(PendingTransferRow.expires_at_ns, PendingTransferRow.transfer_id)
            .limit(limit)
        )
    )
    if not due_ids:
        return 0
    connection = session.connection()
    holds = _transfers_by_id(connection, due_ids)
    accounts = _lock_accounts(connection, _hold_accounts(holds.values()))
    states = _lock_pending_states(connection, due_ids)  # after the account locks, as in batches
    expired: list[int] = []
    for transfer_id in due_ids:  # already in expiry order
        if states[transfer_id].status is not PendingStatus.PENDING:
            continue  # resolved by a concurrent batch meanwhile
        debit, credit = core.expire_hold(accounts, holds[transfer_id])
        accounts[debit.id], accounts[credit.id] = debit, credit
        expired.append(transfer_id)
    _record_expiries(session, expired, accounts, holds, now_ns)
    return len(expired)


def _record_expiries(
    session: Session,
    expired: list[int],
    accounts: dict[int, Account],
    holds: dict[int, Transfer],
    now_ns: int,
) -> None:
    if not expired:
        return
    touched = {a for i in expired for a in (holds[i].debit_account_id, holds[i].credit_account_id)}
    update_accounts(session.connection(), (accounts[a] for a in touched))
    update_pending_status(session.connection(), [(i, PendingStatus.EXPIRED.value) for i in expired])
    session.execute(
        sa.insert(JournalEntryRow),
        [
            # After its hold even if the clock stepped back: the journal stays in causal order.
            {
                "kind": chain.EntryKind.EXPIRY,
                "transfer_id": i,
                "timestamp_ns": max(now_ns, holds[i].timestamp_ns + 1),
            }
            for i in expired
        ],
    )


def seal_journal(session: Session, *, limit: int = SEAL_BATCH_MAX, wait: bool = False) -> int:
    """Link unsealed journal entries into the hash chain, oldest first; returns how many.

    One sealer at a time: on PostgreSQL an advisory lock (skipped when another sealer holds it,
    unless `wait`); on SQLite the write transaction itself.
    """
    assert 0 < limit <= SEAL_BATCH_MAX
    if session.get_bind().dialect.name == "postgresql":
        lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        acquired = session.scalar(sa.select(getattr(sa.func, lock)(_SEAL_LOCK_KEY)))
        if acquired is False:
            return 0
    sequence, previous = chain_head(session)
    entries = session.execute(
        sa.select(
            JournalEntryRow.entry_id,
            JournalEntryRow.kind,
            JournalEntryRow.transfer_id,
            JournalEntryRow.timestamp_ns,
        )
        .where(JournalEntryRow.chain_sequence.is_(None))
        .order_by(JournalEntryRow.timestamp_ns, JournalEntryRow.entry_id)
        .limit(limit)
    ).all()
    if not entries:
        return 0
    connection = session.connection()
    encodings = _transfer_encodings(
        connection, (e.transfer_id for e in entries if e.kind == chain.EntryKind.TRANSFER)
    )
    entry_ids, sequences, hashes = [], [], []
    for entry in entries:
        sequence += 1
        kind = chain.EntryKind(entry.kind)
        encoding = (
            encodings[entry.transfer_id]
            if kind is chain.EntryKind.TRANSFER
            else chain.encode_expiry(entry.transfer_id, entry.timestamp_ns)
        )
        previous = chain.entry_hash(previous, sequence, kind, encoding)
        entry_ids.append(entry.entry_id)
        sequences.append(sequence)
        hashes.append(previous)
    _write_seals(connection, entry_ids, sequences, hashes)
    return len(entry_ids)


_TRANSFER_FIELDS_BY_ID = sa.select(*(TRANSFERS.c[name] for name in chain.TRANSFER_FIELDS)).where(
    TRANSFERS.c.id.in_(_IDS)
)
_SEAL_SET = sa.text(
    "UPDATE journal_entries AS j SET chain_sequence = s.sequence, chain_hash = s.hash"
    " FROM unnest(CAST(:entry_ids AS bigint[]), CAST(:sequences AS bigint[]),"
    " CAST(:hashes AS bytea[])) AS s(entry_id, sequence, hash)"
    " WHERE j.entry_id = s.entry_id"
)


def _transfer_encodings(connection: sa.Connection, ids: Iterable[int]) -> dict[int, bytes]:
    """Each transfer's chain encoding, straight from its row."""
    return {
        row[0]: chain.encode_transfer_fields(row)
        for row in _rows(connection, _TRANSFER_FIELDS_BY_ID, ids)
    }


def _write_seals(
    connection: sa.Connection, entry_ids: list[int], sequences: list[int], hashes: list[bytes]
) -> None:
    """Store the sequence and hash of each sealed entry: one statement on PostgreSQL."""
    if connection.dialect.name == "postgresql":
        parameters = {"entry_ids": entry_ids, "sequences": sequences, "hashes": hashes}
        connection.execute(_SEAL_SET, parameters)
        return
    connection.execute(
        sa.update(JOURNAL)
        .where(JOURNAL.c.entry_id == sa.bindparam("b_entry"))
        .values(chain_sequence=sa.bindparam("b_sequence"), chain_hash=sa.bindparam("b_hash")),
        [
            {"b_entry": e, "b_sequence": q, "b_hash": h}
            for e, q, h in zip(entry_ids, sequences, hashes, strict=True)
        ],
    )


def record_checkpoint(session: Session, clock: Clock) -> Checkpoint:
    """Seal everything committed so far and record the chain head and Merkle root."""
    while seal_journal(session, wait=True) == SEAL_BATCH_MAX:
        pass
    sequence, head = chain_head(session)
    root = chain.merkle_root(sealed_hashes(session))
    if sequence > 0 and session.get(CheckpointRow, sequence) is None:
        session.add(
            CheckpointRow(
                sequence=sequence, head_hash=head, merkle_root=root, timestamp_ns=clock.now_ns()
            )
        )
        session.flush()
    unsealed = session.scalar(
        sa.select(sa.func.count())
        .select_from(JournalEntryRow)
        .where(JournalEntryRow.chain_sequence.is_(None))
    )
    return Checkpoint(sequence, head.hex(), root.hex(), int(unsealed or 0))


def close_account(
    session: Session,
    *,
    account_id: int,
    sweep_to_account_id: int,
    clock: Clock,
    closing_number: int = 1,
) -> list[TransferOutcome]:
    """Sweep an account's whole available balance to another account, then close it.

    A linked chain: a `balancing_debit` of up to AMOUNT_MAX, then a pending `closing_debit` of
    zero (voiding that hold reopens the account). Ids derive from the account and the closing
    number, so a retry answers `exists`; closing again after a reopen takes the next number.
    """
    assert closing_number >= 1
    account = session.get(AccountRow, account_id)
    if account is None:
        raise NotFoundError(f"account {account_id} not found")
    common = {
        "debit_account_id": account_id,
        "credit_account_id": sweep_to_account_id,
        "ledger": account.ledger,
        "code": account.code,
    }
    chain_events = [
        NewTransfer(
            id=derived_id(CLOSE_SWEEP, account_id, closing_number),
            amount=AMOUNT_MAX,
            flags=TransferFlags.LINKED | TransferFlags.BALANCING_DEBIT,
            **common,
        ),
        NewTransfer(
            id=derived_id(CLOSE_FREEZE, account_id, closing_number),
            amount=0,
            flags=TransferFlags.PENDING | TransferFlags.CLOSING_DEBIT,
            **common,
        ),
    ]
    return create_transfers(session, chain_events, clock)

"""Recompute the hash chain and every balance from the journal (read-only).

`verify_ledger` walks the sealed entries in chain order (then the not yet sealed ones in
timestamp order), recomputes each hash and replays each event's effect on the four counters,
then compares with the stored accounts and checks the ledger-wide invariants. It names the first
divergent entry and every divergent account (up to a bound).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.ledger import chain
from ccx.ledger.models import AccountRow, JournalEntryRow, PendingTransferRow, TransferRow
from ccx.ledger.queries import account_from_row, transfer_from_row
from ccx.ledger.types import AccountFlags, Transfer, TransferFlags, VerifyReport

PROBLEMS_MAX = 50
_STREAM_BATCH = 10_000


@dataclass
class _Counters:
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)


@dataclass
class _Replay:
    counters: defaultdict[int, _Counters]
    holds: dict[int, Transfer]
    resolutions: defaultdict[int, int]
    problems: list[str]
    transfers_journaled: int = 0

    def problem(self, text: str) -> None:
        if len(self.problems) < PROBLEMS_MAX:
            self.problems.append(text)


def verify_ledger(
    session: Session, *, expect_sequence: int = 0, expect_head_hex: str = ""
) -> VerifyReport:
    replay = _Replay(defaultdict(_Counters), {}, defaultdict(int), [])
    entries = _check_chain(session, replay, expect_sequence, expect_head_hex)
    _check_unjournaled(session, replay)
    accounts = _check_accounts(session, replay)
    _check_holds(session, replay)
    return VerifyReport(
        ok=not replay.problems,
        entries_checked=entries,
        accounts_checked=accounts,
        problems=tuple(replay.problems),
    )


def _journal(session: Session, *, sealed: bool) -> Iterator[sa.Row[Any]]:
    j, t = JournalEntryRow.__table__, TransferRow.__table__
    statement = sa.select(
        j.c.chain_sequence,
        j.c.chain_hash,
        j.c.kind,
        j.c.transfer_id.label("entry_transfer_id"),
        j.c.timestamp_ns.label("entry_timestamp_ns"),
        t,
    ).select_from(
        j.outerjoin(t, sa.and_(j.c.transfer_id == t.c.id, j.c.kind == chain.EntryKind.TRANSFER))
    )
    if sealed:
        statement = statement.where(j.c.chain_sequence.is_not(None)).order_by(j.c.chain_sequence)
    else:
        statement = statement.where(j.c.chain_sequence.is_(None)).order_by(
            j.c.timestamp_ns, j.c.entry_id
        )
    yield from session.execute(statement.execution_options(yield_per=_STREAM_BATCH))


def _check_chain(
    session: Session, replay: _Replay, expect_sequence: int, expect_head_hex: str
) -> int:
    previous, count, diverged = chain.GENESIS_HASH, 0, False
    for row in _journal(session, sealed=True):
        count += 1
        transfer = _replay_entry(row, replay)
        if diverged:
            continue
        if row.chain_sequence != count:
            replay.problem(
                f"journal entry at sequence {count}: sequence is {row.chain_sequence}"
                " (entries missing or reordered)"
            )
            diverged = True
            continue
        encoding = (
            chain.encode_transfer(transfer)
            if transfer
            else chain.encode_expiry(row.entry_transfer_id, row.entry_timestamp_ns)
        )
        previous = chain.entry_hash(previous, count, chain.EntryKind(row.kind), encoding)
        if previous != row.chain_hash:
            what = "transfer" if row.kind == chain.EntryKind.TRANSFER else "expiry of hold"
            replay.problem(
                f"journal entry {count} ({what} {row.entry_transfer_id}):"
                " hash differs from the chain"
            )
            diverged = True
        if count == expect_sequence and previous.hex() != expect_head_hex:
            replay.problem(f"chain head at sequence {count} differs from the published checkpoint")
            diverged = True
    if expect_sequence > count:
        replay.problem(
            f"published checkpoint at sequence {expect_sequence}, but the chain has {count} entries"
        )
    for row in _journal(session, sealed=False):
        count += 1
        _replay_entry(row, replay)
    return count


def _replay_entry(row: sa.Row[Any], replay: _Replay) -> Transfer | None:
    if row.kind == chain.EntryKind.EXPIRY:
        hold = replay.holds.get(row.entry_transfer_id)
        if hold is None:
            replay.problem(f"expiry of unknown hold {row.entry_transfer_id}")
            return None
        _release(replay, hold, posted=0)
        return None
    if row.id is None:
        replay.problem(
            f"journal entry for transfer {row.entry_transfer_id}: the transfer is missing"
        )
        return None
    transfer = transfer_from_row(row)
    replay.transfers_journaled += 1
    _apply(replay, transfer)
    return transfer


def _apply(replay: _Replay, transfer: Transfer) -> None:
    debit, credit = (
        replay.counters[transfer.debit_account_id],
        replay.counters[transfer.credit_account_id],
    )
    if transfer.flags & (TransferFlags.POST_PENDING_TRANSFER | TransferFlags.VOID_PENDING_TRANSFER):
        hold = replay.holds.get(transfer.pending_id)
        if hold is None:
            replay.problem(f"transfer {transfer.id} resolves unknown hold {transfer.pending_id}")
            return
        replay.resolutions[hold.id] += 1
        posted = transfer.amount if transfer.flags & TransferFlags.POST_PENDING_TRANSFER else 0
        _release(replay, hold, posted=posted)
    elif transfer.flags & TransferFlags.PENDING:
        replay.holds[transfer.id] = transfer
        debit.debits_pending += transfer.amount
        credit.credits_pending += transfer.amount
    else:
        debit.debits_posted += transfer.amount
        credit.credits_posted += transfer.amount


def _release(replay: _Replay, hold: Transfer, *, posted: int) -> None:
    debit, credit = replay.counters[hold.debit_account_id], replay.counters[hold.credit_account_id]
    debit.debits_pending -= hold.amount
    credit.credits_pending -= hold.amount
    debit.debits_posted += posted
    credit.credits_posted += posted


def _check_unjournaled(session: Session, replay: _Replay) -> None:
    """Every transfer has a journal entry: compare counts, and name orphans only if they differ."""
    j, t = JournalEntryRow.__table__, TransferRow.__table__
    stored = session.scalar(sa.select(sa.func.count()).select_from(t))
    if stored == replay.transfers_journaled:
        return
    orphans = session.scalars(
        sa.select(t.c.id)
        .where(
            ~sa.exists()
            .where(j.c.transfer_id == t.c.id)
            .where(j.c.kind == chain.EntryKind.TRANSFER)
        )
        .order_by(t.c.id)
        .limit(PROBLEMS_MAX)
    )
    for transfer_id in orphans:
        replay.problem(f"transfer {transfer_id} is not in the journal")


def _check_accounts(session: Session, replay: _Replay) -> int:
    count = 0
    totals: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    seen: set[int] = set()
    for row in session.scalars(
        sa.select(AccountRow).order_by(AccountRow.id).execution_options(yield_per=_STREAM_BATCH)
    ):
        count += 1
        account = account_from_row(row)
        seen.add(account.id)
        stored = (
            account.debits_pending,
            account.debits_posted,
            account.credits_pending,
            account.credits_posted,
        )
        replayed = (
            replay.counters[account.id].as_tuple()
            if account.id in replay.counters
            else (0, 0, 0, 0)
        )
        if stored != replayed:
            replay.problem(
                f"account {account.id}: stored balances differ from the journal:"
                f" {_differences(stored, replayed)}"
            )
        if (
            account.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
            and account.debits_pending + account.debits_posted > account.credits_posted
        ):
            replay.problem(f"account {account.id}: debits exceed credits")
        if (
            account.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
            and account.credits_pending + account.credits_posted > account.debits_posted
        ):
            replay.problem(f"account {account.id}: credits exceed debits")
        for position, value in enumerate(stored):
            totals[account.ledger][position] += value
    for ledger, (debits_pending, debits_posted, credits_pending, credits_posted) in sorted(
        totals.items()
    ):
        if debits_posted != credits_posted or debits_pending != credits_pending:
            replay.problem(f"ledger {ledger}: debits and credits do not balance")
    for account_id in sorted(set(replay.counters) - seen)[:PROBLEMS_MAX]:
        replay.problem(f"account {account_id}: in the journal but missing")
    return count


_COUNTER_NAMES = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


def _differences(stored: tuple[int, ...], replayed: tuple[int, ...]) -> str:
    return ", ".join(
        f"{name} stored {mine} but journal gives {theirs}"
        for name, mine, theirs in zip(_COUNTER_NAMES, stored, replayed, strict=True)
        if mine != theirs
    )


def _check_holds(session: Session, replay: _Replay) -> None:
    for hold_id, count in sorted(replay.resolutions.items()):
        if count > 1:
            replay.problem(f"hold {hold_id} resolved {count} times")
    states = session.execute(
        sa.select(PendingTransferRow.transfer_id, PendingTransferRow.status).execution_options(
            yield_per=_STREAM_BATCH
        )
    )
    recorded = {row.transfer_id for row in states}
    for hold_id in sorted(set(replay.holds) - recorded)[:PROBLEMS_MAX]:
        replay.problem(f"hold {hold_id} has no pending state")

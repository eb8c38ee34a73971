"""Tamper evidence: edits made behind the service's back are found by `verify_ledger`."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.ledger import chain, queries, service
from ccx.ledger.types import (
    AccountFlags,
    Checkpoint,
    CreateTransferResult,
    NewAccount,
    NewTransfer,
    TransferFlags,
    VerifyReport,
)
from ccx.ledger.verify import verify_ledger

F = TransferFlags
LEDGER = 1
ISSUER, WALLET, SINK = 1, 2, 3
PLAIN_ID = 12  # a plain transfer from the wallet to the sink


def build(database: Database, clock: SimulatedClock) -> Checkpoint:
    """A small history with plain transfers, a posted, a voided and an expired hold; sealed."""
    with database.write() as session:
        service.create_ledger(session, ledger_id=LEDGER, name="audit", asset_scale=6, clock=clock)
        service.create_accounts(
            session,
            [
                NewAccount(ISSUER, LEDGER, 1),
                NewAccount(WALLET, LEDGER, 2, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
                NewAccount(SINK, LEDGER, 3),
            ],
            clock,
        )
        outcomes = service.create_transfers(
            session,
            [
                NewTransfer(11, ISSUER, WALLET, 1_000, LEDGER, 1),
                NewTransfer(PLAIN_ID, WALLET, SINK, 100, LEDGER, 1),
                NewTransfer(13, WALLET, SINK, 300, LEDGER, 1, F.PENDING, timeout_s=60),
                NewTransfer(14, WALLET, SINK, 200, LEDGER, 1, F.PENDING, timeout_s=60),
                NewTransfer(15, WALLET, SINK, 50, LEDGER, 1, F.PENDING, timeout_s=5),
            ],
            clock,
        )
    assert {o.result for o in outcomes} == {CreateTransferResult.OK}
    clock.advance(1)
    with database.write() as session:
        outcomes = service.create_transfers(
            session,
            [
                NewTransfer(16, 0, 0, 120, 0, 0, F.POST_PENDING_TRANSFER, pending_id=13),
                NewTransfer(17, 0, 0, 0, 0, 0, F.VOID_PENDING_TRANSFER, pending_id=14),
            ],
            clock,
        )
    assert {o.result for o in outcomes} == {CreateTransferResult.OK}
    clock.advance(10)
    with database.write() as session:
        assert service.expire_pending_transfers(session, clock) == 1
        checkpoint = service.record_checkpoint(session, clock)
    assert checkpoint.sequence == 8
    assert checkpoint.entries_unsealed == 0
    assert verified(database).ok
    return checkpoint


def verified(
    database: Database, *, expect_sequence: int = 0, expect_head_hex: str = ""
) -> VerifyReport:
    with database.read() as session:
        return verify_ledger(
            session, expect_sequence=expect_sequence, expect_head_hex=expect_head_hex
        )


def tamper(database: Database, statement: str, **params: int) -> None:
    """Change one row directly, as someone with database access could."""
    with database.write() as session:
        result = session.connection().execute(sa.text(statement), params)
        assert result.rowcount == 1


def sequence_of(session: Session, transfer_id: int) -> int:
    sequence = session.scalar(
        sa.text("SELECT chain_sequence FROM journal_entries WHERE transfer_id = :t AND kind = :k"),
        {"t": transfer_id, "k": int(chain.EntryKind.TRANSFER)},
    )
    assert isinstance(sequence, int)
    return sequence


def test_an_untouched_ledger_verifies_against_its_checkpoint(
    database: Database, clock: SimulatedClock
) -> None:
    checkpoint = build(database, clock)
    report = verified(
        database, expect_sequence=checkpoint.sequence, expect_head_hex=checkpoint.head_hash_hex
    )
    assert report == VerifyReport(ok=True, entries_checked=8, accounts_checked=3, problems=())
    with database.read() as session:
        hashes = queries.sealed_hashes(session)
    assert chain.merkle_root(hashes).hex() == checkpoint.merkle_root_hex


def test_a_changed_transfer_amount_is_named(database: Database, clock: SimulatedClock) -> None:
    build(database, clock)
    with database.read() as session:
        sequence = sequence_of(session, PLAIN_ID)
    tamper(database, "UPDATE transfers SET amount = amount - 1 WHERE id = :i", i=PLAIN_ID)
    report = verified(database)
    assert not report.ok
    assert report.problems[0] == (
        f"journal entry {sequence} (transfer {PLAIN_ID}): hash differs from the chain"
    )
    # The replay with the changed amount no longer matches the stored balances either.
    assert any(p.startswith(f"account {WALLET}: stored balances differ") for p in report.problems)
    assert any(p.startswith(f"account {SINK}: stored balances differ") for p in report.problems)


def test_a_changed_account_counter_is_named(database: Database, clock: SimulatedClock) -> None:
    build(database, clock)
    tamper(
        database, "UPDATE accounts SET credits_posted = credits_posted + 5 WHERE id = :i", i=WALLET
    )
    report = verified(database)
    assert not report.ok
    assert report.problems == (
        f"account {WALLET}: stored balances differ from the journal:"
        " credits_posted stored 1005 but journal gives 1000",
        f"ledger {LEDGER}: debits and credits do not balance",
    )


def test_a_deleted_journal_entry_is_reported(database: Database, clock: SimulatedClock) -> None:
    build(database, clock)
    with database.read() as session:
        sequence = sequence_of(session, PLAIN_ID)
    tamper(
        database,
        "DELETE FROM journal_entries WHERE transfer_id = :i AND kind = :k",
        i=PLAIN_ID,
        k=int(chain.EntryKind.TRANSFER),
    )
    report = verified(database)
    assert not report.ok
    assert report.problems[0] == (
        f"journal entry at sequence {sequence}: sequence is {sequence + 1}"
        " (entries missing or reordered)"
    )
    assert f"transfer {PLAIN_ID} is not in the journal" in report.problems
    assert report.entries_checked == 7


def test_a_rewritten_chain_is_caught_only_by_the_published_checkpoint(
    database: Database, clock: SimulatedClock
) -> None:
    checkpoint = build(database, clock)
    # Change a transfer, fix both balances and recompute every hash after it: consistent on
    # its own, so only the checkpoint published before the rewrite can tell.
    with database.write() as session:
        session.execute(sa.text("UPDATE transfers SET amount = 99 WHERE id = :i"), {"i": PLAIN_ID})
        session.execute(
            sa.text("UPDATE accounts SET debits_posted = debits_posted - 1 WHERE id = :i"),
            {"i": WALLET},
        )
        session.execute(
            sa.text("UPDATE accounts SET credits_posted = credits_posted - 1 WHERE id = :i"),
            {"i": SINK},
        )
        rows = session.execute(
            sa.text(
                "SELECT entry_id, kind, transfer_id, timestamp_ns FROM journal_entries"
                " ORDER BY chain_sequence"
            )
        ).all()
        previous = chain.GENESIS_HASH
        for sequence, row in enumerate(rows, start=1):
            kind = chain.EntryKind(row.kind)
            if kind is chain.EntryKind.TRANSFER:
                transfer = queries.get_transfer(session, row.transfer_id)
                assert transfer is not None
                encoding = chain.encode_transfer(transfer)
            else:
                encoding = chain.encode_expiry(row.transfer_id, row.timestamp_ns)
            previous = chain.entry_hash(previous, sequence, kind, encoding)
            session.execute(
                sa.text("UPDATE journal_entries SET chain_hash = :h WHERE entry_id = :e"),
                {"h": previous, "e": row.entry_id},
            )
    assert verified(database).ok
    report = verified(
        database, expect_sequence=checkpoint.sequence, expect_head_hex=checkpoint.head_hash_hex
    )
    assert report.problems == (
        f"chain head at sequence {checkpoint.sequence} differs from the published checkpoint",
    )


def test_a_checkpoint_beyond_the_chain_or_with_another_head_is_reported(
    database: Database, clock: SimulatedClock
) -> None:
    checkpoint = build(database, clock)
    report = verified(database, expect_sequence=3, expect_head_hex="00" * 32)
    assert report.problems == ("chain head at sequence 3 differs from the published checkpoint",)
    report = verified(
        database,
        expect_sequence=checkpoint.sequence + 1,
        expect_head_hex=checkpoint.head_hash_hex,
    )
    assert report.problems == (
        f"published checkpoint at sequence {checkpoint.sequence + 1},"
        f" but the chain has {checkpoint.sequence} entries",
    )
    # An earlier head, taken from the chain itself, still verifies.
    with database.read() as session:
        head = session.scalar(
            sa.text("SELECT chain_hash FROM journal_entries WHERE chain_sequence = 5")
        )
    assert isinstance(head, bytes)
    assert verified(database, expect_sequence=5, expect_head_hex=head.hex()).ok

"""The journal stays in causal order when the clock stands still or steps back."""

from __future__ import annotations

from ccx.clock import NS_PER_S, SimulatedClock
from ccx.db import Database
from ccx.ledger import AccountFlags, NewAccount, NewTransfer, TransferFlags, service
from ccx.ledger.verify import verify_ledger


def _setup(database: Database, clock: SimulatedClock) -> None:
    with database.write() as session:
        service.create_ledger(session, ledger_id=1, name="order", asset_scale=6, clock=clock)
        service.create_accounts(
            session,
            [
                NewAccount(1, 1, 1),
                NewAccount(2, 1, 2, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
                NewAccount(3, 1, 3),
            ],
            clock,
        )


def _sealed_and_verified(database: Database) -> tuple[bool, tuple[str, ...]]:
    with database.write() as session:
        service.seal_journal(session, wait=True)
    with database.read() as session:
        report = verify_ledger(session)
    return report.ok, report.problems


def test_post_in_a_later_batch_at_the_same_instant(database: Database) -> None:
    clock = SimulatedClock()
    _setup(database, clock)
    with database.write() as session:  # the hold is event 1 of its batch: timestamp now + 1
        service.create_transfers(
            session,
            [
                NewTransfer(10, 1, 2, 100, 1, 1),
                NewTransfer(11, 2, 3, 60, 1, 1, TransferFlags.PENDING),
            ],
            clock,
        )
    with database.write() as session:  # event 0 of a new batch at the same instant: now + 0
        service.create_transfers(
            session,
            [NewTransfer(12, 0, 0, 50, 0, 0, TransferFlags.POST_PENDING_TRANSFER, 11)],
            clock,
        )
    assert _sealed_and_verified(database) == (True, ())


def test_post_and_expiry_after_the_clock_steps_back(database: Database) -> None:
    late = SimulatedClock(start_ns=2_000_000_000 * NS_PER_S)
    early = SimulatedClock(start_ns=1_000_000_000 * NS_PER_S)
    _setup(database, late)
    with database.write() as session:
        service.create_transfers(
            session,
            [
                NewTransfer(10, 1, 2, 100, 1, 1),
                NewTransfer(11, 2, 3, 30, 1, 1, TransferFlags.PENDING),
                NewTransfer(12, 2, 3, 30, 1, 1, TransferFlags.PENDING, timeout_s=1),
            ],
            late,
        )
    with database.write() as session:
        service.create_transfers(
            session,
            [NewTransfer(13, 0, 0, 0, 0, 0, TransferFlags.VOID_PENDING_TRANSFER, 11)],
            early,
        )
    late.advance(5)
    with database.write() as session:
        assert service.expire_pending_transfers(session, late) == 1
    assert _sealed_and_verified(database) == (True, ())

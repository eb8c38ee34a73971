"""PostgreSQL's functions for large batches, racing another transaction; and id lookups.

A batch larger than `SMALL_BATCH_MAX` takes one of two paths. A batch of plain transfers goes
first to `ledger_create_plain_transfers`, whose one `UPDATE` checks each account as it locks it
and hands the batch on, untouched, when one fails. Any other batch (and one handed on) runs in
`ledger_create_transfers` once on accounts read without locks and writes its transfers, then
locks the accounts and reads them again. When another transaction moved a counter in between,
the first run's outcomes stand only if no rule it ran read a counter (the counters then move by
what it moved them); otherwise the batch runs again, which decides, and the first run's rows are
replaced. The races run on both paths (`chained`: a linked pair among the padding makes the batch
not plain). The tests make the race happen for certain: they hold ISSUER's lock (the first the
batch takes) while the batch starts, make a competing transfer, and commit only once the batch
waits for the lock.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
import sqlalchemy as sa

from ccx.clock import SimulatedClock
from ccx.db import Database, Dialect
from ccx.ledger import procedure, queries, service
from ccx.ledger.types import (
    AMOUNT_MAX,
    AccountFlags,
    CreateTransferResult,
    NewAccount,
    NewTransfer,
    TransferFlags,
    TransferOutcome,
)
from ccx.ledger.verify import verify_ledger

pytestmark = pytest.mark.postgres_only

R = CreateTransferResult
LEDGER = 1
ISSUER, SPENDER, SINK, PLAIN = 1, 2, 3, 4
FUNDING = 100
BATCH_SIZE = procedure.SMALL_BATCH_MAX + 4
WAIT_S = 20.0


@pytest.fixture
def pg(backend: str, request: pytest.FixtureRequest, clock: SimulatedClock) -> Database:
    if backend != Dialect.POSTGRESQL:
        pytest.skip("the function exists only on PostgreSQL")
    database: Database = request.getfixturevalue("database")
    with database.write() as session:
        service.create_ledger(session, ledger_id=LEDGER, name="passes", asset_scale=6, clock=clock)
        service.create_accounts(
            session,
            [
                NewAccount(ISSUER, LEDGER, 1),
                NewAccount(SPENDER, LEDGER, 2, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
                NewAccount(SINK, LEDGER, 3),
                NewAccount(PLAIN, LEDGER, 4),  # no limit: may go below zero
            ],
            clock,
        )
        funding = [
            NewTransfer(10, ISSUER, SPENDER, FUNDING, LEDGER, 1),
            NewTransfer(12, ISSUER, PLAIN, FUNDING, LEDGER, 1),
        ]
        service.create_transfers(session, funding, clock)
    return database


@pytest.fixture(params=[False, True], ids=["plain", "chained"])
def chained(request: pytest.FixtureRequest) -> bool:
    """Whether the padding ends in a linked pair (so the batch takes the two-pass path)."""
    return bool(request.param)


def _waiting_on_a_lock(database: Database) -> bool:
    with database.read() as session:
        waiting = session.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


def _compete_while_the_batch_waits(
    database: Database, clock: SimulatedClock, batch: list[NewTransfer], competitor: NewTransfer
) -> list[TransferOutcome]:
    """Lock ISSUER, start `batch` in a thread, make `competitor`, then let the batch go."""
    assert any(ISSUER in (t.debit_account_id, t.credit_account_id) for t in batch)
    answers: list[list[TransferOutcome]] = []
    with database.write() as session:
        session.execute(sa.text(f"SELECT 1 FROM accounts WHERE id = {ISSUER} FOR UPDATE"))
        worker = threading.Thread(
            target=lambda: answers.append(
                database.run_statement_write(
                    lambda connection: service.create_transfers(connection, batch, clock)
                )
            )
        )
        worker.start()
        deadline = time.monotonic() + WAIT_S
        while not _waiting_on_a_lock(database):
            assert time.monotonic() < deadline, "the batch never waited for the account lock"
            time.sleep(0.02)
        (made,) = service.create_transfers(session, [competitor], clock)
        assert made.result is R.OK
    worker.join(WAIT_S)
    assert answers, "the batch did not finish"
    return answers[0]


def test_the_locked_pass_decides_when_a_balance_changed_meanwhile(
    pg: Database, clock: SimulatedClock, chained: bool
) -> None:
    # Event 0 spends SPENDER's whole credit: fine on the unlocked read, refused on the locked one.
    batch = [NewTransfer(100, SPENDER, SINK, FUNDING, LEDGER, 1)]
    batch += _padding(BATCH_SIZE - 1, chained=chained)
    spend = NewTransfer(11, SPENDER, SINK, FUNDING, LEDGER, 1)
    outcomes = _compete_while_the_batch_waits(pg, clock, batch, spend)
    assert [o.result for o in outcomes] == [R.EXCEEDS_CREDITS] + [R.OK] * (BATCH_SIZE - 1)
    with pg.read() as session:
        assert queries.get_transfer(session, 100) is None
        spender = queries.get_account(session, SPENDER)
        sink = queries.get_account(session, SINK)
        journal = session.scalar(sa.text("SELECT count(*) FROM journal_entries"))
        failed = session.scalar(sa.text("SELECT result FROM failed_transfers WHERE id = 100"))
    assert spender is not None
    assert sink is not None
    assert (spender.debits_posted, spender.credits_posted) == (FUNDING, FUNDING)
    assert sink.credits_posted == FUNDING + _padded(BATCH_SIZE - 1)
    assert journal == 3 + BATCH_SIZE - 1  # funding, the competing spend, the batch's made ones
    assert failed == R.EXCEEDS_CREDITS.value
    _assert_verified(pg)


def test_the_first_run_stands_when_only_counters_moved_meanwhile(
    pg: Database, clock: SimulatedClock, chained: bool
) -> None:
    # No rule of this batch reads a counter: the competitor's spend changes no outcome, and each
    # counter ends as what the competitor left plus what the batch moved.
    batch = [
        NewTransfer(100, PLAIN, SINK, 30, LEDGER, 1),
        *_padding(BATCH_SIZE - 1, chained=chained),
    ]
    spend = NewTransfer(11, PLAIN, SINK, 50, LEDGER, 1)
    outcomes = _compete_while_the_batch_waits(pg, clock, batch, spend)
    assert {o.result for o in outcomes} == {R.OK}
    with pg.read() as session:
        plain = queries.get_account(session, PLAIN)
        sink = queries.get_account(session, SINK)
        issuer = queries.get_account(session, ISSUER)
    assert plain is not None
    assert sink is not None
    assert issuer is not None
    assert (plain.debits_posted, plain.credits_posted) == (80, FUNDING)
    assert sink.credits_posted == 30 + 50 + _padded(BATCH_SIZE - 1)
    assert issuer.debits_posted == 2 * FUNDING + _padded(BATCH_SIZE - 1)
    _assert_verified(pg)


def test_a_balancing_event_runs_again_when_its_account_moved_meanwhile(
    pg: Database, clock: SimulatedClock
) -> None:
    # Balancing reads PLAIN's counters: the transfer takes what is left after the competitor.
    balancing = NewTransfer(100, PLAIN, SINK, 1_000, LEDGER, 1, TransferFlags.BALANCING_DEBIT)
    spend = NewTransfer(11, PLAIN, SINK, 60, LEDGER, 1)
    outcomes = _compete_while_the_batch_waits(
        pg, clock, [balancing, *_padding(BATCH_SIZE - 1)], spend
    )
    assert {o.result for o in outcomes} == {R.OK}
    with pg.read() as session:
        made = queries.get_transfer(session, 100)
        plain = queries.get_account(session, PLAIN)
    assert made is not None
    assert plain is not None
    assert made.amount == FUNDING - 60
    assert plain.debits_posted == plain.credits_posted == FUNDING
    _assert_verified(pg)


def test_an_event_that_now_overflows_runs_again(
    pg: Database, clock: SimulatedClock, chained: bool
) -> None:
    # SINK's credits are one short of the most a counter holds; on the unlocked read the batch's
    # first event fills them, but the competitor takes that last unit first.
    big = 5
    with pg.write() as session:
        service.create_accounts(session, [NewAccount(big, LEDGER, 5)], clock)
        fill = NewTransfer(13, big, SINK, AMOUNT_MAX - 1, LEDGER, 1)
        assert service.create_transfers(session, [fill], clock)[0].result is R.OK
    batch = [
        NewTransfer(100, PLAIN, SINK, 1, LEDGER, 1),
        *_padding(BATCH_SIZE - 1, amount=0, chained=chained),
    ]
    nudge = NewTransfer(11, ISSUER, SINK, 1, LEDGER, 1)
    outcomes = _compete_while_the_batch_waits(pg, clock, batch, nudge)
    assert [o.result for o in outcomes] == [R.OVERFLOWS_CREDITS] + [R.OK] * (BATCH_SIZE - 1)
    with pg.read() as session:
        sink = queries.get_account(session, SINK)
    assert sink is not None
    assert sink.credits_posted == AMOUNT_MAX
    _assert_verified(pg)


def test_an_account_closed_meanwhile_refuses_the_batch_and_nothing_else_moves(
    pg: Database, clock: SimulatedClock, chained: bool
) -> None:
    # The competitor closes SINK: pass 1's counter moves cannot stand, the ones already made are
    # undone, and the locked run refuses every event.
    batch = [
        NewTransfer(100, PLAIN, SINK, 30, LEDGER, 1),
        *_padding(BATCH_SIZE - 1, chained=chained),
    ]
    closing = NewTransfer(
        11, PLAIN, SINK, 1, LEDGER, 1, TransferFlags.PENDING | TransferFlags.CLOSING_CREDIT
    )
    outcomes = _compete_while_the_batch_waits(pg, clock, batch, closing)
    closed = [R.CREDIT_ACCOUNT_ALREADY_CLOSED] * BATCH_SIZE
    if chained:  # the pair's first event fails, and so the second
        closed[-1] = R.LINKED_EVENT_FAILED
    assert [o.result for o in outcomes] == closed
    with pg.read() as session:
        issuer = queries.get_account(session, ISSUER)
        plain = queries.get_account(session, PLAIN)
    assert issuer is not None
    assert plain is not None
    assert (issuer.debits_posted, issuer.debits_pending) == (2 * FUNDING, 0)
    assert (plain.debits_posted, plain.debits_pending) == (0, 1)
    _assert_verified(pg)


def test_a_post_finds_the_hold_made_by_the_later_of_two_events_with_its_id(
    pg: Database, clock: SimulatedClock
) -> None:
    # A large batch: the id 200 is refused once (same account twice), then made as a hold; the
    # post must find that hold, the last earlier event with the id, not the first.
    padding = _padding(BATCH_SIZE, first_id=300, amount=1)
    batch = [
        NewTransfer(200, ISSUER, ISSUER, 5, LEDGER, 1, TransferFlags.PENDING),
        NewTransfer(200, ISSUER, SINK, 5, LEDGER, 1, TransferFlags.PENDING),
        NewTransfer(201, 0, 0, AMOUNT_MAX, 0, 0, TransferFlags.POST_PENDING_TRANSFER, 200),
        *padding,
    ]
    with pg.write() as session:
        outcomes = service.create_transfers(session, batch, clock)
    assert [o.result for o in outcomes[:3]] == [R.ACCOUNTS_MUST_BE_DIFFERENT, R.OK, R.OK]
    assert {o.result for o in outcomes[3:]} == {R.OK}


def _padding(
    count: int, first_id: int = 101, amount: int | None = None, *, chained: bool = False
) -> list[NewTransfer]:
    """`count` transfers from ISSUER to SINK: 1, 2, 3 ... (or each `amount`); with `chained`,
    the last two are a linked pair."""
    padding = [
        NewTransfer(first_id + i, ISSUER, SINK, 1 + i if amount is None else amount, LEDGER, 1)
        for i in range(count)
    ]
    if chained:
        padding[-2] = dataclasses.replace(padding[-2], flags=TransferFlags.LINKED)
    return padding


def _padded(count: int) -> int:
    """What `_padding(count)` moves."""
    return sum(1 + i for i in range(count))


def _assert_verified(database: Database) -> None:
    with database.write() as session:
        service.seal_journal(session, wait=True)
    with database.read() as session:
        report = verify_ledger(session)
    assert report.ok, report.problems

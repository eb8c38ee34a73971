"""PostgreSQL's `ledger_create_transfers`: a large batch's two passes, and its id lookups.

A batch larger than `SMALL_BATCH_MAX` runs once on accounts read without locks and writes its
transfers, then locks the accounts, reads them again and runs again. When another transaction
changed a balance in between, the second run decides and the first run's rows are replaced.
The test makes that happen for certain: it holds an account's lock while the batch starts, spends
the account's credit, and commits only once the batch waits for the lock.
"""

from __future__ import annotations

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
ISSUER, SPENDER, SINK = 1, 2, 3
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
            ],
            clock,
        )
        service.create_transfers(
            session, [NewTransfer(10, ISSUER, SPENDER, FUNDING, LEDGER, 1)], clock
        )
    return database


def _waiting_on_a_lock(database: Database) -> bool:
    with database.read() as session:
        waiting = session.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


def _spend_while_the_batch_waits(
    database: Database, clock: SimulatedClock, batch: list[NewTransfer]
) -> list[TransferOutcome]:
    """Lock SPENDER, start `batch` in a thread, spend SPENDER's credit, then let the batch go."""
    answers: list[list[TransferOutcome]] = []
    with database.write() as session:
        session.execute(sa.text(f"SELECT 1 FROM accounts WHERE id = {SPENDER} FOR UPDATE"))
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
        service.create_transfers(
            session, [NewTransfer(11, SPENDER, SINK, FUNDING, LEDGER, 1)], clock
        )
    worker.join(WAIT_S)
    assert answers, "the batch did not finish"
    return answers[0]


def test_the_locked_pass_decides_when_a_balance_changed_meanwhile(
    pg: Database, clock: SimulatedClock
) -> None:
    # Event 0 spends SPENDER's whole credit: fine on the unlocked read, refused on the locked one.
    batch = [NewTransfer(100, SPENDER, SINK, FUNDING, LEDGER, 1)]
    batch += [NewTransfer(101 + i, ISSUER, SINK, 1 + i, LEDGER, 1) for i in range(BATCH_SIZE - 1)]
    outcomes = _spend_while_the_batch_waits(pg, clock, batch)
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
    assert sink.credits_posted == FUNDING + sum(1 + i for i in range(BATCH_SIZE - 1))
    assert journal == 2 + BATCH_SIZE - 1  # funding, the competing spend, the batch's made ones
    assert failed == R.EXCEEDS_CREDITS.value
    with pg.write() as session:
        service.seal_journal(session, wait=True)
    with pg.read() as session:
        report = verify_ledger(session)
    assert report.ok, report.problems


def test_a_post_finds_the_hold_made_by_the_later_of_two_events_with_its_id(
    pg: Database, clock: SimulatedClock
) -> None:
    # A large batch: the id 200 is refused once (same account twice), then made as a hold; the
    # post must find that hold, the last earlier event with the id, not the first.
    padding = [NewTransfer(300 + i, ISSUER, SINK, 1, LEDGER, 1) for i in range(BATCH_SIZE)]
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

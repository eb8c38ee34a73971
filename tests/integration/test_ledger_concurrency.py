"""Concurrent writers on PostgreSQL: account locks keep limits, holds resolve once, ids apply once.

SQLite serialises every writer (`BEGIN IMMEDIATE`), so these races only exist on PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from ccx.clock import SimulatedClock
from ccx.db import Database, Dialect
from ccx.ledger import procedure, queries, service
from ccx.ledger.types import (
    Account,
    AccountFlags,
    CreateTransferResult,
    NewAccount,
    NewTransfer,
    PendingStatus,
    TransferFlags,
)
from ccx.ledger.verify import verify_ledger

pytestmark = pytest.mark.postgres_only

T = TypeVar("T")
R = CreateTransferResult
F = TransferFlags
LEDGER = 1
ISSUER = 1
SINK = 2
LIMITED = [11, 12, 13, 14]
FUNDING = 1_000
THREADS = 16


@pytest.fixture
def pg(backend: str, request: pytest.FixtureRequest) -> Database:
    if backend != Dialect.POSTGRESQL:
        pytest.skip("concurrent writers race only on PostgreSQL")
    database: Database = request.getfixturevalue("database")
    return database


@pytest.fixture
def funded(pg: Database, clock: SimulatedClock) -> Database:
    """An issuer, a sink, and four accounts that may not overdraw, holding FUNDING each."""
    with pg.write() as session:
        service.create_ledger(session, ledger_id=LEDGER, name="race", asset_scale=6, clock=clock)
        service.create_accounts(
            session,
            [
                NewAccount(ISSUER, LEDGER, 1),
                NewAccount(SINK, LEDGER, 2),
                *(
                    NewAccount(i, LEDGER, 3, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
                    for i in LIMITED
                ),
            ],
            clock,
        )
        outcomes = service.create_transfers(
            session,
            [NewTransfer(100 + i, ISSUER, i, FUNDING, LEDGER, 1) for i in LIMITED],
            clock,
        )
    assert {o.result for o in outcomes} == {R.OK}
    return pg


def race(count: int, action: Callable[[int], T]) -> list[T]:
    """Run action(0..count-1) on THREADS threads, all released at the same moment."""
    barrier = threading.Barrier(min(count, THREADS))

    def start(index: int) -> T:
        if index < THREADS:
            barrier.wait()
        return action(index)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(start, range(count)))


def seal_and_verify(database: Database, clock: SimulatedClock) -> None:
    with database.write() as session:
        checkpoint = service.record_checkpoint(session, clock)
    assert checkpoint.entries_unsealed == 0
    with database.read() as session:
        report = verify_ledger(
            session,
            expect_sequence=checkpoint.sequence,
            expect_head_hex=checkpoint.head_hash_hex,
        )
    assert report.ok, report.problems


def assert_acknowledged_took_effect(
    database: Database,
    batches: list[list[NewTransfer]],
    results: list[list[R]],
    before: dict[int, tuple[int, int]],
) -> dict[int, Account]:
    """Each account's posted (debits, credits) are `before` plus its acknowledged transfers, and
    nothing is pending; returns the ledger's accounts."""
    expected = {account_id: list(posted) for account_id, posted in before.items()}
    for batch, outcome in zip(batches, results, strict=True):
        for transfer, result in zip(batch, outcome, strict=True):
            if result is R.OK:
                expected[transfer.debit_account_id][0] += transfer.amount
                expected[transfer.credit_account_id][1] += transfer.amount
    with database.read() as session:
        accounts = {a.id: a for a in queries.list_accounts(session, limit=100, ledger=LEDGER)}
    for account_id, (debits, credits) in expected.items():
        account = accounts[account_id]
        assert (account.debits_posted, account.credits_posted) == (debits, credits), account_id
        assert account.debits_pending == account.credits_pending == 0
    return accounts


def test_racing_overdrafts_keep_every_limit_and_every_acknowledged_transfer(
    funded: Database, clock: SimulatedClock
) -> None:
    rng = random.Random(7)
    # Each batch moves money between limited accounts or out to the sink; most overdraw sooner
    # or later. Batches of two touch up to four accounts, locked in sorted order.
    batches = []
    next_id = 1_000
    for _ in range(THREADS * 25):
        batch = []
        for _ in range(rng.choice([1, 1, 2])):
            debit = rng.choice(LIMITED)
            credit = rng.choice([SINK, *(a for a in LIMITED if a != debit)])
            batch.append(NewTransfer(next_id, debit, credit, rng.randint(1, 300), LEDGER, 1))
            next_id += 1
        batches.append(batch)

    def submit(index: int) -> list[R]:
        batch = batches[index]
        outcomes = funded.run_write(lambda s: service.create_transfers(s, batch, clock))
        return [o.result for o in outcomes]

    results = race(len(batches), submit)

    counts = Counter(r for batch in results for r in batch)
    assert counts[R.OK] > 0
    assert counts[R.EXCEEDS_CREDITS] > 0
    assert set(counts) <= {R.OK, R.EXCEEDS_CREDITS}
    # Every acknowledged transfer took effect and nothing else did.
    before = dict.fromkeys(LIMITED, (0, FUNDING)) | {SINK: (0, 0)}
    accounts = assert_acknowledged_took_effect(funded, batches, results, before)
    for account_id in LIMITED:
        assert accounts[account_id].balance_posted >= 0
    assert sum(a.debits_posted for a in accounts.values()) == sum(
        a.credits_posted for a in accounts.values()
    )
    # Money is conserved: what the issuer issued is all somewhere.
    held = sum(accounts[a].balance_posted for a in [*LIMITED, SINK])
    assert held == -accounts[ISSUER].balance_posted == FUNDING * len(LIMITED)
    seal_and_verify(funded, clock)


def test_racing_large_batches_count_every_acknowledged_transfer_once(
    funded: Database, clock: SimulatedClock
) -> None:
    # Batches larger than the function's one-row path. Half move money only between accounts
    # without limits, half also spend from limited accounts. Half of each end in a linked pair,
    # so they are not plain: their counters are moved in one checked UPDATE after an unlocked
    # run, or they run again under the locks whenever a counter they read moved. The others take
    # the set-based path for plain batches (handed on when a limited account falls short). They
    # share the issuer and the sink, so every batch races every other one.
    rng = random.Random(11)
    size = procedure.SMALL_BATCH_MAX + 8
    batches, next_id = [], 100_000
    for index in range(THREADS * 3):
        batch, sources = [], [ISSUER, *LIMITED] if index % 2 else [ISSUER, SINK]
        for _ in range(size):
            debit = rng.choice(sources)
            credit = SINK if debit != SINK else ISSUER
            batch.append(NewTransfer(next_id, debit, credit, rng.randint(1, 60), LEDGER, 1))
            next_id += 1
        if index % 4 >= 2:
            batch[-2] = dataclasses.replace(batch[-2], flags=F.LINKED)
        batches.append(batch)

    def submit(index: int) -> list[R]:
        batch = batches[index]
        outcomes = funded.run_statement_write(
            lambda connection: service.create_transfers(connection, batch, clock)
        )
        return [o.result for o in outcomes]

    results = race(len(batches), submit)

    counts = Counter(r for batch in results for r in batch)
    assert counts[R.EXCEEDS_CREDITS] > 0
    assert set(counts) <= {R.OK, R.EXCEEDS_CREDITS, R.LINKED_EVENT_FAILED}
    before = dict.fromkeys(LIMITED, (0, FUNDING)) | {SINK: (0, 0), ISSUER: (FUNDING * 4, 0)}
    accounts = assert_acknowledged_took_effect(funded, batches, results, before)
    for account_id in LIMITED:
        assert accounts[account_id].balance_posted >= 0
    seal_and_verify(funded, clock)


@pytest.mark.parametrize("rounds", [6])
def test_racing_posts_and_voids_resolve_a_hold_once(
    funded: Database, clock: SimulatedClock, rounds: int
) -> None:
    for round_number in range(rounds):
        hold_id = 10_000 + round_number
        with funded.write() as session:
            outcomes = service.create_transfers(
                session,
                [NewTransfer(hold_id, LIMITED[0], SINK, 100, LEDGER, 1, F.PENDING, timeout_s=60)],
                clock,
            )
        assert [o.result for o in outcomes] == [R.OK]

        def resolve(index: int, hold_id: int = hold_id) -> R:
            post = index % 2 == 0
            resolution = NewTransfer(
                id=hold_id * 100 + index,
                debit_account_id=0,
                credit_account_id=0,
                amount=40 if post else 0,
                ledger=0,
                code=0,
                flags=F.POST_PENDING_TRANSFER if post else F.VOID_PENDING_TRANSFER,
                pending_id=hold_id,
            )
            outcomes = funded.run_write(lambda s: service.create_transfers(s, [resolution], clock))
            return outcomes[0].result

        results = race(THREADS, resolve)
        winners = [i for i, r in enumerate(results) if r is R.OK]
        assert len(winners) == 1
        posted = winners[0] % 2 == 0
        loser = R.PENDING_TRANSFER_ALREADY_POSTED if posted else R.PENDING_TRANSFER_ALREADY_VOIDED
        assert Counter(results) == {R.OK: 1, loser: THREADS - 1}
        with funded.read() as session:
            state = queries.get_pending_state(session, hold_id)
            assert state is not None
            assert state.status is (PendingStatus.POSTED if posted else PendingStatus.VOIDED)
            account = queries.get_account(session, LIMITED[0])
            assert account is not None
            assert account.debits_pending == 0
    seal_and_verify(funded, clock)


@pytest.mark.parametrize(
    ("transfer", "first", "rest"),
    [
        (NewTransfer(50_000, LIMITED[0], SINK, 70, LEDGER, 1), R.OK, R.EXISTS),
        (
            NewTransfer(50_000, LIMITED[0], SINK, 70, LEDGER, 1, F.PENDING, timeout_s=60),
            R.OK,
            R.EXISTS,
        ),
        (
            NewTransfer(50_000, LIMITED[0], SINK, FUNDING + 1, LEDGER, 1),
            R.EXCEEDS_CREDITS,
            R.ID_ALREADY_FAILED,
        ),
        (
            NewTransfer(50_000, 999, SINK, 1, LEDGER, 1),
            R.DEBIT_ACCOUNT_NOT_FOUND,
            R.ID_ALREADY_FAILED,
        ),
    ],
    ids=["plain", "pending", "overdraw", "missing-account"],
)
def test_the_same_id_submitted_concurrently_takes_effect_once(
    funded: Database, clock: SimulatedClock, transfer: NewTransfer, first: R, rest: R
) -> None:
    def submit(_: int) -> R:
        outcomes = funded.run_write(lambda s: service.create_transfers(s, [transfer], clock))
        return outcomes[0].result

    results = race(THREADS * 2, submit)
    assert Counter(results) == {first: 1, rest: THREADS * 2 - 1}
    with funded.read() as session:
        account = queries.get_account(session, LIMITED[0])
        assert account is not None
        applied = transfer.amount if first is R.OK else 0
        pending = bool(transfer.flags & F.PENDING)
        assert account.debits_posted == (0 if pending else applied)
        assert account.debits_pending == (applied if pending else 0)
        stored = queries.get_transfer(session, transfer.id)
        assert (stored is not None) == (first is R.OK)
    seal_and_verify(funded, clock)

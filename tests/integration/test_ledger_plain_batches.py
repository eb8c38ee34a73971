"""PostgreSQL's `ledger_create_plain_transfers`: a batch of plain transfers decided set-based.

The function decides a batch only when no event can fail on the ledger's state (ids new,
accounts present, open, of the events' ledger, with room and within their limits before the
batch's own credits count); otherwise it must leave no trace (no rows, no counter moved, no lock
held) so that `ledger_create_transfers` decides in the same transaction. Each case below makes
exactly one of those conditions fail, calls the function directly, then checks what
`service.create_transfers` answers end to end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

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
)
from ccx.ledger.verify import verify_ledger

pytestmark = pytest.mark.postgres_only

R = CreateTransferResult
LEDGER, OTHER_LEDGER = 1, 2
ISSUER, SPENDER, SINK, ELSEWHERE, CLOSED, FILLER, FULL = 1, 2, 3, 4, 5, 6, 7
ACCOUNTS = (ISSUER, SPENDER, SINK, ELSEWHERE, CLOSED, FILLER, FULL)
FUNDING = 100
FAILED_ID = 50
SIZE = procedure.SMALL_BATCH_MAX + 4
CALL = (
    "SELECT r_decided, r_index, r_result FROM ledger_create_plain_transfers("
    "%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


@pytest.fixture
def pg(backend: str, request: pytest.FixtureRequest, clock: SimulatedClock) -> Database:
    if backend != Dialect.POSTGRESQL:
        pytest.skip("the function exists only on PostgreSQL")
    database: Database = request.getfixturevalue("database")
    with database.write() as session:
        for ledger_id in (LEDGER, OTHER_LEDGER):
            service.create_ledger(
                session, ledger_id=ledger_id, name=f"l{ledger_id}", asset_scale=6, clock=clock
            )
        spender = NewAccount(SPENDER, LEDGER, 1, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
        accounts = [NewAccount(i, LEDGER, 1) for i in ACCOUNTS if i not in (SPENDER, ELSEWHERE)]
        accounts += [spender, NewAccount(ELSEWHERE, OTHER_LEDGER, 1)]
        service.create_accounts(session, accounts, clock)
        closing = TransferFlags.PENDING | TransferFlags.CLOSING_CREDIT
        set_up = [
            NewTransfer(10, ISSUER, SPENDER, FUNDING, LEDGER, 1),
            NewTransfer(11, ISSUER, CLOSED, 0, LEDGER, 1, closing),
            NewTransfer(12, FILLER, FULL, AMOUNT_MAX - 1, LEDGER, 1),
            NewTransfer(FAILED_ID, SPENDER, SINK, FUNDING + 1, LEDGER, 1),  # remembered failure
        ]
        outcomes = service.create_transfers(session, set_up, clock)
    assert [o.result for o in outcomes] == [R.OK, R.OK, R.OK, R.EXCEEDS_CREDITS]
    return database


def _sound(count: int = SIZE) -> list[NewTransfer]:
    """`count` plain transfers from ISSUER to SINK (ids 1000 on, amounts 1, 2, 3 ...)."""
    return [NewTransfer(1_000 + i, ISSUER, SINK, 1 + i, LEDGER, 1) for i in range(count)]


def _call(connection: sa.Connection, batch: Sequence[NewTransfer], now_ns: int) -> Any:
    columns: list[Any] = [
        [getattr(t, f.name) for t in batch]
        for f in dataclasses.fields(NewTransfer)
        if f.name not in ("flags", "pending_id", "timeout_s")
    ]
    cursor = connection.connection.cursor()
    cursor.execute(CALL, (*columns, now_ns))
    return cursor.fetchone()


def _ledger_state(connection: sa.Connection) -> tuple[Any, ...]:
    counters = connection.execute(
        sa.text(
            "SELECT id, flags, debits_pending, debits_posted, credits_pending, credits_posted"
            " FROM accounts ORDER BY id"
        )
    ).all()
    rows = [
        connection.scalar(sa.text(f"SELECT count(*) FROM {table}"))
        for table in ("transfers", "journal_entries", "failed_transfers", "pending_transfers")
    ]
    return tuple(counters), tuple(rows)


def _no_account_locked(database: Database) -> bool:
    """Whether another transaction can lock every account at once without waiting."""
    with database.write() as session:
        locked = session.execute(
            sa.text("SELECT id FROM accounts ORDER BY id FOR UPDATE SKIP LOCKED")
        ).all()
    return len(locked) == len(ACCOUNTS)


def test_a_batch_no_event_of_which_can_fail_on_state_is_decided_in_one_call(
    pg: Database, clock: SimulatedClock
) -> None:
    batch = _sound()
    batch[3] = dataclasses.replace(batch[3], credit_account_id=ISSUER)
    batch[7] = dataclasses.replace(batch[7], code=0)
    batch[9] = dataclasses.replace(batch[9], id=0, debit_account_id=0)
    batch[11] = NewTransfer(1_011, SPENDER, SINK, FUNDING, LEDGER, 1)  # all SPENDER has
    refused = {
        3: R.ACCOUNTS_MUST_BE_DIFFERENT,
        7: R.CODE_MUST_NOT_BE_ZERO,
        9: R.ID_MUST_NOT_BE_ZERO,  # the first rule that fails answers
    }
    with pg.write() as session:
        connection = session.connection()
        before, _ = _ledger_state(connection)
        decided, indexes, results = _call(connection, batch, clock.now_ns())
        after, rows = _ledger_state(connection)
    assert decided
    assert dict(zip(indexes, results, strict=True)) == {i: r.value for i, r in refused.items()}
    made = [t for i, t in enumerate(batch) if i not in refused]
    assert rows[:2] == (4 - 1 + len(made), 4 - 1 + len(made))  # transfers, journal entries
    moved = {ISSUER: 0, SPENDER: 0, SINK: 0}
    for transfer in made:
        moved[transfer.debit_account_id] -= transfer.amount
        moved[transfer.credit_account_id] += transfer.amount
    for old, new in zip(before, after, strict=True):
        balance_change = (new[5] - new[3]) - (old[5] - old[3])
        assert balance_change == moved.get(old[0], 0)
    with pg.read() as session:
        stored = queries.get_transfer(session, 1_011)
    assert stored is not None
    assert stored.timestamp_ns > 0
    _assert_verified(pg)


CASES: dict[str, tuple[list[NewTransfer], dict[int, R]]] = {
    "an id repeats in the batch": (
        [NewTransfer(1_000, ISSUER, SINK, 99, LEDGER, 1)],
        {SIZE: R.EXISTS_WITH_DIFFERENT_FIELDS},
    ),
    "an id is stored": ([NewTransfer(10, ISSUER, SPENDER, FUNDING, LEDGER, 1)], {SIZE: R.EXISTS}),
    "an id is stored, on an event refused without state": (
        [NewTransfer(10, ISSUER, SPENDER, FUNDING, LEDGER, 0)],
        {SIZE: R.EXISTS_WITH_DIFFERENT_FIELDS},
    ),
    "an id failed before": (
        [NewTransfer(FAILED_ID, ISSUER, SINK, 1, LEDGER, 1)],
        {SIZE: R.ID_ALREADY_FAILED},
    ),
    "an account is missing": (
        [NewTransfer(2_000, ISSUER, 99, 1, LEDGER, 1)],
        {SIZE: R.CREDIT_ACCOUNT_NOT_FOUND},
    ),
    "an account is closed": (
        [NewTransfer(2_000, ISSUER, CLOSED, 1, LEDGER, 1)],
        {SIZE: R.CREDIT_ACCOUNT_ALREADY_CLOSED},
    ),
    "the accounts' ledgers differ": (
        [NewTransfer(2_000, ISSUER, ELSEWHERE, 1, LEDGER, 1)],
        {SIZE: R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER},
    ),
    "a transfer's ledger is not its accounts'": (
        [NewTransfer(2_000, ISSUER, SINK, 1, OTHER_LEDGER, 1)],
        {SIZE: R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS},
    ),
    "a counter would overflow": (
        [
            NewTransfer(2_000, ISSUER, FULL, 1, LEDGER, 1),
            NewTransfer(2_001, ISSUER, FULL, 1, LEDGER, 1),
        ],
        {SIZE + 1: R.OVERFLOWS_CREDITS},
    ),
    "a limit is exceeded": (
        [NewTransfer(2_000, SPENDER, SINK, FUNDING + 1, LEDGER, 1)],
        {SIZE: R.EXCEEDS_CREDITS},
    ),
    "a limit holds only thanks to the batch's own credits": (
        [
            NewTransfer(2_000, ISSUER, SPENDER, 50, LEDGER, 1),
            NewTransfer(2_001, SPENDER, SINK, FUNDING + 50, LEDGER, 1),
        ],
        {},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_batch_that_may_fail_on_state_is_left_to_the_general_function_untouched(
    pg: Database, clock: SimulatedClock, case: str
) -> None:
    extra, refused = CASES[case]
    batch = [*_sound(), *extra]
    with pg.write() as session:
        connection = session.connection()
        before = _ledger_state(connection)
        decided, _, _ = _call(connection, batch, clock.now_ns())
        assert not decided
        assert _ledger_state(connection) == before
        assert _no_account_locked(pg)
        session.rollback()
    with pg.write() as session:
        outcomes = service.create_transfers(session, batch, clock)
    assert {o.index: o.result for o in outcomes if o.result is not R.OK} == refused
    _assert_verified(pg)


def _assert_verified(database: Database) -> None:
    with database.write() as session:
        service.seal_journal(session, wait=True)
    with database.read() as session:
        report = verify_ledger(session)
    assert report.ok, report.problems

"""`create_transfers` on PostgreSQL: the whole batch in one call to `ledger_create_transfers`.

The function (migration 0010) applies the same rules as `core.apply_transfers`, in the same
order, inside the server: it locks the accounts in id order, runs the events, and writes the
transfers, journal entries, hold states, remembered failures and counters, so a batch costs one
round trip. A batch of one plain transfer (no flags, hold or timeout: the commonest call) goes to
`ledger_create_transfer` instead, which applies the rules such a transfer meets in a few
statements. A batch of two or more plain transfers goes first to `ledger_create_plain_transfers`
(migration 0011), which decides it in a few set-based statements when no event can fail on the
ledger's state, and otherwise changes nothing and leaves it to `ledger_create_transfers`, in the
same transaction. `core` stays the reference: SQLite runs it, and tests run the same batches on
both backends and require the same outcomes and rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import sqlalchemy as sa
from psycopg.types.numeric import Int4, Int8

from ccx.ledger.types import CreateTransferResult, NewTransfer, TransferOutcome

SMALL_BATCH_MAX = 16
"""Batches up to this size run on one-row statements (each costs less than a set-based one)."""

_CALL = (
    "SELECT r_index, r_result FROM ledger_create_transfers("
    "%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::integer[], %s::integer[],"
    " %s::integer[], %s::bigint[], %s::bigint[], %s::bigint[], %s::integer[], %s::bigint,"
    " %s::integer)"
)
_CALL_PLAIN = (
    "SELECT r_decided, r_index, r_result FROM ledger_create_plain_transfers("
    "%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::integer[], %s::integer[],"
    " %s::bigint[], %s::integer[], %s::bigint)"
)
_FIELDS = tuple(field.name for field in dataclasses.fields(NewTransfer))
"""The arguments of `ledger_create_transfers`, in order (then the time and `SMALL_BATCH_MAX`)."""
_PLAIN_FIELDS = tuple(f for f in _FIELDS if f not in ("flags", "pending_id", "timeout_s"))
"""The arguments of `ledger_create_plain_transfers`, in order (then the time)."""
_CALL_ONE = "SELECT ledger_create_transfer(%s, %s, %s, %s, %s, %s, %s, %s, %s)"


def create_transfers(
    connection: sa.Connection, transfers: Sequence[NewTransfer], now_ns: int
) -> list[TransferOutcome]:
    """Apply `transfers` in the caller's transaction; event i gets timestamp now_ns + i."""
    if not transfers:
        return []
    # plain: no flags, no hold, no timeout
    plain = not any(t.flags or t.pending_id or t.timeout_s for t in transfers)
    if plain and len(transfers) == 1:
        return [_create_plain_transfer(connection, transfers[0], now_ns)]
    if plain and len(transfers) > 1:
        arguments = (*_arrays(transfers, _PLAIN_FIELDS), now_ns)
        decided, indexes, results = _call(connection, _CALL_PLAIN, arguments)
        if decided:
            return _outcomes(transfers, indexes, results)
    columns = _arrays(transfers, _FIELDS)
    indexes, results = _call(connection, _CALL, (*columns, now_ns, SMALL_BATCH_MAX))
    return _outcomes(transfers, indexes, results)


def _outcomes(
    transfers: Sequence[NewTransfer], indexes: list[int], results: list[str]
) -> list[TransferOutcome]:
    """Every transfer `ok` but those at `indexes`, which got `results`."""
    outcomes = [
        TransferOutcome(index, transfer.id, CreateTransferResult.OK)
        for index, transfer in enumerate(transfers)
    ]
    for index, result in zip(indexes, results, strict=True):
        outcomes[index] = TransferOutcome(index, transfers[index].id, CreateTransferResult(result))
    return outcomes


def _create_plain_transfer(
    connection: sa.Connection, transfer: NewTransfer, now_ns: int
) -> TransferOutcome:
    arguments = (
        Int8(transfer.id),
        Int8(transfer.debit_account_id),
        Int8(transfer.credit_account_id),
        Int8(transfer.amount),
        Int4(transfer.ledger),
        Int4(transfer.code),
        Int8(transfer.user_data_64),
        Int4(transfer.user_data_32),
        Int8(now_ns),
    )  # typed, so every call shares one prepared statement
    (result,) = _call(connection, _CALL_ONE, arguments)
    return TransferOutcome(0, transfer.id, CreateTransferResult(result))


def _call(
    connection: sa.Connection, statement: str, arguments: tuple[object, ...]
) -> tuple[Any, ...]:
    """The one row a function call returns, through the driver's own cursor (no result set-up)."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(statement, arguments)
        row: tuple[Any, ...] | None = cursor.fetchone()
    finally:
        cursor.close()
    assert row is not None, "a ledger function returns one row"
    return row


def _arrays(transfers: Sequence[NewTransfer], fields: Sequence[str]) -> tuple[str, ...]:
    """One PostgreSQL array literal of integers per field (flags print as their integer): far
    cheaper for the driver than lists."""
    columns = zip(*map(attrgetter(*fields), transfers), strict=True)
    return tuple("{" + ",".join(map(str, column)) + "}" for column in columns)

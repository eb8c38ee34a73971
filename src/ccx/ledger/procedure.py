"""`create_transfers` on PostgreSQL: the whole batch in one call to `ledger_create_transfers`.

The function (migration 0010) applies the same rules as `core.apply_transfers`, in the same
order, inside the server: it locks the accounts in id order, runs the events, and writes the
transfers, journal entries, hold states, remembered failures and counters, so a batch costs one
round trip. A batch of one plain transfer (no flags, hold or timeout: the commonest call) goes to
`ledger_create_transfer` instead, which applies the rules such a transfer meets in a few
statements. `core` stays the reference: SQLite runs it, and tests run the same batches on both
backends and require the same outcomes and rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from psycopg.types.numeric import Int4, Int8

from ccx.ledger.types import CreateTransferResult, NewTransfer, TransferFlags, TransferOutcome

SMALL_BATCH_MAX = 16
"""Batches up to this size run on one-row statements (each costs less than a set-based one)."""

_CALL = (
    "SELECT r_index, r_result FROM ledger_create_transfers("
    "%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::integer[], %s::integer[],"
    " %s::integer[], %s::bigint[], %s::bigint[], %s::bigint[], %s::integer[], %s::bigint,"
    " %s::integer)"
)
_CALL_ONE = "SELECT ledger_create_transfer(%s, %s, %s, %s, %s, %s, %s, %s, %s)"


def create_transfers(
    connection: sa.Connection, transfers: Sequence[NewTransfer], now_ns: int
) -> list[TransferOutcome]:
    """Apply `transfers` in the caller's transaction; event i gets timestamp now_ns + i."""
    if len(transfers) == 1 and _is_plain(transfers[0]):
        return [_create_plain_transfer(connection, transfers[0], now_ns)]
    columns = (
        _array([t.id for t in transfers]),
        _array([t.debit_account_id for t in transfers]),
        _array([t.credit_account_id for t in transfers]),
        _array([t.amount for t in transfers]),
        _array([t.ledger for t in transfers]),
        _array([t.code for t in transfers]),
        _array([int(t.flags) for t in transfers]),
        _array([t.pending_id for t in transfers]),
        _array([t.timeout_s for t in transfers]),
        _array([t.user_data_64 for t in transfers]),
        _array([t.user_data_32 for t in transfers]),
    )
    indexes, results = _call(connection, _CALL, (*columns, now_ns, SMALL_BATCH_MAX))
    outcomes = [
        TransferOutcome(index, transfer.id, CreateTransferResult.OK)
        for index, transfer in enumerate(transfers)
    ]
    for index, result in zip(indexes, results, strict=True):
        outcomes[index] = TransferOutcome(index, transfers[index].id, CreateTransferResult(result))
    return outcomes


def _is_plain(transfer: NewTransfer) -> bool:
    return (
        transfer.flags == TransferFlags.NONE and not transfer.pending_id and not transfer.timeout_s
    )


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


def _array(values: list[int]) -> str:
    """A PostgreSQL array literal of integers: far cheaper for the driver than a list."""
    return "{" + ",".join(map(str, values)) + "}"

"""`create_transfers` on PostgreSQL: the whole batch in one call to `ledger_create_transfers`.

The function (migration 0010) applies the same rules as `core.apply_transfers`, in the same
order, inside the server: it locks the accounts in id order, runs the events, and writes the
transfers, journal entries, hold states, remembered failures and counters, so a batch costs one
round trip. `core` stays the reference: SQLite runs it, and tests run the same batches on both
backends and require the same outcomes and rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from ccx.ledger.types import CreateTransferResult, NewTransfer, TransferOutcome

SMALL_BATCH_MAX = 16
"""Batches up to this size run on one-row statements (each costs less than a set-based one)."""

_CALL = (
    "SELECT r_index, r_result FROM ledger_create_transfers("
    "%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::integer[], %s::integer[],"
    " %s::integer[], %s::bigint[], %s::bigint[], %s::bigint[], %s::integer[], %s::bigint,"
    " %s::integer)"
)


def create_transfers(
    connection: sa.Connection, transfers: Sequence[NewTransfer], now_ns: int
) -> list[TransferOutcome]:
    """Apply `transfers` in the caller's transaction; event i gets timestamp now_ns + i."""
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
    cursor = connection.connection.cursor()  # the driver's own: no result set-up per call
    try:
        cursor.execute(_CALL, (*columns, now_ns, SMALL_BATCH_MAX))
        row = cursor.fetchone()
    finally:
        cursor.close()
    assert row is not None, "ledger_create_transfers returns one row"
    indexes, results = row
    outcomes = [
        TransferOutcome(index, transfer.id, CreateTransferResult.OK)
        for index, transfer in enumerate(transfers)
    ]
    for index, result in zip(indexes, results, strict=True):
        outcomes[index] = TransferOutcome(index, transfers[index].id, CreateTransferResult(result))
    return outcomes


def _array(values: list[int]) -> str:
    """A PostgreSQL array literal of integers: far cheaper for the driver than a list."""
    return "{" + ",".join(map(str, values)) + "}"

"""Writing a batch's effects: one statement on PostgreSQL, plain executemany on SQLite.

On PostgreSQL every write of a batch (new transfers and their journal entries, hold states,
remembered failures, account counters) goes in one statement of data-modifying CTEs fed by
arrays (`unnest`), so a batch costs one round trip and one plan however many rows it has.
SQLite runs in-process, where executemany is already cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, cast

import sqlalchemy as sa

from ccx.ledger import chain, core
from ccx.ledger.models import (
    AccountRow,
    FailedTransferRow,
    JournalEntryRow,
    PendingTransferRow,
    TransferRow,
)
from ccx.ledger.types import Account, PendingState, Transfer, TransferFlags

ACCOUNTS = cast(sa.Table, AccountRow.__table__)
TRANSFERS = cast(sa.Table, TransferRow.__table__)
PENDING_TRANSFERS = cast(sa.Table, PendingTransferRow.__table__)
FAILED_TRANSFERS = cast(sa.Table, FailedTransferRow.__table__)
JOURNAL = cast(sa.Table, JournalEntryRow.__table__)

_TRANSFER_COLUMNS = (
    ("id", "bigint"),
    ("debit_account_id", "bigint"),
    ("credit_account_id", "bigint"),
    ("amount", "bigint"),
    ("ledger", "integer"),
    ("code", "integer"),
    ("flags", "integer"),
    ("pending_id", "bigint"),
    ("timeout_s", "integer"),
    ("user_data_64", "bigint"),
    ("user_data_32", "integer"),
    ("timestamp_ns", "bigint"),
)
_COUNTERS = ("flags", "debits_pending", "debits_posted", "credits_pending", "credits_posted")


def transfer_values(transfer: Transfer) -> dict[str, Any]:
    return {
        "id": transfer.id,
        "debit_account_id": transfer.debit_account_id,
        "credit_account_id": transfer.credit_account_id,
        "amount": transfer.amount,
        "ledger": transfer.ledger,
        "code": transfer.code,
        "flags": int(transfer.flags),
        "pending_id": transfer.pending_id,
        "timeout_s": transfer.timeout_s,
        "user_data_64": transfer.user_data_64,
        "user_data_32": transfer.user_data_32,
        "timestamp_ns": transfer.timestamp_ns,
    }


def counter_values(account: Account) -> dict[str, int]:
    return {
        "id": account.id,
        "flags": int(account.flags),
        "debits_pending": account.debits_pending,
        "debits_posted": account.debits_posted,
        "credits_pending": account.credits_pending,
        "credits_posted": account.credits_posted,
    }


def _split_pendings(effects: core.BatchEffects) -> tuple[list[PendingState], list[PendingState]]:
    created = {t.id for t in effects.created if t.flags & TransferFlags.PENDING}
    inserts = [s for i, s in effects.pendings_changed.items() if i in created]
    updates = [s for i, s in effects.pendings_changed.items() if i not in created]
    return inserts, updates


def write_effects(connection: sa.Connection, effects: core.BatchEffects, now_ns: int) -> None:
    """Write what a batch changed, in the caller's transaction."""
    if connection.dialect.name == "postgresql":
        _write_postgresql(connection, effects, now_ns)
    else:
        _write_generic(connection, effects, now_ns)


def _write_generic(connection: sa.Connection, effects: core.BatchEffects, now_ns: int) -> None:
    if effects.created:
        connection.execute(sa.insert(TRANSFERS), [transfer_values(t) for t in effects.created])
        connection.execute(
            sa.insert(JOURNAL),
            [
                {
                    "kind": chain.EntryKind.TRANSFER,
                    "transfer_id": t.id,
                    "timestamp_ns": t.timestamp_ns,
                }
                for t in effects.created
            ],
        )
    update_accounts(connection, effects.accounts_changed.values())
    inserts, updates = _split_pendings(effects)
    if inserts:
        connection.execute(
            sa.insert(PENDING_TRANSFERS),
            [
                {
                    "transfer_id": s.transfer_id,
                    "status": s.status.value,
                    "expires_at_ns": s.expires_at_ns,
                }
                for s in inserts
            ],
        )
    update_pending_status(connection, [(s.transfer_id, s.status.value) for s in updates])
    if effects.failed_new:
        connection.execute(
            sa.insert(FAILED_TRANSFERS),
            [
                {"id": i, "result": r.value, "timestamp_ns": now_ns}
                for i, r in effects.failed_new.items()
            ],
        )


def update_accounts(connection: sa.Connection, accounts: Iterable[Account]) -> None:
    """Set the counters and flags of accounts whose rows the transaction holds locked."""
    rows = [counter_values(a) for a in sorted(accounts, key=lambda account: account.id)]
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(
            _statement((), _update_accounts_sql("")), _columns(rows, ("id", *_COUNTERS))
        )
        return
    statement = (
        sa.update(ACCOUNTS)
        .where(ACCOUNTS.c.id == sa.bindparam("b_id"))
        .values({name: sa.bindparam(f"b_{name}") for name in _COUNTERS})
    )
    connection.execute(statement, [{f"b_{k}": v for k, v in row.items()} for row in rows])


def update_pending_status(connection: sa.Connection, changes: list[tuple[int, str]]) -> None:
    if not changes:
        return
    statement = (
        sa.update(PENDING_TRANSFERS)
        .where(PENDING_TRANSFERS.c.transfer_id == sa.bindparam("b_id"))
        .values(status=sa.bindparam("b_status"))
    )
    connection.execute(statement, [{"b_id": i, "b_status": status} for i, status in changes])


@functools.cache
def _statement(parts: tuple[str, ...], plain: str = "") -> sa.TextClause:
    """One parsed statement per combination of parts (a handful exist), reused across batches."""
    return sa.text(plain or f"WITH {', '.join(parts)} SELECT 1")


def _columns(
    rows: list[dict[str, Any]], names: Iterable[str], prefix: str = ""
) -> dict[str, list[Any]]:
    return {f"{prefix}{name}": [row[name] for row in rows] for name in names}


def _update_accounts_sql(prefix: str) -> str:
    arrays = ", ".join(f"CAST(:{prefix}{name} AS bigint[])" for name in ("id", *_COUNTERS))
    sets = ", ".join(f"{name} = v.{name}" for name in _COUNTERS)
    return (
        f"UPDATE accounts AS a SET {sets} FROM unnest({arrays})"
        f" AS v(id, {', '.join(_COUNTERS)}) WHERE a.id = v.id"
    )


def _write_postgresql(connection: sa.Connection, effects: core.BatchEffects, now_ns: int) -> None:
    parts: list[str] = []
    params: dict[str, Any] = {}
    if effects.created:
        rows = [transfer_values(t) for t in effects.created]
        params |= _columns(rows, [name for name, _ in _TRANSFER_COLUMNS], "t_")
        arrays = ", ".join(f"CAST(:t_{name} AS {kind}[])" for name, kind in _TRANSFER_COLUMNS)
        names = ", ".join(name for name, _ in _TRANSFER_COLUMNS)
        parts.append(
            f"new_transfers AS (INSERT INTO transfers ({names})"
            f" SELECT * FROM unnest({arrays}) RETURNING id, timestamp_ns)"
        )
        parts.append(
            "new_entries AS (INSERT INTO journal_entries (kind, transfer_id, timestamp_ns)"
            f" SELECT {int(chain.EntryKind.TRANSFER)}, id, timestamp_ns FROM new_transfers"
            " ORDER BY timestamp_ns, id)"
        )
    _add_pending_parts(effects, parts, params)
    if effects.failed_new:
        params["f_id"] = list(effects.failed_new)
        params["f_result"] = [r.value for r in effects.failed_new.values()]
        params["f_now"] = now_ns
        parts.append(
            "new_failures AS (INSERT INTO failed_transfers (id, result, timestamp_ns)"
            " SELECT id, result, :f_now FROM unnest(CAST(:f_id AS bigint[]),"
            " CAST(:f_result AS varchar[])) AS v(id, result))"
        )
    accounts = [
        counter_values(a) for a in sorted(effects.accounts_changed.values(), key=lambda a: a.id)
    ]
    if accounts:
        params |= _columns(accounts, ("id", *_COUNTERS), "a_")
        parts.append(f"counters AS ({_update_accounts_sql('a_')})")
    if parts:
        connection.execute(_statement(tuple(parts)), params)


def _add_pending_parts(
    effects: core.BatchEffects, parts: list[str], params: dict[str, Any]
) -> None:
    inserts, updates = _split_pendings(effects)
    if inserts:
        params["p_id"] = [s.transfer_id for s in inserts]
        params["p_status"] = [s.status.value for s in inserts]
        params["p_expires"] = [s.expires_at_ns for s in inserts]
        parts.append(
            "new_holds AS (INSERT INTO pending_transfers (transfer_id, status, expires_at_ns)"
            " SELECT * FROM unnest(CAST(:p_id AS bigint[]), CAST(:p_status AS varchar[]),"
            " CAST(:p_expires AS bigint[])))"
        )
    if updates:
        params["u_id"] = [s.transfer_id for s in updates]
        params["u_status"] = [s.status.value for s in updates]
        parts.append(
            "resolved_holds AS (UPDATE pending_transfers AS p SET status = v.status"
            " FROM unnest(CAST(:u_id AS bigint[]), CAST(:u_status AS varchar[]))"
            " AS v(id, status) WHERE p.transfer_id = v.id)"
        )

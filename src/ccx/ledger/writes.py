"""Writing what the Python core decided (SQLite; on PostgreSQL the ledger's function writes).

`write_effects` stores a batch's new transfers and journal entries, hold states, remembered
failures and account counters with plain executemany: SQLite runs in-process, where that is
already cheap. `update_accounts` and `update_pending_status` also serve hold expiry on both
backends; on PostgreSQL the counters go in one statement fed by arrays (`unnest`).
"""

from __future__ import annotations

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
        columns = {name: [row[name] for row in rows] for name in ("id", *_COUNTERS)}
        connection.execute(_UPDATE_ACCOUNTS, columns)
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


def _update_accounts_statement() -> sa.TextClause:
    arrays = ", ".join(f"CAST(:{name} AS bigint[])" for name in ("id", *_COUNTERS))
    sets = ", ".join(f"{name} = v.{name}" for name in _COUNTERS)
    return sa.text(
        f"UPDATE accounts AS a SET {sets} FROM unnest({arrays})"
        f" AS v(id, {', '.join(_COUNTERS)}) WHERE a.id = v.id"
    )


_UPDATE_ACCOUNTS = _update_accounts_statement()

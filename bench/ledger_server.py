"""The ledger's functions against pgbench's transaction, server side only.

`bench.ledger` measures the whole path, Python clients included. This runs pgbench itself as
the client, three times with the same clients and window: its built-in TPC-B-like transaction,
then a script that calls `ledger_create_transfer` (one plain transfer, the function a batch of
one takes) and one that calls `ledger_create_transfers` with the same transfer as a batch of
one. Each call moves a random amount between two distinct random accounts of the ledger
database `bench.ledger` leaves behind (accounts 1 … `--accounts` on ledger 1), under a random
id, with `-M prepared`. It prints each rate and its ratio to TPC-B's.

Run after `python -m bench.ledger`: ``.venv/bin/python -m bench.ledger_server``
(docs/benchmarks.md, "Where the time goes now").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.ledger import (
    DEFAULT_ADMIN_URL,
    LEDGER_DATABASE,
    PGBENCH_DATABASE,
    database_url,
    pgbench_run,
)

# pgbench's own variables: two distinct accounts, a random id and amount, the time in ns.
_DRAWS = """\\set debit random(1, {accounts})
\\set other random(1, {accounts} - 1)
\\set credit :other + case when :other >= :debit then 1 else 0 end
\\set id random(1, 9223372036854775807)
\\set amount random(1, 1000000)
"""
_NOW_NS = "(extract(epoch from clock_timestamp()) * 1e9)::bigint"
SCRIPTS = {
    "ledger_create_transfer": (
        "SELECT ledger_create_transfer(:id, :debit, :credit, :amount, 1, 1, 0, 0, {now});"
    ),
    "ledger_create_transfers, one event": (
        "SELECT * FROM ledger_create_transfers(ARRAY[:id]::bigint[], ARRAY[:debit]::bigint[],"
        " ARRAY[:credit]::bigint[], ARRAY[:amount]::bigint[], '{{1}}', '{{1}}', '{{0}}', '{{0}}',"
        " '{{0}}', '{{0}}', '{{0}}', {now}, 16);"
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger_server", description=__doc__)
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--accounts", type=int, default=10_000)
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds < 1 or args.accounts < 2:
        parser.error("need --clients >= 1, --seconds >= 1, --accounts >= 2")
    pgbench_url = database_url(args.postgres_url, PGBENCH_DATABASE)
    ledger_url = database_url(args.postgres_url, LEDGER_DATABASE)
    tpcb = pgbench_run(pgbench_url, args.clients, args.seconds).transactions_per_s
    print(f"pgbench tpcb-like: {tpcb:.0f} tps", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for name, call in SCRIPTS.items():
            script = Path(folder) / "call.sql"
            draws = _DRAWS.format(accounts=args.accounts)
            script.write_text(draws + call.format(now=_NOW_NS) + "\n")
            rate = pgbench_run(ledger_url, args.clients, args.seconds, script).transactions_per_s
            print(f"{name}: {rate:.0f} calls/s, {rate / tpcb:.2f} of pgbench", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CPU per ledger call, one client alone: the client's, and its PostgreSQL backend's.

Runs `--calls` ledger-only writes (`Database.run_statement_write` + `service.create_transfers`)
of `--batch-size` plain transfers each, on the ledger database `bench.ledger` leaves behind
(accounts 1 … `--accounts` on ledger 1), and prints per call: the client's CPU
(`time.process_time`), the server backend's CPU (`/proc/<pid>/stat` of the connection's
backend, so the server must run on this machine) and the wall time. Batches are built before
the timed loop.

Run after `python -m bench.ledger`: ``.venv/bin/python -m bench.ledger_calls --batch-size 1``
(docs/benchmarks.md, "Where the time goes now").
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.ledger import DEFAULT_ADMIN_URL, LEDGER_DATABASE, database_url
from ccx.clock import SystemClock
from ccx.db import Database, open_database
from ccx.ids import new_id
from ccx.ledger import service
from ccx.ledger.types import BATCH_SIZE_MAX, NewTransfer

LEDGER_ID = 1
WARMUP_CALLS = 20


def _batches(count: int, size: int, accounts: int, seed: int) -> list[list[NewTransfer]]:
    rng = random.Random(seed)
    batches = []
    for _ in range(count):
        batch = []
        for _ in range(size):
            debit = rng.randint(1, accounts)
            credit = rng.randint(1, accounts - 1)
            credit += credit >= debit
            batch.append(NewTransfer(new_id(), debit, credit, 1, LEDGER_ID, 1))
        batches.append(batch)
    return batches


def _backend_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _call(database: Database, batch: list[NewTransfer], clock: SystemClock) -> None:
    database.run_statement_write(lambda c: service.create_transfers(c, batch, clock))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger_calls", description=__doc__)
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--accounts", type=int, default=10_000)
    args = parser.parse_args(argv)
    if args.calls < 1 or args.accounts < 2 or not 1 <= args.batch_size <= BATCH_SIZE_MAX:
        parser.error(f"need --calls >= 1, --accounts >= 2, 1 <= --batch-size <= {BATCH_SIZE_MAX}")
    database = open_database(database_url(args.postgres_url, LEDGER_DATABASE), pool_size=1)
    with database.write_statement() as connection:  # the statement pool's one connection, kept
        pid = int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
    clock = SystemClock()
    for batch in _batches(WARMUP_CALLS, args.batch_size, args.accounts, seed=1):
        _call(database, batch, clock)
    batches = _batches(args.calls, args.batch_size, args.accounts, seed=2)
    server, client, wall = _backend_cpu_s(pid), time.process_time(), time.perf_counter()
    for batch in batches:
        _call(database, batch, clock)
    wall = time.perf_counter() - wall
    client, server = time.process_time() - client, _backend_cpu_s(pid) - server
    database.dispose()
    per_call_ms = 1000 / args.calls
    print(
        f"batch size {args.batch_size}, {args.calls} calls: per call client CPU"
        f" {client * per_call_ms:.3f} ms, server CPU {server * per_call_ms:.3f} ms,"
        f" wall {wall * per_call_ms:.3f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

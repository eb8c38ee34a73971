"""Ledger throughput against pgbench's TPC-B-like transaction, on the same PostgreSQL.

pgbench's built-in transaction (3 UPDATEs, a SELECT and an INSERT) is the ceiling for one
balance transfer per database transaction on a given server. This benchmark runs it, then the
ledger's single-transfer path (one `create_transfers` call with one transfer, its own
transaction: `Database.run_statement_write`, the path of the batch API and `ccx ledger transfer`)
and its batch path (one call with ``--batch-size`` transfers), with the same number of client
connections and the same server durability settings. The last line it prints is the ratios::

    ledger/pgbench single=0.62 batch=14.1

Each ledger client is its own process (threads would share one GIL) with one connection. The
clients start together, warm up, then count the transfers committed in a fixed window. After
the timed phases the journal is sealed and the whole ledger verified (not timed).

With ``--rounds R`` the three phases run R times in turn (each ratio then compares phases
measured minutes, not a quarter of an hour, apart) and the last line gives the median ratios.

Run: ``.venv/bin/python -m bench.ledger --clients 8 --seconds 20`` (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.context import SpawnContext, SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import sqlalchemy as sa

from ccx.clock import Clock, SystemClock
from ccx.db import Database, open_database, parse_database_url
from ccx.ids import new_ids
from ccx.ledger import service
from ccx.ledger.types import (
    BATCH_SIZE_MAX,
    CreateTransferResult,
    NewAccount,
    NewTransfer,
    VerifyReport,
)
from ccx.ledger.verify import verify_ledger

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PGBENCH_DATABASE = "ccx_bench_pgbench"
LEDGER_DATABASE = "ccx_bench_ledger"
LEDGER_ID = 1
ACCOUNT_CODE = 1
TRANSFER_CODE = 1
AMOUNT_MAX_DRAWN = 1_000_000
SERVER_SETTINGS = (
    "fsync",
    "synchronous_commit",
    "wal_sync_method",
    "full_page_writes",
    "commit_delay",
    "shared_buffers",
    "autovacuum",
)
BUSY_FRACTION = 0.10
ROUNDS_MAX = 10
READY_TIMEOUT_S = 120.0
RESULT_GRACE_S = 120.0
START_DELAY_S = 0.2
TPS_PATTERN = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")
LATENCY_PATTERN = re.compile(r"latency average = ([0-9.]+) ms")
FAILED_PATTERN = re.compile(r"number of failed transactions: (\d+)")


@dataclass(frozen=True)
class Options:
    admin_url: str
    clients: int
    seconds: float
    accounts: int
    batch_size: int
    warmup: float
    scale: int
    rounds: int


@dataclass(frozen=True)
class PhaseResult:
    name: str
    clients: int
    transactions_per_s: float
    transfers_per_s: float
    latency_ms: float
    failed: int


@dataclass(frozen=True)
class WorkerSpec:
    url: str
    accounts: int
    batch_size: int
    seconds: float
    seed: int


@dataclass(frozen=True)
class CheckResult:
    sealed: int
    seal_s: float
    verify_s: float
    report: VerifyReport


@dataclass
class WorkerResult:
    calls: int = 0
    transfers: int = 0
    failed: int = 0
    latencies_s: list[float] = field(default_factory=list)
    error: str = ""


# --- command line ------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ledger", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--postgres-url", default=DEFAULT_ADMIN_URL, help="admin URL (creates databases)"
    )
    parser.add_argument("--clients", type=int, default=8, help="client connections in every phase")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed window of each phase")
    parser.add_argument(
        "--accounts", type=int, default=10_000, help="ledger accounts transfers draw from"
    )
    parser.add_argument(
        "--batch-size", type=int, default=1_000, help=f"transfers per batch (<= {BATCH_SIZE_MAX})"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds run before each ledger window"
    )
    parser.add_argument("--scale", type=int, default=0, help="pgbench scale (raised to --clients)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="times the three phases run (median ratios)"
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.accounts < 2 or args.warmup < 0:
        parser.error("need --clients >= 1, --seconds > 0, --accounts >= 2, --warmup >= 0")
    if not 1 <= args.rounds <= ROUNDS_MAX:
        parser.error(f"--rounds must be 1..{ROUNDS_MAX}")
    if not 1 <= args.batch_size <= BATCH_SIZE_MAX:
        parser.error(f"--batch-size must be 1..{BATCH_SIZE_MAX}")
    return Options(
        admin_url=args.postgres_url,
        clients=args.clients,
        seconds=args.seconds,
        accounts=args.accounts,
        batch_size=args.batch_size,
        warmup=args.warmup,
        scale=max(args.scale, args.clients),
        rounds=args.rounds,
    )


# --- server ------------------------------------------------------------------------------------


def database_url(admin_url: str, name: str) -> str:
    return parse_database_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _admin_engine(admin_url: str) -> sa.Engine:
    return sa.create_engine(parse_database_url(admin_url), isolation_level="AUTOCOMMIT")


def recreate_database(admin_url: str, name: str) -> str:
    engine = _admin_engine(admin_url)
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return database_url(admin_url, name)


def run_autocommit(url: str, statement: str) -> None:
    """One statement outside a transaction (CHECKPOINT, VACUUM, ANALYZE)."""
    engine = _admin_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql(statement)
    engine.dispose()


def server_facts(url: str) -> dict[str, str]:
    """The server version and the (durability) settings a new session on `url` gets."""
    engine = sa.create_engine(parse_database_url(url))
    with engine.connect() as connection:
        facts = {"server_version": str(connection.exec_driver_sql("SHOW server_version").scalar())}
        for name in SERVER_SETTINGS:
            facts[name] = str(connection.exec_driver_sql(f"SHOW {name}").scalar())
    engine.dispose()
    return facts


# --- pgbench -----------------------------------------------------------------------------------


def pgbench_command(url: str, *arguments: str) -> tuple[list[str], dict[str, str]]:
    parsed = parse_database_url(url)
    command = ["pgbench", "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432)]
    command += ["-U", parsed.username or "postgres", *arguments, parsed.database or "postgres"]
    env = {key: value for key, value in os.environ.items() if key != "PGOPTIONS"}
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return command, env


def run_command(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}{done.stdout}"
        )
    return done.stdout + done.stderr


def pgbench_init(url: str, scale: int) -> None:
    run_command(*pgbench_command(url, "-i", "-q", "-s", str(scale)))


def pgbench_run(url: str, clients: int, seconds: float, script: Path | None = None) -> PhaseResult:
    """pgbench's built-in TPC-B-like transaction, or `script` (`-n -f`: no vacuum of its tables)."""
    arguments = [
        "-c",
        str(clients),
        "-j",
        str(clients),
        "-T",
        str(round(seconds)),
        "-M",
        "prepared",
    ]
    if script is not None:
        arguments += ["-n", "-f", str(script)]
    output = run_command(*pgbench_command(url, *arguments))
    tps = TPS_PATTERN.search(output)
    latency = LATENCY_PATTERN.search(output)
    failed = FAILED_PATTERN.search(output)
    if tps is None or latency is None:
        raise RuntimeError(f"cannot read pgbench's output:\n{output}")
    rate = float(tps.group(1))
    return PhaseResult(
        name="pgbench tpcb-like",
        clients=clients,
        transactions_per_s=rate,
        transfers_per_s=rate,
        latency_ms=float(latency.group(1)),
        failed=int(failed.group(1)) if failed else 0,
    )


# --- ledger setup and check --------------------------------------------------------------------


def setup_ledger(url: str, accounts: int, clock: Clock) -> None:
    """Migrate, create the ledger and accounts 1..`accounts` (no flags: no transfer is refused)."""
    database = open_database(url, pool_size=1)
    with database.write() as session:
        service.create_ledger(
            session, ledger_id=LEDGER_ID, name="bench", asset_scale=6, clock=clock
        )
    for start in range(1, accounts + 1, BATCH_SIZE_MAX):
        ids = range(start, min(start + BATCH_SIZE_MAX, accounts + 1))
        batch = [NewAccount(id=i, ledger=LEDGER_ID, code=ACCOUNT_CODE) for i in ids]
        with database.write() as session:
            service.create_accounts(session, batch, clock)
    database.dispose()


def seal_and_verify(url: str) -> CheckResult:
    """Seal the whole journal, then replay and check all of it."""
    database = open_database(url, pool_size=1)
    began, sealed = time.monotonic(), 0
    while count := database.run_write(lambda session: service.seal_journal(session, wait=True)):
        sealed += count
    sealed_at = time.monotonic()
    run_autocommit(url, "ANALYZE")  # with autovacuum off, verify's anti-join plans badly
    with database.read() as session:
        report = verify_ledger(session)
    database.dispose()
    return CheckResult(sealed, sealed_at - began, time.monotonic() - sealed_at, report)


# --- ledger clients ----------------------------------------------------------------------------


def _random_batch(rng: random.Random, accounts: int, size: int) -> list[NewTransfer]:
    """`size` transfers between random accounts (`rng.random` draws: the client's share of the
    CPU it shares with the server stays small)."""
    batch = []
    draw = rng.random
    for transfer_id in new_ids(size):
        debit = 1 + int(draw() * accounts)
        credit = 1 + int(draw() * (accounts - 1))
        credit += credit >= debit  # uniform over the accounts other than `debit`
        batch.append(
            NewTransfer(
                id=transfer_id,
                debit_account_id=debit,
                credit_account_id=credit,
                amount=1 + int(draw() * AMOUNT_MAX_DRAWN),
                ledger=LEDGER_ID,
                code=TRANSFER_CODE,
            )
        )
    return batch


def _submit(database: Database, batch: list[NewTransfer], clock: Clock) -> int:
    """One ledger-only write (its own transaction); returns how many transfers were created."""
    outcomes = database.run_statement_write(
        lambda connection: service.create_transfers(connection, batch, clock)
    )
    return sum(1 for outcome in outcomes if outcome.result is CreateTransferResult.OK)


def _client_loop(database: Database, spec: WorkerSpec, window: tuple[float, float]) -> WorkerResult:
    start, end = window
    rng, clock, result = random.Random(spec.seed), SystemClock(), WorkerResult()
    while True:
        batch = _random_batch(rng, spec.accounts, spec.batch_size)
        began = time.monotonic()
        if began >= end:
            return result
        created = _submit(database, batch, clock)
        finished = time.monotonic()
        if start <= finished < end:  # committed inside the window
            result.calls += 1
            result.transfers += created
            result.failed += len(batch) - created
            result.latencies_s.append(finished - began)


def client_main(
    spec: WorkerSpec, ready: Barrier, go: Queue[float], results: Queue[WorkerResult]
) -> None:
    """One client process: connect, wait for the others, run until the window closes."""
    try:
        database = open_database(spec.url, pool_size=1)
        with database.read() as session:  # open the connection before the start
            session.execute(sa.text("SELECT 1"))
        ready.wait()
    except BaseException:
        ready.abort()
        raise
    try:
        start = go.get(timeout=READY_TIMEOUT_S)
        results.put(_client_loop(database, spec, (start, start + spec.seconds)))
    except Exception as error:
        results.put(WorkerResult(error=f"{type(error).__name__}: {error}"))
    finally:
        database.dispose()


def _start_clients(
    context: SpawnContext, specs: list[WorkerSpec], warmup: float
) -> tuple[list[SpawnProcess], Queue[WorkerResult]]:
    ready = context.Barrier(len(specs) + 1, timeout=READY_TIMEOUT_S)
    go: Queue[float] = context.Queue()
    results: Queue[WorkerResult] = context.Queue()
    processes = [
        context.Process(target=client_main, args=(spec, ready, go, results), daemon=True)
        for spec in specs
    ]
    for process in processes:
        process.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError as error:
        raise RuntimeError("a ledger client failed to start") from error
    start = time.monotonic() + START_DELAY_S + warmup  # window opens after the warm-up
    for _ in specs:
        go.put(start)
    return processes, results


def run_ledger_phase(name: str, url: str, options: Options, batch_size: int) -> PhaseResult:
    context = multiprocessing.get_context("spawn")
    specs = [
        WorkerSpec(
            url, options.accounts, batch_size, options.seconds, seed=index * 7919 + batch_size
        )
        for index in range(options.clients)
    ]
    processes, queue = _start_clients(context, specs, options.warmup)
    timeout = options.warmup + options.seconds + RESULT_GRACE_S
    results = [queue.get(timeout=timeout) for _ in specs]
    for process in processes:
        process.join(timeout=RESULT_GRACE_S)
    errors = [result.error for result in results if result.error]
    if errors:
        raise RuntimeError(f"{name}: {len(errors)} client(s) failed: {errors[0]}")
    return _phase_result(name, options, results)


def _phase_result(name: str, options: Options, results: list[WorkerResult]) -> PhaseResult:
    calls = sum(result.calls for result in results)
    latencies = [latency for result in results for latency in result.latencies_s]
    return PhaseResult(
        name=name,
        clients=options.clients,
        transactions_per_s=calls / options.seconds,
        transfers_per_s=sum(result.transfers for result in results) / options.seconds,
        latency_ms=statistics.fmean(latencies) * 1000 if latencies else 0.0,
        failed=sum(result.failed for result in results),
    )


# --- report ------------------------------------------------------------------------------------


def print_facts(title: str, facts: dict[str, str]) -> None:
    print(f"{title}: " + ", ".join(f"{name}={value}" for name, value in facts.items()))


def print_table(phases: list[PhaseResult]) -> None:
    header = ("phase", "clients", "txn/s", "transfers/s", "latency ms", "failed")
    print("{:<22}{:>8}{:>12}{:>14}{:>12}{:>8}".format(*header))
    for phase in phases:
        print(
            f"{phase.name:<22}{phase.clients:>8}{phase.transactions_per_s:>12.1f}"
            f"{phase.transfers_per_s:>14.1f}{phase.latency_ms:>12.2f}{phase.failed:>8}"
        )


def ratios(pgbench: PhaseResult, single: PhaseResult, batch: PhaseResult) -> tuple[float, float]:
    return (
        single.transfers_per_s / pgbench.transfers_per_s,
        batch.transfers_per_s / pgbench.transfers_per_s,
    )


def ratio_line(single_ratio: float, batch_ratio: float) -> str:
    return f"ledger/pgbench single={single_ratio:.2f} batch={batch_ratio:.1f}"


# --- main --------------------------------------------------------------------------------------


def prepare(options: Options) -> tuple[str, str]:
    """Recreate both databases, initialise pgbench, create the accounts; returns their URLs."""
    pgbench_url = recreate_database(options.admin_url, PGBENCH_DATABASE)
    ledger_url = recreate_database(options.admin_url, LEDGER_DATABASE)
    print(f"initialising pgbench at scale {options.scale} ...", flush=True)
    pgbench_init(pgbench_url, options.scale)
    print(f"creating {options.accounts} ledger accounts ...", flush=True)
    setup_ledger(ledger_url, options.accounts, SystemClock())
    run_autocommit(ledger_url, "VACUUM ANALYZE")  # as pgbench -i does for its tables
    pgbench_facts, ledger_facts = server_facts(pgbench_url), server_facts(ledger_url)
    print_facts("pgbench database", pgbench_facts)
    print_facts("ledger database ", ledger_facts)
    if pgbench_facts != ledger_facts:
        raise RuntimeError("the two databases run with different durability settings")
    return pgbench_url, ledger_url


def run_phase(options: Options, name: str, url: str, batch_size: int) -> PhaseResult:
    """One timed phase after a checkpoint; batch_size 0 means pgbench."""
    run_autocommit(options.admin_url, "CHECKPOINT")  # no phase pays for the last one's writes
    warn_if_busy()
    print(f"running {name}: {options.clients} clients, {options.seconds:g} s ...", flush=True)
    if batch_size == 0:
        phase = pgbench_run(url, options.clients, options.seconds)
    else:
        phase = run_ledger_phase(name, url, options, batch_size)
    print(f"  {phase.transfers_per_s:.1f} transfers/s", flush=True)
    return phase


def cpu_busy(sample_s: float = 1.0) -> float | None:
    """Fraction of all CPUs busy over `sample_s` (Linux /proc/stat); None elsewhere."""

    def times() -> tuple[int, int]:
        fields = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    try:
        total_before, idle_before = times()
        time.sleep(sample_s)
        total_after, idle_after = times()
    except OSError:
        return None
    total = total_after - total_before
    return 1.0 - (idle_after - idle_before) / total if total else None


def warn_if_busy() -> None:
    """Other work on the machine takes CPU from the phase about to run: say so."""
    busy = cpu_busy()
    if busy is not None and busy > BUSY_FRACTION:
        print(f"  WARNING: {busy:.0%} of the CPUs busy before the phase (other processes)")


def print_check(check: CheckResult) -> None:
    report = check.report
    verdict = "ok" if report.ok else "PROBLEMS: " + "; ".join(report.problems[:5])
    print(
        f"check (untimed): {verdict}; sealed {check.sealed} entries in {check.seal_s:.1f} s, "
        f"verified {report.entries_checked} entries and {report.accounts_checked} accounts "
        f"in {check.verify_s:.1f} s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    print(f"machine: {os.cpu_count()} CPUs (a local server shares them with the clients)")
    pgbench_url, ledger_url = prepare(options)
    phases: list[PhaseResult] = []
    round_ratios: list[tuple[float, float]] = []
    for number in range(1, options.rounds + 1):
        label = f" (round {number})" if options.rounds > 1 else ""
        pgbench = run_phase(options, "pgbench tpcb-like", pgbench_url, 0)
        single = run_phase(options, "ledger single", ledger_url, 1)
        batch_name = f"ledger batch={options.batch_size}"
        batch = run_phase(options, batch_name, ledger_url, options.batch_size)
        phases += [pgbench, single, batch]
        round_ratios.append(ratios(pgbench, single, batch))
        if label:
            print(f"  {ratio_line(*round_ratios[-1])}{label}", flush=True)
    check = seal_and_verify(ledger_url)
    print_check(check)
    print_table(phases)
    single_ratio = statistics.median(r[0] for r in round_ratios)
    batch_ratio = statistics.median(r[1] for r in round_ratios)
    print(ratio_line(single_ratio, batch_ratio))  # the median over the rounds
    refused = sum(phase.failed for phase in phases if phase.name.startswith("ledger"))
    return 0 if check.report.ok and refused == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""`ccx metering`, `ccx centre` and `ccx worker`: usage in (from files or the centre),
settlement, the plan the centre enforces, and the periodic duties.

Bad input exits 2 and imports nothing (a file is parsed whole before anything is stored); a
refusal by the rules exits 1.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import typer
from rich.table import Table

from ccx.center.errors import CenterError, ParseError
from ccx.center.factory import open_center
from ccx.center.interfaces import Center
from ccx.center.parsers import parse_dcgm, parse_sacct
from ccx.cli.context import CliContext, context_of, err, fail, out
from ccx.cli.exchange import time_ns, when
from ccx.cli.programmes import LIST_LIMIT_MAX, print_json, say, write
from ccx.exchange import RoundParameters
from ccx.exchange import queries as exchange_queries
from ccx.ids import ID_MAX
from ccx.metering import queries, service
from ccx.worker import Worker, run_forever

FILE_BYTES_MAX = 256 * 1024 * 1024
MILLI = 1000

app = typer.Typer(help="Metering: usage and utilisation in, settlement.", no_args_is_help=True)
centre_app = typer.Typer(help="The computing centre: logins and the plan.", no_args_is_help=True)
users_app = typer.Typer(help="Centre logins of integrators.", no_args_is_help=True)
centre_app.add_typer(users_app, name="users")


def _text(path: Path) -> str:
    try:
        if path.stat().st_size > FILE_BYTES_MAX:
            fail(f"{path}: larger than {FILE_BYTES_MAX // 2**20} MiB")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"{path}: {error}")


@app.command("import")
def import_file(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="`sacct --parsable2` output, or DCGM exporter text."),
    cluster: str = typer.Option(
        "", help="The cluster a DCGM scrape comes from (sacct output names its own)."
    ),
    at: str | None = typer.Option(
        None, help="When a DCGM scrape was taken, ISO 8601 (default: the file's time)."
    ),
) -> None:
    """Import usage (`.txt`, sacct) or GPU utilisation (`.prom`, DCGM exporter). Importing
    the same file again changes nothing."""
    context = context_of(ctx)
    text = _text(path)
    try:
        if path.suffix == ".prom":
            if not cluster:
                fail("--cluster: name the cluster the DCGM scrape comes from")
            samples = parse_dcgm(text)
            observed_ns = time_ns(at, "--at") if at else int(path.stat().st_mtime * 1e9)
            new = write(
                context,
                lambda s: service.import_utilisation(
                    s, samples, cluster=cluster, observed_at_ns=observed_ns
                ),
            )
            say(f"{len(samples)} utilisation samples read, {new} new")
            return
        records = parse_sacct(text)
    except ParseError as error:
        for problem in error.problems:
            err.print(f"{path}: {problem}", highlight=False, soft_wrap=True)
        count = len(error.problems)
        fail(f"{path}: {count} malformed line{'s' if count > 1 else ''}; nothing imported")
    report = write(context, lambda s: service.import_usage(s, records, context.clock))
    say(
        f"{len(records)} usage records read: {report.inserted} new, {report.updated} updated,"
        f" {report.unchanged} unchanged, {len(report.conflicts)} conflicting with charged ones"
    )
    for key in report.conflicts:
        say(f"[yellow]![/] {key}: differs from the record already charged (kept)")


@app.command("list")
def list_usage(
    ctx: typer.Context,
    allocation: int | None = typer.Option(None, min=1, max=ID_MAX),
    limit: int = typer.Option(100, min=1, max=LIST_LIMIT_MAX),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Usage records, oldest first."""
    with context_of(ctx).database.read() as session:
        found = queries.list_usage(session, limit=limit, allocation_id=allocation)
    if as_json:
        print_json([item.record.__dict__ | {"allocation_id": item.allocation_id} for item in found])
        return
    table = Table("cluster", "job", "step", "account", "type", "devices", "start", "end", "state")
    for item in found:
        record = item.record
        table.add_row(
            record.cluster,
            record.job_id,
            record.step or "-",
            record.account,
            record.accelerator,
            str(record.devices),
            when(record.start_ns),
            when(record.end_ns),
            record.state.value,
        )
    out.print(table)


@app.command("settle")
def settle(ctx: typer.Context) -> None:
    """Charge finished jobs to their allocations and close the allocations that ended."""
    context = context_of(ctx)
    report = write(context, lambda s: service.settle_usage(s, context.clock))
    say(
        f"{report.started} allocations started, {report.charged} jobs charged"
        f" ({report.charged_micro / 1e6:,.6f} credits), {report.closed} allocations closed"
    )


@users_app.command("add")
def add_user(
    ctx: typer.Context,
    integrator: int = typer.Option(..., min=1, max=ID_MAX),
    login: str = typer.Option(..., help="The login on the centre."),
) -> None:
    """Let a centre login submit jobs under the integrator's allocations."""
    context = context_of(ctx)
    write(
        context,
        lambda s: service.add_centre_user(
            s, integrator_id=integrator, username=login, clock=context.clock
        ),
    )
    say(f"login {login} submits for integrator {integrator}")


def _center(context: CliContext) -> Center:
    with context.database.read() as session:
        pools = exchange_queries.list_pools(
            session, now_ns=context.clock.now_ns(), limit=LIST_LIMIT_MAX
        )
    simulated: dict[str, int] = {}
    for pool in pools:
        code = pool.accelerator.lower()
        simulated[code] = simulated.get(code, 0) + pool.devices
    return open_center(context.settings, context.clock, simulated or None)


@centre_app.command("plan")
def plan(
    ctx: typer.Context,
    apply: bool = typer.Option(False, "--apply", help="Apply it to the centre."),
) -> None:
    """The accounts and limits the centre should enforce now, and (with --apply) the changes
    that bring it there."""
    context = context_of(ctx)
    with context.database.read() as session:
        desired = service.centre_plan(session, context.clock)
    for account in desired.accounts:
        say(
            f"{account.account}: users {', '.join(account.users) or '-'};"
            f" limit {account.billing_minutes_max:,} billing-minutes"
        )
    if apply:
        try:
            changes = _center(context).apply(desired)
        except CenterError as error:
            fail(f"the centre refused: {error}", code=1)
        for change in changes:
            say(f"applied {change.kind.value} {change.account} {change.user}".rstrip())


def worker(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="One beat, then exit."),
    interval_s: float = typer.Option(60.0, min=1, max=3600, help="Seconds between beats."),
    slot_hours: int = typer.Option(6, min=1, max=168, help="Round slot length."),
    slots: int = typer.Option(4, min=1, max=28, help="Slots each round clears."),
    policy: str = typer.Option("lp", help="lp, fcfs or quotas."),
    grace_hours: float = typer.Option(4.0, min=0, max=720, help="Reclaim grace period."),
) -> None:
    """Run the periodic duties: usage, settlement, reclaim, rounds, the centre plan, expiry,
    sealing. Each duty is idempotent and safe to re-run after a crash."""
    context = context_of(ctx)
    template = RoundParameters(
        start_ns=0,
        slot_s=slot_hours * 3600,
        slots=slots,
        policy=policy,
        grace_s=int(grace_hours * 3600),
    )
    if policy not in ("lp", "fcfs", "quotas"):
        fail(f"--policy: {policy!r} is not lp, fcfs or quotas")
    the_worker = Worker(context.database, context.clock, _center(context), template)
    if once:
        for result in the_worker.beat():
            say(
                f"{result.duty}: {result.done}"
                + (f" [red]{result.error}[/]" if result.error else "")
            )
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        run_forever(the_worker, interval_s, threading.Event())
    except KeyboardInterrupt:
        say("stopped")

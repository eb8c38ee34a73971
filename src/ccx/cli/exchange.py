"""`ccx exchange`: accelerator types, exchange rates, pools, compute requests, clearing rounds
(with a dry run), allocations and their explanations, reclaim and efficiency scores.

Amounts and rates are given and shown in credits (up to six decimals; rates per device-hour);
times in ISO 8601, UTC unless an offset is given (`2026-12-01T00:00Z`); throughputs, caps and
shares as decimals (`0.6`, `1.5`). Bad input exits 2 and writes nothing; a refusal exits 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import typer
from rich.table import Column, Table
from sqlalchemy.orm import Session

from ccx.cli.context import EXIT_BAD_INPUT, EXIT_REJECTED, CliContext, context_of, fail, out
from ccx.cli.programmes import LIST_LIMIT_MAX, credits_option, print_json, say, write
from ccx.exchange import (
    AcceleratorKind,
    AcceleratorType,
    Allocation,
    AllocationStatus,
    EfficiencyScore,
    NewPool,
    NewRequest,
    Pool,
    PoolPriceView,
    Request,
    RequestOption,
    RequestStatus,
    Round,
    RoundOutcome,
    RoundParameters,
    queries,
    rounds,
    service,
)
from ccx.exchange.problem import Plan, PlannedAllocation
from ccx.exchange.rounds import Gathered
from ccx.ids import ID_MAX
from ccx.ledger.types import LEDGER_MAX
from ccx.programs import InvalidRequestError, ProgrammeError
from ccx.programs.types import credits_text
from ccx.registry import OrgKind
from ccx.registry import queries as registry_queries

T = TypeVar("T")
NS_PER_S = 1_000_000_000
HOUR_NS = 3600 * NS_PER_S
MILLI = 1000

app = typer.Typer(
    help="The exchange: capacity, exchange rates, requests, clearing rounds, allocations.",
    no_args_is_help=True,
)
types_app = typer.Typer(help="The accelerator catalogue.", no_args_is_help=True)
rates_app = typer.Typer(help="Exchange rates: credits per device-hour, versioned.")
cap_app = typer.Typer(help="Programme caps on clearing prices.", no_args_is_help=True)
pools_app = typer.Typer(help="Pools of one accelerator type, with maintenance.")
requests_app = typer.Typer(help="Compute requests under mandates.", no_args_is_help=True)
rounds_app = typer.Typer(help="Committed clearing rounds.", no_args_is_help=True)
allocations_app = typer.Typer(help="Allocations, their holds and explanations.")
for sub_app, sub_name in (
    (types_app, "types"),
    (rates_app, "rates"),
    (cap_app, "price-cap"),
    (pools_app, "pools"),
    (requests_app, "requests"),
    (rounds_app, "rounds"),
    (allocations_app, "allocations"),
):
    sub_app.info.no_args_is_help = True
    app.add_typer(sub_app, name=sub_name)

AsJson = typer.Option(False, "--json", help="Print JSON.")
After = typer.Option(0, min=0, max=ID_MAX, help="Show ids after this one (paging).")
Limit = typer.Option(100, min=1, max=LIST_LIMIT_MAX)


# --- parsing -------------------------------------------------------------------------------


def time_ns(text: str, option: str) -> int:
    """An ISO 8601 time (UTC unless it names an offset) as nanoseconds since the epoch."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option}: {text!r} is not an ISO 8601 time such as 2026-12-01T00:00Z")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int(moment.timestamp())
    if seconds < 0:
        fail(f"{option}: {text!r} is before 1970")
    return seconds * NS_PER_S + moment.microsecond * 1000


def milli(text: str, option: str) -> int:
    """A non-negative decimal with at most three decimals, in thousandths ("1.5" → 1500)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        fail(f"{option}: {text!r} is not a number")
    scaled = value * MILLI
    if not value.is_finite() or scaled != scaled.to_integral_value():
        fail(f"{option}: {text!r} has more than three decimals")
    if not 0 <= scaled <= 10**12:
        fail(f"{option}: {text!r} is out of range")
    return int(scaled)


def device_seconds(text: str, option: str) -> int:
    """Device-hours written as a decimal, in whole device-seconds (rounded down)."""
    try:
        hours = Decimal(text.strip())
    except InvalidOperation:
        fail(f"{option}: {text!r} is not a number of device-hours")
    if not hours.is_finite() or not 0 <= hours <= 10**12:
        fail(f"{option}: {text!r} is out of range")
    return int(hours * 3600)


def request_option(text: str) -> RequestOption:
    code, separator, throughput = text.partition("=")
    if not separator:
        fail(f"--option {text!r}: write TYPE=THROUGHPUT (relative to an H100), e.g. A100=0.6")
    return RequestOption(code.strip(), milli(throughput, f"--option {code.strip()}"))


def when(ns: int | None) -> str:
    if ns is None:
        return ""
    return datetime.fromtimestamp(ns // NS_PER_S, tz=UTC).strftime("%Y-%m-%dT%H:%MZ")


def next_hour_ns(now_ns: int) -> int:
    return (now_ns // HOUR_NS + 1) * HOUR_NS


def _id(header: str) -> Column:
    """A column of ids, never wrapped or cut (they are copied into other commands)."""
    return Column(header, no_wrap=True, min_width=len(header))


def _read(context: CliContext, action: Callable[[Session], T]) -> T:
    """Run `action` in a read transaction; an error exits as `write` would."""
    try:
        with context.database.read() as session:
            return action(session)
    except ProgrammeError as error:
        bad = isinstance(error, InvalidRequestError)
        fail(str(error), code=EXIT_BAD_INPUT if bad else EXIT_REJECTED)


# --- types, rates, price caps ----------------------------------------------------------------


@types_app.command("list")
def list_types(ctx: typer.Context, as_json: bool = AsJson) -> None:
    """The accelerator catalogue with its published figures."""
    with context_of(ctx).database.read() as session:
        found = queries.list_accelerator_types(session)
    if as_json:
        print_json([asdict(item) for item in found])
        return
    table = Table("code", "name", "vendor", "kind", "memory GB", "BF16 TFLOPS", "INT8 TOPS")
    for item in found:
        table.add_row(
            item.code,
            item.name,
            item.vendor,
            item.kind.value,
            str(item.memory_gb),
            str(item.bf16_tflops or ""),
            str(item.int8_tops or ""),
        )
    out.print(table)


@types_app.command("add")
def add_type(
    ctx: typer.Context,
    code: str = typer.Option(..., help="Short code, e.g. GB200."),
    name: str = typer.Option(...),
    vendor: str = typer.Option(...),
    kind: AcceleratorKind = typer.Option(..., help="gpu or npu."),
    memory_gb: int = typer.Option(..., min=1, max=100_000),
    bf16_tflops: int | None = typer.Option(None, min=0, help="Dense BF16 peak, if published."),
    int8_tops: int | None = typer.Option(None, min=0, help="Dense INT8 peak, if published."),
    source: str = typer.Option(..., help="Where the figures come from."),
) -> None:
    """Add a type to the catalogue (adding the same type again changes nothing)."""
    new = AcceleratorType(code, name, vendor, kind, memory_gb, bf16_tflops, int8_tops, source)
    added = write(context_of(ctx), lambda s: service.add_accelerator_type(s, new))
    say(f"type {added.code}: {added.name} ({added.vendor}, {added.kind.value})")


@rates_app.command("list")
def list_rates(
    ctx: typer.Context,
    accelerator: str | None = typer.Option(None, "--type", help="Only this type's versions."),
    as_json: bool = AsJson,
) -> None:
    """Every version of the exchange rates, by type, oldest first."""
    with context_of(ctx).database.read() as session:
        found = queries.list_rates(session, accelerator=accelerator)
    if as_json:
        print_json([asdict(rate) for rate in found])
        return
    table = Table("type", "from", "credits per device-hour", "source")
    for rate in found:
        table.add_row(
            rate.accelerator,
            when(rate.effective_from_ns),
            credits_text(rate.rate_micro),
            rate.source,
        )
    out.print(table)


@rates_app.command("publish")
def publish_rate(
    ctx: typer.Context,
    accelerator: str = typer.Option(..., "--type", help="The accelerator type, e.g. H200."),
    rate: str = typer.Option(..., help="Credits per device-hour (up to six decimals)."),
    effective_from: str | None = typer.Option(
        None, "--from", help="When it takes effect, ISO 8601 (default: now)."
    ),
    source: str = typer.Option(..., help="Where the rate comes from."),
) -> None:
    """Publish a new version of a type's rate; allocations already made keep theirs."""
    context = context_of(ctx)
    rate_micro = credits_option(rate, "--rate")
    from_ns = (
        context.clock.now_ns() if effective_from is None else time_ns(effective_from, "--from")
    )
    published = write(
        context,
        lambda s: service.publish_rate(
            s,
            accelerator=accelerator,
            rate_micro=rate_micro,
            effective_from_ns=from_ns,
            source=source,
            clock=context.clock,
        ),
    )
    say(
        f"rate {published.id}: {published.accelerator} at {credits_text(published.rate_micro)}"
        f" credits per device-hour from {when(published.effective_from_ns)}"
    )


@cap_app.command("set")
def set_price_cap(
    ctx: typer.Context,
    programme: int = typer.Option(..., min=1, max=LEDGER_MAX),
    times: str = typer.Option(..., help="Most a price may be, as a multiple of the rate (1.5)."),
) -> None:
    """Cap the clearing prices charged to a programme's credits."""
    cap_milli = milli(times, "--times")
    write(
        context_of(ctx),
        lambda s: service.set_price_cap(s, programme_id=programme, price_cap_milli=cap_milli),
    )
    say(f"programme {programme}: prices at most {cap_milli / MILLI:g} times the published rate")


# --- pools -----------------------------------------------------------------------------------


def _print_pool(pool: Pool) -> None:
    say(f"pool {pool.id} {pool.name!r}: {pool.devices:,} {pool.accelerator}")
    for window in pool.maintenance:
        say(
            f"  maintenance {window.id}: {window.devices_out:,} out"
            f" from {when(window.start_ns)} to {when(window.end_ns)} ({window.reason})"
        )


@pools_app.command("create")
def create_pool(
    ctx: typer.Context,
    name: str = typer.Option(..., help="A unique name."),
    accelerator: str = typer.Option(..., "--type", help="The accelerator type, e.g. H100."),
    devices: int = typer.Option(..., min=0, max=ID_MAX),
) -> None:
    """Declare a pool of one accelerator type (declaring it again changes nothing)."""
    context = context_of(ctx)
    new = NewPool(name, accelerator, devices)
    _print_pool(write(context, lambda s: service.create_pool(s, new, context.clock)))


@pools_app.command("list")
def list_pools(
    ctx: typer.Context, after: int = After, limit: int = Limit, as_json: bool = AsJson
) -> None:
    """Pools in id order, with maintenance that has not ended."""
    context = context_of(ctx)
    with context.database.read() as session:
        found = queries.list_pools(
            session, now_ns=context.clock.now_ns(), limit=limit, after_id=after
        )
    if as_json:
        print_json([asdict(pool) for pool in found])
        return
    for pool in found:
        _print_pool(pool)


@pools_app.command("show")
def show_pool(
    ctx: typer.Context,
    pool_id: int = typer.Argument(..., min=1, max=ID_MAX),
    as_json: bool = AsJson,
) -> None:
    context = context_of(ctx)
    with context.database.read() as session:
        pool = queries.get_pool(session, pool_id, now_ns=context.clock.now_ns())
    if pool is None:
        fail(f"no pool {pool_id}", code=EXIT_REJECTED)
    if as_json:
        print_json(asdict(pool))
        return
    _print_pool(pool)


@pools_app.command("resize")
def resize_pool(
    ctx: typer.Context,
    pool_id: int = typer.Argument(..., min=1, max=ID_MAX),
    devices: int = typer.Option(..., min=0, max=ID_MAX),
) -> None:
    """Change a pool's device count; later rounds see the new count."""
    context = context_of(ctx)
    _print_pool(
        write(
            context,
            lambda s: service.resize_pool(s, pool_id=pool_id, devices=devices, clock=context.clock),
        )
    )


@pools_app.command("maintenance")
def schedule_maintenance(
    ctx: typer.Context,
    pool_id: int = typer.Argument(..., min=1, max=ID_MAX),
    start: str = typer.Option(..., help="ISO 8601."),
    end: str = typer.Option(..., help="ISO 8601."),
    devices_out: int = typer.Option(..., min=1, max=ID_MAX),
    reason: str = typer.Option(...),
) -> None:
    """Take devices out of service for a window; rounds over it offer that many fewer."""
    context = context_of(ctx)
    start_ns, end_ns = time_ns(start, "--start"), time_ns(end, "--end")
    window = write(
        context,
        lambda s: service.schedule_maintenance(
            s,
            pool_id=pool_id,
            start_ns=start_ns,
            end_ns=end_ns,
            devices_out=devices_out,
            reason=reason,
            clock=context.clock,
        ),
    )
    say(
        f"maintenance {window.id} on pool {window.pool_id}: {window.devices_out:,} out"
        f" from {when(window.start_ns)} to {when(window.end_ns)}"
    )


# --- requests --------------------------------------------------------------------------------


def _print_request(request: Request) -> None:
    options = ", ".join(
        f"{option.accelerator}={option.throughput_milli / MILLI:g}" for option in request.options
    )
    say(
        f"request {request.id} ({request.status.value}) under mandate {request.mandate_id}:"
        f" {request.work_device_hours:,} device-hours of {request.workload_class!r}"
        f" in jobs of {request.devices_per_job}, on {options},"
        f" {when(request.earliest_start_ns)} to {when(request.deadline_ns)},"
        f" at most {credits_text(request.max_credits_micro)} credits"
        f" (committed {credits_text(request.committed_micro)},"
        f" work allocated {request.allocated_work_milli / MILLI:g})"
    )


@requests_app.command("file")
def file_request(
    ctx: typer.Context,
    mandate: int = typer.Option(..., min=1, max=ID_MAX, help="The mandate it spends under."),
    key: str = typer.Option(..., help="Idempotency key: the same key again answers the same."),
    workload: str = typer.Option(..., help="Workload class, e.g. llm-finetune-8b."),
    devices_per_job: int = typer.Option(..., min=1, max=ID_MAX),
    device_hours: int = typer.Option(..., min=1, max=ID_MAX, help="Work at an H100's speed."),
    option: list[str] = typer.Option(
        ..., help="An acceptable type with its throughput relative to an H100 (repeat)."
    ),
    earliest: str = typer.Option(..., help="Earliest start, ISO 8601."),
    deadline: str = typer.Option(..., help="Deadline, ISO 8601."),
    max_credits: str = typer.Option(..., help="Most credits it may be charged."),
) -> None:
    """File a compute request under a mandate."""
    new = NewRequest(
        mandate_id=mandate,
        key=key,
        workload_class=workload,
        devices_per_job=devices_per_job,
        work_device_hours=device_hours,
        earliest_start_ns=time_ns(earliest, "--earliest"),
        deadline_ns=time_ns(deadline, "--deadline"),
        max_credits_micro=credits_option(max_credits, "--max-credits"),
        options=tuple(request_option(text) for text in option),
    )
    context = context_of(ctx)
    _print_request(write(context, lambda s: service.file_request(s, new, context.clock)))


@requests_app.command("list")
def list_requests(
    ctx: typer.Context,
    status: RequestStatus | None = typer.Option(None),
    integrator: int | None = typer.Option(None, min=1, max=ID_MAX),
    firm: int | None = typer.Option(None, min=1, max=ID_MAX),
    after: int = After,
    limit: int = Limit,
    as_json: bool = AsJson,
) -> None:
    """Requests in id order."""
    with context_of(ctx).database.read() as session:
        found = queries.list_requests(
            session,
            limit=limit,
            after_id=after,
            status=status,
            integrator_id=integrator,
            firm_id=firm,
        )
    if as_json:
        print_json([asdict(request) for request in found])
        return
    for request in found:
        _print_request(request)


@requests_app.command("show")
def show_request(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., min=1, max=ID_MAX),
    as_json: bool = AsJson,
) -> None:
    with context_of(ctx).database.read() as session:
        request = queries.get_request(session, request_id)
    if request is None:
        fail(f"no request {request_id}", code=EXIT_REJECTED)
    if as_json:
        print_json(asdict(request))
        return
    _print_request(request)


@requests_app.command("cancel")
def cancel_request(
    ctx: typer.Context, request_id: int = typer.Argument(..., min=1, max=ID_MAX)
) -> None:
    """Withdraw a request from later rounds; allocations already made stand."""
    _print_request(
        write(context_of(ctx), lambda s: service.cancel_request(s, request_id=request_id))
    )


# --- clearing --------------------------------------------------------------------------------


def _prices_table(prices: Iterable[PoolPriceView]) -> Table:
    table = Table("pool", "slot", "from", "rate", "dual", "price", "capacity", "allocated")
    for price in prices:
        table.add_row(
            str(price.pool_id),
            str(price.slot),
            when(price.slot_start_ns),
            credits_text(price.rate_micro),
            credits_text(price.dual_micro),
            credits_text(price.price_micro),
            f"{price.capacity_device_hours:,}",
            f"{price.allocated_device_hours:,}",
        )
    return table


def _allocations_table(rows: Iterable[Sequence[str]]) -> Table:
    table = Table(
        _id("allocation"), "request", "pool", "devices", "device-hours", "price", "amount",
        "binding",
    )  # fmt: skip
    for row in rows:
        table.add_row(*row)
    return table


def _allocation_row(allocation: Allocation) -> list[str]:
    return [
        str(allocation.id),
        str(allocation.request_id),
        f"{allocation.pool_id} {allocation.accelerator}",
        str(allocation.devices),
        f"{allocation.device_hours:,}",
        credits_text(allocation.price_micro),
        credits_text(allocation.amount_micro),
        ", ".join(allocation.explanation.binding),
    ]


def _planned_row(planned: PlannedAllocation, accelerator: str) -> list[str]:
    return [
        "(dry run)",
        str(planned.request_id),
        f"{planned.pool_id} {accelerator}",
        str(planned.devices),
        f"{planned.device_hours:,}",
        credits_text(planned.price_micro),
        credits_text(planned.amount_micro),
        ", ".join(planned.explanation.binding),
    ]


def _print_unplaced(unplaced: Iterable[tuple[int, Sequence[str]]]) -> None:
    for request_id, reasons in unplaced:
        say(f"  request {request_id} unplaced: {'; '.join(reasons)}")


def _print_round(round_: Round, allocations: Sequence[Allocation]) -> None:
    say(
        f"round {round_.id} ({round_.policy}): {round_.slots} slots of {round_.slot_s // 3600} h"
        f" from {when(round_.start_ns)}; {round_.requests} requests;"
        f" capacity {round_.capacity_device_hours:,} device-hours,"
        f" allocated {round_.allocated_device_hours:,}"
        f" ({credits_text(round_.allocated_micro)} credits),"
        f" reclaimed {round_.reclaimed_device_hours:,}, used {round_.used_device_hours:,},"
        f" idle {round_.idle_device_hours:,}; {len(round_.unplaced)} unplaced;"
        f" solved in {round_.solve_s:.3f} s"
    )
    _print_unplaced(round_.unplaced)
    out.print(_prices_table(round_.prices))
    out.print(_allocations_table(_allocation_row(item) for item in allocations))


def _print_plan(gathered: Gathered, plan: Plan) -> None:
    unplaced = rounds.plan_unplaced(gathered, plan)
    allocated = sum(item.device_hours for item in plan.allocations)
    amount = sum(item.amount_micro for item in plan.allocations)
    say(
        f"dry run ({plan.policy}), nothing committed: {len(gathered.requests)} requests;"
        f" capacity {gathered.capacity_device_hours:,} device-hours, allocated {allocated:,}"
        f" ({credits_text(amount)} credits); {len(unplaced)} unplaced;"
        f" solved in {plan.solve_s:.3f} s"
    )
    _print_unplaced(unplaced)
    out.print(_prices_table(rounds.plan_prices(gathered, plan)))
    types = {pool.pool_id: pool.accelerator for pool in gathered.problem.pools}
    out.print(_allocations_table(_planned_row(p, types[p.pool_id]) for p in plan.allocations))


def _plan_json(gathered: Gathered, plan: Plan) -> dict[str, Any]:
    return {
        "dry_run": True,
        "policy": plan.policy,
        "requests": len(gathered.requests),
        "capacity_device_hours": gathered.capacity_device_hours,
        "solve_s": plan.solve_s,
        "work_milli": plan.work_milli,
        "weighted_work_milli": plan.weighted_work_milli,
        "prices": [asdict(price) for price in rounds.plan_prices(gathered, plan)],
        "allocations": [asdict(item) for item in plan.allocations],
        "unplaced": [
            {"request_id": request_id, "reasons": list(reasons)}
            for request_id, reasons in rounds.plan_unplaced(gathered, plan)
        ],
    }


def _outcome_json(outcome: RoundOutcome) -> dict[str, Any]:
    return {
        "dry_run": False,
        "round": None if outcome.round is None else asdict(outcome.round),
        "allocations": [asdict(item) for item in outcome.allocations],
        "planned": outcome.planned,
        "dropped": [{"request_id": r, "reason": why} for r, why in outcome.dropped],
    }


@app.command("clear")
def clear(
    ctx: typer.Context,
    start: str | None = typer.Option(None, help="ISO 8601 (default: the next full hour)."),
    slot_hours: int = typer.Option(6, min=1, max=168, help="Hours per slot."),
    slots: int = typer.Option(4, min=1, max=28),
    policy: str = typer.Option("lp", help="lp, fcfs or quotas."),
    grace_hours: int = typer.Option(4, min=0, max=720, help="Reclaim if no job starts by then."),
    firm_cap: str = typer.Option("0.10", help="Most of a pool one firm may take."),
    integrator_cap: str = typer.Option("0.25", help="Most of a pool one integrator may take."),
    group_cap: str = typer.Option("0.15", help="Most of a pool one business group may take."),
    floor: str = typer.Option("0.5", help="Share of its fair share every small firm is owed."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan; commit nothing."),
    as_json: bool = AsJson,
) -> None:
    """Clear a round: allocate the coming period's capacity among open requests, price each
    pool and slot, and hold the credits of every allocation."""
    context = context_of(ctx)
    now_ns = context.clock.now_ns()
    parameters = RoundParameters(
        start_ns=next_hour_ns(now_ns) if start is None else time_ns(start, "--start"),
        slot_s=slot_hours * 3600,
        slots=slots,
        policy=policy,
        firm_share_milli=milli(firm_cap, "--firm-cap"),
        integrator_share_milli=milli(integrator_cap, "--integrator-cap"),
        group_share_milli=milli(group_cap, "--group-cap"),
        floor_share_milli=milli(floor, "--floor"),
        grace_s=grace_hours * 3600,
    )
    if dry_run:
        gathered, plan = _read(context, lambda s: rounds.plan_round(s, parameters, context.clock))
        if as_json:
            print_json(_plan_json(gathered, plan))
        else:
            _print_plan(gathered, plan)
        return
    outcome = write(context, lambda s: rounds.clear_round(s, parameters, context.clock))
    if as_json:
        print_json(_outcome_json(outcome))
        return
    assert outcome.round is not None
    _print_round(outcome.round, outcome.allocations)
    for request_id, why in outcome.dropped:
        say(f"  request {request_id} dropped: {why}")


@rounds_app.command("list")
def list_rounds(
    ctx: typer.Context, after: int = After, limit: int = Limit, as_json: bool = AsJson
) -> None:
    """Committed rounds in id order, with their figures."""
    with context_of(ctx).database.read() as session:
        found = queries.list_rounds(session, limit=limit, after_id=after)
    if as_json:
        print_json([asdict(round_) for round_ in found])
        return
    table = Table(
        _id("round"), "policy", "from", "slots", "requests", "capacity", "allocated",
        "reclaimed", "used", "idle", "credits",
    )  # fmt: skip
    for item in found:
        table.add_row(
            str(item.id),
            item.policy,
            when(item.start_ns),
            f"{item.slots} x {item.slot_s // 3600} h",
            str(item.requests),
            f"{item.capacity_device_hours:,}",
            f"{item.allocated_device_hours:,}",
            f"{item.reclaimed_device_hours:,}",
            f"{item.used_device_hours:,}",
            f"{item.idle_device_hours:,}",
            credits_text(item.allocated_micro),
        )
    out.print(table)


@rounds_app.command("show")
def show_round(
    ctx: typer.Context,
    round_id: int = typer.Argument(..., min=1, max=ID_MAX),
    as_json: bool = AsJson,
) -> None:
    """A round's figures, prices per pool and slot, and allocations."""
    with context_of(ctx).database.read() as session:
        round_ = queries.get_round(session, round_id)
        allocations = queries.list_allocations(session, limit=LIST_LIMIT_MAX, round_id=round_id)
    if round_ is None:
        fail(f"no round {round_id}", code=EXIT_REJECTED)
    if as_json:
        print_json({**asdict(round_), "allocations": [asdict(a) for a in allocations]})
        return
    _print_round(round_, allocations)


# --- allocations -----------------------------------------------------------------------------


@allocations_app.command("list")
def list_allocations(
    ctx: typer.Context,
    round_id: int | None = typer.Option(None, "--round", min=1, max=ID_MAX),
    request: int | None = typer.Option(None, min=1, max=ID_MAX),
    integrator: int | None = typer.Option(None, min=1, max=ID_MAX),
    firm: int | None = typer.Option(None, min=1, max=ID_MAX),
    status: AllocationStatus | None = typer.Option(None),
    after: int = After,
    limit: int = Limit,
    as_json: bool = AsJson,
) -> None:
    """Allocations in id order."""
    with context_of(ctx).database.read() as session:
        found = queries.list_allocations(
            session,
            limit=limit,
            after_id=after,
            round_id=round_id,
            request_id=request,
            integrator_id=integrator,
            firm_id=firm,
            status=status,
        )
    if as_json:
        print_json([asdict(allocation) for allocation in found])
        return
    table = Table(
        _id("allocation"), "round", "request", "pool", "devices", "device-hours", "from",
        "rate", "price", "amount", "status",
    )  # fmt: skip
    for item in found:
        table.add_row(
            str(item.id),
            str(item.round_id),
            str(item.request_id),
            f"{item.pool_id} {item.accelerator}",
            str(item.devices),
            f"{item.device_hours:,}",
            when(item.start_ns),
            credits_text(item.rate_micro),
            credits_text(item.price_micro),
            credits_text(item.amount_micro),
            item.status.value,
        )
    out.print(table)


def _allocation(context: CliContext, allocation_id: int) -> Allocation:
    with context.database.read() as session:
        allocation = queries.get_allocation(session, allocation_id)
    if allocation is None:
        fail(f"no allocation {allocation_id}", code=EXIT_REJECTED)
    return allocation


def _print_allocation(allocation: Allocation) -> None:
    say(
        f"allocation {allocation.id} ({allocation.status.value}), round {allocation.round_id},"
        f" request {allocation.request_id}: {allocation.device_hours:,} device-hours on pool"
        f" {allocation.pool_id} ({allocation.accelerator}) in jobs of {allocation.devices},"
        f" {when(allocation.start_ns)} to {when(allocation.end_ns)};"
        f" {credits_text(allocation.amount_micro)} credits held (spend {allocation.spend_id})"
    )


@allocations_app.command("explain")
def explain(
    ctx: typer.Context,
    allocation_id: int = typer.Argument(..., min=1, max=ID_MAX),
    as_json: bool = AsJson,
) -> None:
    """Why an allocation is where it is: its alternatives, what a credit buys on each, the
    binding constraints, its price against the published rate, and its slots."""
    allocation = _allocation(context_of(ctx), allocation_id)
    if as_json:
        print_json(asdict(allocation))
        return
    explanation = allocation.explanation
    _print_allocation(allocation)
    say(f"  {explanation.summary}")
    say(
        f"  price {credits_text(allocation.price_micro)} credits per device-hour against the"
        f" published rate of {credits_text(allocation.rate_micro)}"
        f" ({allocation.price_micro / allocation.rate_micro:.3f} times)"
    )
    say(f"  binding: {', '.join(explanation.binding) or 'none'}")
    table = Table("pool", "type", "throughput", "rate", "work per credit")
    for item in explanation.alternatives:
        table.add_row(
            str(item.pool_id),
            item.accelerator,
            f"{item.throughput_milli / MILLI:g}",
            credits_text(item.rate_micro),
            f"{item.work_milli_per_credit / MILLI:.3f} H100-hours",
        )
    out.print(table)
    slots = ", ".join(f"slot {use.slot}: {use.device_hours:,}" for use in allocation.slots)
    say(f"  device-hours by slot: {slots}")


@allocations_app.command("start")
def start(
    ctx: typer.Context,
    allocation_id: int = typer.Argument(..., min=1, max=ID_MAX),
    at: str | None = typer.Option(None, help="When the job started, ISO 8601 (default: now)."),
) -> None:
    """Record that a job started under the allocation (it is then never reclaimed)."""
    context = context_of(ctx)
    started_ns = context.clock.now_ns() if at is None else time_ns(at, "--at")
    _print_allocation(
        write(
            context,
            lambda s: rounds.record_start(s, allocation_id=allocation_id, started_at_ns=started_ns),
        )
    )


@allocations_app.command("settle")
def settle(
    ctx: typer.Context,
    allocation_id: int = typer.Argument(..., min=1, max=ID_MAX),
    used_device_hours: str = typer.Option(..., help="Device-hours its jobs used (decimal)."),
    utilisation: str | None = typer.Option(None, help="Measured utilisation, 0 to 1."),
) -> None:
    """Settle on what was used: post that share of the hold, release the rest."""
    context = context_of(ctx)
    used_s = device_seconds(used_device_hours, "--used-device-hours")
    utilisation_milli = None if utilisation is None else milli(utilisation, "--utilisation")
    settled = write(
        context,
        lambda s: rounds.settle_allocation(
            s,
            allocation_id=allocation_id,
            used_device_s=used_s,
            utilisation_milli=utilisation_milli,
            clock=context.clock,
        ),
    )
    _print_allocation(settled)
    say(f"  posted {credits_text(settled.posted_micro or 0)} credits, released the rest")


@app.command("reclaim")
def reclaim(ctx: typer.Context) -> None:
    """Reclaim allocations with no job started within their grace period: void their holds
    and give their capacity and work back to the next round."""
    context = context_of(ctx)
    reclaimed = write(context, lambda s: rounds.reclaim_idle(s, context.clock))
    for allocation in reclaimed:
        _print_allocation(allocation)
    say(
        f"{len(reclaimed)} allocation(s) reclaimed"
        f" ({credits_text(sum(item.amount_micro for item in reclaimed))} credits released)"
    )


def _integrator_ids(session: Session, given: Sequence[int]) -> list[int]:
    if given:
        return sorted(set(given))
    found = registry_queries.list_organisations(
        session, limit=LIST_LIMIT_MAX, kind=OrgKind.INTEGRATOR
    )
    return [org.id for org in found]


def _print_score(score: EfficiencyScore) -> None:
    say(
        f"integrator {score.integrator_id}: {score.score_milli / MILLI:.3f}"
        f" ({score.allocations} resolved, {score.reclaimed} reclaimed) — {score.explanation}"
    )


@app.command("scores")
def scores(
    ctx: typer.Context,
    integrator: list[int] = typer.Option(
        [], min=1, max=ID_MAX, help="Only these integrators (repeat; default: every one)."
    ),
    as_json: bool = AsJson,
) -> None:
    """Efficiency scores: how much of what each integrator was allocated it used, and how
    well; they weight its later requests."""
    with context_of(ctx).database.read() as session:
        found = queries.efficiency_scores(session, _integrator_ids(session, integrator))
    if as_json:
        print_json([asdict(score) for score in found.values()])
        return
    for score in found.values():
        _print_score(score)


@app.command("throughput")
def report_throughput(
    ctx: typer.Context,
    integrator: int = typer.Option(..., min=1, max=ID_MAX, help="The integrator that ran it."),
    workload: str = typer.Option(..., help="The workload class, as in its requests."),
    accelerator: str = typer.Option(..., "--type", help="The accelerator type it ran on."),
    throughput: str = typer.Option(..., help="Measured speed relative to an H100 (0.6)."),
) -> None:
    """Report a throughput measured on a run. Once three runs of a workload class on a type
    are known, rounds use their mean instead of what requests declare."""
    measured = milli(throughput, "--throughput")
    context = context_of(ctx)
    mean = write(
        context,
        lambda s: service.learn_throughput(
            s,
            integrator_id=integrator,
            workload_class=workload,
            accelerator=accelerator.strip().upper(),
            measured_milli=measured,
        ),
    )
    say(f"{workload} on {accelerator.upper()}: mean throughput {mean / 1000:.3f} of an H100")

"""Clearing rounds and the life of an allocation. Each write takes a session inside an open
transaction and never commits.

A round gathers its inputs (capacity left in each pool and slot, the rates in force, the open
requests with what each may still spend), hands them as plain values to a policy, then
persists the plan and places one ledger hold per allocation, all in the caller's one
transaction. A hold that the programme refuses (the firm spent its credits meanwhile) drops
that allocation alone, inside a savepoint; the round records why.

After the round: `record_start` marks an allocation running, `reclaim_idle` voids the holds of
allocations with no job started within the grace period, and `settle_allocation` posts what
was used and voids the rest.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.clock import Clock
from ccx.exchange import queries, rules
from ccx.exchange.baselines import FirstComeFirstServed, StaticQuotas
from ccx.exchange.clearing import EfficiencyLP
from ccx.exchange.models import (
    AllocationRow,
    AllocationSlotRow,
    ChargeRow,
    MaintenanceRow,
    PoolRow,
    RequestRow,
    RoundPriceRow,
    RoundRow,
)
from ccx.exchange.problem import (
    Bid,
    Caps,
    ClearingProblem,
    Infeasible,
    Option,
    Plan,
    PlannedAllocation,
    Policy,
    PoolSupply,
    Slots,
)
from ccx.exchange.types import (
    Allocation,
    AllocationStatus,
    ExchangeRate,
    PoolPriceView,
    RequestStatus,
    RoundOutcome,
    RoundParameters,
)
from ccx.ids import derived_id
from ccx.ledger.types import TIMEOUT_S_MAX
from ccx.programs import drawing, mandates
from ccx.programs import queries as programme_queries
from ccx.programs.errors import ConflictError, NotFoundError, ProgrammeError, RefusedError
from ccx.programs.rules import in_range, text_problems
from ccx.programs.service import check_problems
from ccx.programs.types import ReasonCode, SpendKind
from ccx.registry import queries as registry_queries
from ccx.registry.service import utc_today
from ccx.registry.types import OrgKind

NS_PER_S = 1_000_000_000
S_PER_HOUR = 3600
MILLI = 1000
REQUESTS_PER_ROUND_MAX = 200_000
SETTLE_WINDOW_S = 7 * 86_400
"""An allocation's hold times out this long after the allocation ends: credits never stay
held by an allocation nobody settles."""
RECLAIM_BATCH_MAX = 1000
USAGE_KEY_CHARS_MAX = 200
DEVICE_S_MAX = 10**15

POLICIES: Mapping[str, Policy] = {
    policy.name: policy for policy in (EfficiencyLP(), FirstComeFirstServed(), StaticQuotas())
}


class RoundInfeasibleError(ProgrammeError):
    """The policy found no plan for the round; `reasons` says why."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = tuple(reasons)
        super().__init__("the round cannot be cleared: " + "; ".join(self.reasons))


@dataclass(frozen=True, slots=True)
class Gathered:
    """A round's inputs: the problem for the policy, and what persisting its plan needs."""

    problem: ClearingProblem
    requests: Mapping[int, RequestRow]
    price_caps_milli: Mapping[int, int]  # by programme
    capacity_device_hours: int
    ineligible: tuple[tuple[int, tuple[str, ...]], ...]  # request id, reasons


# --- gathering -------------------------------------------------------------------------------


def gather(session: Session, parameters: RoundParameters, clock: Clock) -> Gathered:
    """Read what a round with these parameters would clear (locks the requests' credit
    sources, so that the holds placed in the same transaction cannot be refused)."""
    check_problems(rules.round_problems(parameters))
    slots = Slots(parameters.start_ns, parameters.slot_s, parameters.slots)
    rows = _open_requests(session, slots)
    rates = queries.rates_in_force(session, slots.start_ns)
    caps = queries.price_caps_milli(session, sorted({row.programme_id for row in rows}))
    pools = _supplies(session, slots, rates, max(caps.values(), default=MILLI))
    bids, ineligible = _bids(session, rows, clock)
    capacity = sum(sum(pool.devices_by_slot) for pool in pools) * parameters.slot_s // S_PER_HOUR
    return Gathered(
        problem=ClearingProblem(
            slots=slots,
            pools=tuple(pools),
            bids=tuple(bids),
            caps=Caps(
                firm_share_milli=parameters.firm_share_milli,
                integrator_share_milli=parameters.integrator_share_milli,
                group_share_milli=parameters.group_share_milli,
                floor_share_milli=parameters.floor_share_milli,
            ),
        ),
        requests={row.id: row for row in rows},
        price_caps_milli=caps,
        capacity_device_hours=capacity,
        ineligible=tuple(ineligible),
    )


def _open_requests(session: Session, slots: Slots) -> list[RequestRow]:
    return list(
        session.scalars(
            sa.select(RequestRow)
            .where(
                RequestRow.status == RequestStatus.OPEN.value,
                RequestRow.deadline_ns > slots.start_ns,
                RequestRow.earliest_start_ns < slots.end_ns,
            )
            .order_by(RequestRow.created_at_ns, RequestRow.id)
            .limit(REQUESTS_PER_ROUND_MAX)
        )
    )


def _supplies(
    session: Session, slots: Slots, rates: Mapping[str, ExchangeRate], cap_milli: int
) -> list[PoolSupply]:
    """Each priced pool's devices per slot: its count, less maintenance and less what live
    allocations of earlier rounds hold in the slot."""
    pools = list(
        session.scalars(sa.select(PoolRow).where(PoolRow.devices > 0).order_by(PoolRow.id))
    )
    pools = [pool for pool in pools if pool.accelerator in rates]
    ids = [pool.id for pool in pools]
    out = _maintenance_out(session, ids, slots)
    taken = _taken_device_hours(session, ids, slots)
    hours = slots.slot_s / S_PER_HOUR
    return [
        PoolSupply(
            pool_id=pool.id,
            accelerator=pool.accelerator,
            devices_by_slot=tuple(
                max(0, pool.devices - out[pool.id, slot] - math.ceil(taken[pool.id, slot] / hours))
                for slot in range(slots.count)
            ),
            rate_micro=rates[pool.accelerator].rate_micro,
            price_cap_micro=rates[pool.accelerator].rate_micro * cap_milli // MILLI,
        )
        for pool in pools
    ]


def _slot_overlaps(slots: Slots, start_ns: int, end_ns: int) -> Iterable[tuple[int, int]]:
    """(slot, overlap in ns) for each slot that [start_ns, end_ns) overlaps."""
    for slot in range(slots.count):
        low = max(start_ns, slots.slot_start_ns(slot))
        high = min(end_ns, slots.slot_start_ns(slot + 1))
        if high > low:
            yield slot, high - low


def _maintenance_out(
    session: Session, pool_ids: Sequence[int], slots: Slots
) -> defaultdict[tuple[int, int], int]:
    """Devices out of service in each pool and slot: every window that touches the slot counts
    for the whole slot (capacity is never overstated)."""
    out: defaultdict[tuple[int, int], int] = defaultdict(int)
    windows = session.scalars(
        sa.select(MaintenanceRow).where(
            MaintenanceRow.pool_id.in_(pool_ids),
            MaintenanceRow.end_ns > slots.start_ns,
            MaintenanceRow.start_ns < slots.end_ns,
        )
    )
    for window in windows:
        for slot, _ in _slot_overlaps(slots, window.start_ns, window.end_ns):
            out[window.pool_id, slot] += window.devices_out
    return out


def _taken_device_hours(
    session: Session, pool_ids: Sequence[int], slots: Slots
) -> defaultdict[tuple[int, int], float]:
    """Device-hours that live allocations (held or running) hold in each pool and slot, each
    allocation slot spread evenly over its time."""
    taken: defaultdict[tuple[int, int], float] = defaultdict(float)
    rows = session.execute(
        sa.select(
            AllocationRow.pool_id,
            AllocationSlotRow.start_ns,
            AllocationSlotRow.end_ns,
            AllocationSlotRow.device_hours,
        )
        .join(AllocationRow, AllocationRow.id == AllocationSlotRow.allocation_id)
        .where(
            AllocationRow.pool_id.in_(pool_ids),
            AllocationRow.status.in_([AllocationStatus.HELD.value, AllocationStatus.RUNNING.value]),
            AllocationSlotRow.end_ns > slots.start_ns,
            AllocationSlotRow.start_ns < slots.end_ns,
        )
    )
    for pool_id, start_ns, end_ns, device_hours in rows:
        for slot, overlap_ns in _slot_overlaps(slots, start_ns, end_ns):
            taken[pool_id, slot] += device_hours * overlap_ns / (end_ns - start_ns)
    return taken


def _bids(
    session: Session, rows: Sequence[RequestRow], clock: Clock
) -> tuple[list[Bid], list[tuple[int, tuple[str, ...]]]]:
    """The bids of the requests that may spend now, with budgets; every other request with
    the reasons it may not."""
    today = utc_today(clock)
    budgets, ineligible = _budgets(session, rows, today)
    integrators = sorted({row.integrator_id for row in rows})
    scores = queries.efficiency_scores(session, integrators)
    learned = queries.learned_throughputs(session, integrators)
    firms = registry_queries.organisations_by_id(session, sorted({row.firm_id for row in rows}))
    bids = []
    for row in rows:
        budget = budgets.get(row.id, 0)
        work = (row.work_device_hours * MILLI - row.allocated_work_milli) // MILLI
        if row.id not in budgets or budget <= 0 or work <= 0:
            continue
        firm = firms[row.firm_id]
        bids.append(
            Bid(
                request_id=row.id,
                firm_id=row.firm_id,
                integrator_id=row.integrator_id,
                group_id=None
                if firm.business_group is None
                else derived_id("business-group", firm.business_group),
                small_firm=firm.kind is OrgKind.SME,
                submitted_at_ns=row.created_at_ns,
                devices_per_job=row.devices_per_job,
                work_device_hours=work,
                earliest_start_ns=row.earliest_start_ns,
                deadline_ns=row.deadline_ns,
                budget_micro=budget,
                score_milli=scores[row.integrator_id].score_milli,
                options=tuple(
                    Option(
                        item["accelerator"],
                        learned.get(
                            (row.integrator_id, row.workload_class, item["accelerator"]),
                            item["throughput_milli"],
                        ),
                    )
                    for item in row.options
                ),
            )
        )
    return bids, ineligible


def _budgets(
    session: Session, rows: Sequence[RequestRow], today: date
) -> tuple[dict[int, int], list[tuple[int, tuple[str, ...]]]]:
    """What each request may still spend: its own maximum less what it committed, within its
    mandate's room and its credit source's balance, both shared among the open requests that
    draw on them in proportion to what each still wants."""
    wants = {row.id: row.max_credits_micro - row.committed_micro for row in rows}
    by_mandate: dict[int, list[RequestRow]] = {}
    for row in rows:
        by_mandate.setdefault(row.mandate_id, []).append(row)
    room: dict[int, int] = {}
    by_source: dict[tuple[int, int, bool], list[RequestRow]] = {}
    available: dict[tuple[int, int, bool], int] = {}
    ineligible: list[tuple[int, tuple[str, ...]]] = []
    for mandate_id in sorted(by_mandate):
        mandate = programme_queries.get_mandate(session, mandate_id)
        assert mandate is not None
        source = (
            mandate.programme_id,
            mandate.consortium_id or mandate.firm_id,
            mandate.consortium_id is not None,
        )
        if source not in available:
            available[source] = mandates.spendable_micro(
                session, mandate_id=mandate_id, today=today
            )
        reasons = drawing.spend_reasons(
            mandate,
            kind=SpendKind.COMPUTE,
            amount_micro=1,
            available_micro=available[source],
            certification=registry_queries.get_certification(session, mandate.integrator_id),
            today=today,
        )
        if reasons:
            ineligible += [
                (row.id, tuple(r.text for r in reasons)) for row in by_mandate[mandate_id]
            ]
            continue
        room[mandate_id] = mandate.cap_micro - mandate.drawn_micro
        by_source.setdefault(source, []).extend(by_mandate[mandate_id])
    budgets = {row.id: wants[row.id] for rows_ in by_mandate.values() for row in rows_}
    for mandate_id, limit in room.items():
        _share(budgets, by_mandate[mandate_id], limit)
    for source, members in by_source.items():
        _share(budgets, members, available[source])
    eligible = {row.id for members in by_source.values() for row in members}
    return {key: value for key, value in budgets.items() if key in eligible}, ineligible


def _share(budgets: dict[int, int], rows: Sequence[RequestRow], limit_micro: int) -> None:
    """Scale the budgets of `rows` down, in proportion, so that together they fit the limit."""
    total = sum(budgets[row.id] for row in rows)
    if total <= limit_micro:
        return
    for row in rows:
        budgets[row.id] = budgets[row.id] * limit_micro // total


# --- clearing --------------------------------------------------------------------------------


def plan_round(
    session: Session, parameters: RoundParameters, clock: Clock
) -> tuple[Gathered, Plan]:
    """The plan a round would commit, without committing anything (the dry run)."""
    gathered = gather(session, parameters, clock)
    outcome = POLICIES[parameters.policy].clear(gathered.problem)
    if isinstance(outcome, Infeasible):
        raise RoundInfeasibleError(outcome.reasons)
    return gathered, outcome


def plan_prices(gathered: Gathered, plan: Plan) -> list[PoolPriceView]:
    """A plan's prices as a committed round shows them: with each pool's published rate and
    each slot's start."""
    rates = {pool.pool_id: pool.rate_micro for pool in gathered.problem.pools}
    return [
        PoolPriceView(
            pool_id=price.pool_id,
            slot=price.slot,
            slot_start_ns=gathered.problem.slots.slot_start_ns(price.slot),
            rate_micro=rates[price.pool_id],
            dual_micro=price.dual_micro,
            price_micro=price.price_micro,
            capacity_device_hours=price.capacity_device_hours,
            allocated_device_hours=price.allocated_device_hours,
        )
        for price in plan.prices
    ]


def plan_unplaced(gathered: Gathered, plan: Plan) -> list[tuple[int, tuple[str, ...]]]:
    """Every request a plan leaves out, with its reasons, by request id."""
    return sorted(
        [*gathered.ineligible, *((item.request_id, item.reasons) for item in plan.unplaced)]
    )


def clear_round(session: Session, parameters: RoundParameters, clock: Clock) -> RoundOutcome:
    """Clear a round and commit its plan: the round with its prices and figures, and one
    allocation with a ledger hold per planned allocation. Requests whose deadlines have
    passed are closed first."""
    _lock_rounds(session)
    expire_requests(session, clock)
    gathered, plan = plan_round(session, parameters, clock)
    round_row = _round_row(gathered, plan, parameters, clock)
    session.add(round_row)
    session.flush()
    prices = {(price.pool_id, price.slot): price.price_micro for price in plan.prices}
    allocations, dropped = [], []
    for planned in plan.allocations:
        try:
            with session.begin_nested():
                allocations.append(
                    _commit_allocation(
                        session,
                        round_row,
                        gathered=gathered,
                        planned=planned,
                        prices=prices,
                        clock=clock,
                    )
                )
        except RefusedError as refusal:
            dropped.append((planned.request_id, str(refusal)))
    _record_figures(session, round_row, plan, allocations, dropped)
    round_ = queries.get_round(session, round_row.id)
    return RoundOutcome(
        round=round_,
        allocations=tuple(allocations),
        planned=len(plan.allocations),
        dropped=tuple(dropped),
    )


def _lock_rounds(session: Session) -> None:
    """One round at a time (SQLite writers are serialised already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(7243000008)"))


def _round_row(
    gathered: Gathered, plan: Plan, parameters: RoundParameters, clock: Clock
) -> RoundRow:
    unplaced = [
        {"request_id": request_id, "reasons": list(reasons)}
        for request_id, reasons in gathered.ineligible
    ] + [{"request_id": item.request_id, "reasons": list(item.reasons)} for item in plan.unplaced]
    return RoundRow(
        policy=plan.policy,
        start_ns=parameters.start_ns,
        slot_s=parameters.slot_s,
        slots=parameters.slots,
        grace_s=parameters.grace_s,
        firm_share_milli=parameters.firm_share_milli,
        integrator_share_milli=parameters.integrator_share_milli,
        group_share_milli=parameters.group_share_milli,
        floor_share_milli=parameters.floor_share_milli,
        solve_us=round(plan.solve_s * 1_000_000),
        requests=len(gathered.requests),
        capacity_device_hours=gathered.capacity_device_hours,
        allocated_device_hours=0,
        reclaimed_device_hours=0,
        used_device_s=0,
        allocated_micro=0,
        unplaced=sorted(unplaced, key=lambda item: item["request_id"]),
        created_at_ns=clock.now_ns(),
    )


def _capped(
    planned: PlannedAllocation, prices: Mapping[tuple[int, int], int], cap_milli: int
) -> int:
    """The allocation's amount with each slot's price held to its programme's cap."""
    cap_micro = planned.rate_micro * cap_milli // MILLI
    return sum(
        min(prices[planned.pool_id, use.slot], cap_micro) * use.device_hours
        for use in planned.slots
    )


def _commit_allocation(
    session: Session,
    round_row: RoundRow,
    *,
    gathered: Gathered,
    planned: PlannedAllocation,
    prices: Mapping[tuple[int, int], int],
    clock: Clock,
) -> Allocation:
    request = gathered.requests[planned.request_id]
    amount_micro = _capped(planned, prices, gathered.price_caps_milli[request.programme_id])
    timeout_s = max(1, (planned.end_ns - clock.now_ns()) // NS_PER_S + SETTLE_WINDOW_S)
    spend = mandates.spend_under_mandate(
        session,
        mandate_id=request.mandate_id,
        amount_micro=amount_micro,
        purpose=f"compute: round {round_row.id}, request {request.id}, pool {planned.pool_id}",
        transfer_key=f"round-{round_row.id}-request-{request.id}-pool-{planned.pool_id}",
        clock=clock,
        pending=True,
        timeout_s=min(timeout_s, TIMEOUT_S_MAX),
    )
    start_ns = max(planned.start_ns, clock.now_ns())
    row = AllocationRow(
        round_id=round_row.id,
        request_id=request.id,
        pool_id=planned.pool_id,
        mandate_id=request.mandate_id,
        programme_id=request.programme_id,
        firm_id=request.firm_id,
        integrator_id=request.integrator_id,
        spend_id=spend.id,
        devices=planned.devices,
        device_hours=planned.device_hours,
        start_ns=planned.start_ns,
        end_ns=planned.end_ns,
        rate_micro=planned.rate_micro,
        price_micro=amount_micro // planned.device_hours,
        amount_micro=amount_micro,
        work_milli=planned.work_milli,
        status=AllocationStatus.HELD.value,
        reclaim_after_ns=start_ns + round_row.grace_s * NS_PER_S,
        started_at_ns=None,
        used_device_s=0,
        utilisation_milli=None,
        posted_micro=0,
        held_micro=amount_micro,
        resolved_at_ns=None,
        explanation=queries.explanation_to_json(planned.explanation, planned.slots),
        created_at_ns=clock.now_ns(),
    )
    session.add(row)
    session.flush()
    session.add_all(
        AllocationSlotRow(
            allocation_id=row.id,
            start_ns=max(
                round_row.start_ns + use.slot * round_row.slot_s * NS_PER_S, planned.start_ns
            ),
            end_ns=min(
                round_row.start_ns + (use.slot + 1) * round_row.slot_s * NS_PER_S, planned.end_ns
            ),
            device_hours=use.device_hours,
        )
        for use in planned.slots
    )
    request.allocated_work_milli += planned.work_milli
    request.committed_micro += amount_micro
    if request.allocated_work_milli // MILLI >= request.work_device_hours:
        request.status = RequestStatus.ALLOCATED.value
    session.flush()
    allocation = queries.get_allocation(session, row.id)
    assert allocation is not None
    return allocation


def _record_figures(
    session: Session,
    round_row: RoundRow,
    plan: Plan,
    allocations: Sequence[Allocation],
    dropped: Sequence[tuple[int, str]],
) -> None:
    kept = {(item.request_id, item.pool_id) for item in allocations}
    allocated: dict[tuple[int, int], int] = {}
    for planned in plan.allocations:
        if (planned.request_id, planned.pool_id) in kept:
            for use in planned.slots:
                key = (planned.pool_id, use.slot)
                allocated[key] = allocated.get(key, 0) + use.device_hours
    rates = {planned.pool_id: planned.rate_micro for planned in plan.allocations}
    session.add_all(
        RoundPriceRow(
            round_id=round_row.id,
            pool_id=price.pool_id,
            slot=price.slot,
            rate_micro=rates.get(price.pool_id, price.price_micro),
            dual_micro=price.dual_micro,
            price_micro=price.price_micro,
            capacity_device_hours=price.capacity_device_hours,
            allocated_device_hours=allocated.get((price.pool_id, price.slot), 0),
        )
        for price in plan.prices
    )
    round_row.allocated_device_hours = sum(item.device_hours for item in allocations)
    round_row.allocated_micro = sum(item.amount_micro for item in allocations)
    round_row.unplaced = sorted(
        [*round_row.unplaced, *({"request_id": r, "reasons": [why]} for r, why in dropped)],
        key=lambda item: item["request_id"],
    )
    session.flush()


# --- after the round -------------------------------------------------------------------------


def expire_requests(session: Session, clock: Clock) -> int:
    """Close the open requests whose deadline has passed; returns how many."""
    result = session.execute(
        sa.update(RequestRow)
        .where(
            RequestRow.status == RequestStatus.OPEN.value, RequestRow.deadline_ns <= clock.now_ns()
        )
        .values(status=RequestStatus.EXPIRED.value)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _locked_allocation(session: Session, allocation_id: int) -> AllocationRow:
    row = session.get(AllocationRow, allocation_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no allocation {allocation_id}")
    return row


def _allocation(session: Session, allocation_id: int) -> Allocation:
    allocation = queries.get_allocation(session, allocation_id)
    assert allocation is not None
    return allocation


def record_start(session: Session, *, allocation_id: int, started_at_ns: int) -> Allocation:
    """A job started under the allocation: it is no longer idle. Later starts change nothing."""
    row = _locked_allocation(session, allocation_id)
    if row.status == AllocationStatus.HELD.value:
        row.status = AllocationStatus.RUNNING.value
        row.started_at_ns = started_at_ns
        session.flush()
    elif row.status != AllocationStatus.RUNNING.value:
        raise ConflictError(
            f"allocation {allocation_id} is {row.status}: no job may start under it"
        )
    return _allocation(session, allocation_id)


def reclaim_idle(
    session: Session, clock: Clock, *, limit: int = RECLAIM_BATCH_MAX
) -> list[Allocation]:
    """Reclaim allocations with no job started within their grace period: void their holds
    (the credits return to the firm's lots), free their capacity for the next round and give
    their work back to their requests. Returns what it reclaimed (at most `limit`)."""
    ids = list(
        session.scalars(
            sa.select(AllocationRow.id)
            .where(
                AllocationRow.status == AllocationStatus.HELD.value,
                AllocationRow.reclaim_after_ns <= clock.now_ns(),
            )
            .order_by(AllocationRow.reclaim_after_ns, AllocationRow.id)
            .limit(limit)
        )
    )
    return [_reclaim(session, allocation_id, clock) for allocation_id in ids]


def _reclaim(session: Session, allocation_id: int, clock: Clock) -> Allocation:
    row = _locked_allocation(session, allocation_id)
    _release_hold(session, row, post_micro=0, clock=clock)
    row.status = AllocationStatus.RECLAIMED.value
    row.resolved_at_ns = clock.now_ns()
    _give_back(session, row, work_milli=row.work_milli, credits_micro=row.amount_micro, clock=clock)
    round_row = session.get(RoundRow, row.round_id, with_for_update=True)
    assert round_row is not None
    round_row.reclaimed_device_hours += row.device_hours
    session.flush()
    return _allocation(session, allocation_id)


def charge_usage(
    session: Session, *, allocation_id: int, usage_key: str, used_device_s: int, clock: Clock
) -> Allocation:
    """Charge one metered usage (a finished job) to a running allocation: post its cost from
    the hold (amount * used / allocated; the whole rest when it uses the last of the
    allocation) and hold the remainder again under a spend keyed by the usage, in one
    transaction. The same usage key again changes nothing; usage beyond the allocation is not
    charged (the scheduler refuses to run it)."""
    row = _locked_allocation(session, allocation_id)
    usage = Usage(usage_key, used_device_s)
    if _already_charged(session, row, [usage]):
        return _allocation(session, allocation_id)
    cost_micro = _add_charges(session, row, [usage], clock)
    rest_micro = row.held_micro - cost_micro
    _release_hold(session, row, post_micro=cost_micro, clock=clock)
    _hold_again(session, row, rest_micro, usage_key, clock)
    session.flush()
    return _allocation(session, allocation_id)


@dataclass(frozen=True, slots=True)
class Usage:
    """One metered usage to charge: its key (cluster|job|step) and device-seconds."""

    key: str
    device_s: int

    def problems(self) -> list[str]:
        return [
            *text_problems("the usage key", self.key, chars_max=USAGE_KEY_CHARS_MAX),
            *in_range("the device-seconds used", self.device_s, 0, DEVICE_S_MAX),
        ]


def _already_charged(session: Session, row: AllocationRow, usages: Sequence[Usage]) -> bool:
    """Whether these usages were charged already (all of them; a replay); a usage charged
    with other figures, or a charge to a resolved allocation, is a conflict."""
    check_problems([problem for usage in usages for problem in usage.problems()])
    charged = [session.get(ChargeRow, (row.id, usage.key)) for usage in usages]
    for usage, found in zip(usages, charged, strict=True):
        if found is not None and found.used_device_s != usage.device_s:
            raise ConflictError(f"usage {usage.key!r} was charged with other device-seconds")
    if usages and all(found is not None for found in charged):
        return True
    if any(found is not None for found in charged):
        raise ConflictError(f"allocation {row.id}: some of these usages were charged already")
    if row.status in (AllocationStatus.RECLAIMED.value, AllocationStatus.SETTLED.value):
        raise ConflictError(f"allocation {row.id} is {row.status}: it takes no charges")
    return False


def _add_charges(
    session: Session, row: AllocationRow, usages: Sequence[Usage], clock: Clock
) -> int:
    """Record the usages as charges (capped at what the allocation has left) and return their
    cost in all: amount * used / allocated each, the whole rest for the last of it."""
    allocated_s = row.device_hours * S_PER_HOUR
    total_micro = 0
    for usage in usages:
        used_s = min(usage.device_s, allocated_s - row.used_device_s)
        last = row.used_device_s + used_s == allocated_s
        held_micro = row.held_micro - total_micro
        cost_micro = (
            held_micro if last else min(held_micro, row.amount_micro * used_s // allocated_s)
        )
        row.used_device_s += used_s
        row.posted_micro += cost_micro
        total_micro += cost_micro
        session.add(
            ChargeRow(
                allocation_id=row.id,
                usage_key=usage.key,
                used_device_s=usage.device_s,
                charged_micro=cost_micro,
                created_at_ns=clock.now_ns(),
            )
        )
    if usages and row.status == AllocationStatus.HELD.value:
        row.status = AllocationStatus.RUNNING.value
        row.started_at_ns = clock.now_ns()
    return total_micro


def _hold_again(
    session: Session, row: AllocationRow, amount_micro: int, usage_key: str, clock: Clock
) -> None:
    """Hold what is left of the allocation after a charge, from the firm's lots (earliest
    expiry first) again. A mandate revoked meanwhile lets the rest go back to the firm."""
    row.held_micro = 0
    if amount_micro == 0:
        return
    timeout_s = max(1, (row.end_ns - clock.now_ns()) // NS_PER_S + SETTLE_WINDOW_S)
    try:
        with session.begin_nested():
            spend = mandates.spend_under_mandate(
                session,
                mandate_id=row.mandate_id,
                amount_micro=amount_micro,
                purpose=f"compute: allocation {row.id}, held again after {usage_key}",
                transfer_key=f"allocation-{row.id}-{derived_id('usage', usage_key)}",
                clock=clock,
                pending=True,
                timeout_s=min(timeout_s, TIMEOUT_S_MAX),
            )
    except RefusedError:
        return
    row.spend_id = spend.id
    row.held_micro = amount_micro


def close_allocation(
    session: Session,
    *,
    allocation_id: int,
    utilisation_milli: int | None,
    clock: Clock,
    final_usage: Sequence[Usage] = (),
) -> Allocation:
    """Settle an allocation when it ends: charge its last usages and void what is still held,
    in one post (earlier charges stand), record the measured utilisation, and give unused
    work and credits back to its request. Closing again with the same figures changes
    nothing."""
    row = _locked_allocation(session, allocation_id)
    if utilisation_milli is not None:
        check_problems(in_range("the utilisation (thousandths)", utilisation_milli, 0, MILLI))
    if row.status == AllocationStatus.SETTLED.value:
        replayed = not final_usage or _already_charged(session, row, final_usage)
        if row.utilisation_milli != utilisation_milli or not replayed:
            raise ConflictError(f"allocation {allocation_id} was settled on other figures")
        return _allocation(session, allocation_id)
    if row.status == AllocationStatus.RECLAIMED.value:
        raise ConflictError(f"allocation {allocation_id} was reclaimed: nothing to settle")
    if final_usage and _already_charged(session, row, final_usage):
        final_usage = ()
    cost_micro = _add_charges(session, row, final_usage, clock)
    _release_hold(session, row, post_micro=cost_micro, clock=clock)
    allocated_s = row.device_hours * S_PER_HOUR
    row.status = AllocationStatus.SETTLED.value
    row.utilisation_milli = utilisation_milli
    row.resolved_at_ns = clock.now_ns()
    _give_back(
        session,
        row,
        work_milli=row.work_milli - row.work_milli * row.used_device_s // allocated_s,
        credits_micro=row.amount_micro - row.posted_micro,
        clock=clock,
    )
    round_row = session.get(RoundRow, row.round_id, with_for_update=True)
    assert round_row is not None
    round_row.used_device_s += row.used_device_s
    session.flush()
    return _allocation(session, allocation_id)


def settle_allocation(
    session: Session,
    *,
    allocation_id: int,
    used_device_s: int,
    utilisation_milli: int | None,
    clock: Clock,
) -> Allocation:
    """Settle an allocation by hand on its total usage: charge what was not charged yet and
    close it, in one post. Settling again with the same figures changes nothing."""
    row = _locked_allocation(session, allocation_id)
    check_problems(
        in_range("the device-seconds used", used_device_s, 0, row.device_hours * S_PER_HOUR)
    )
    if row.status == AllocationStatus.SETTLED.value and row.used_device_s != used_device_s:
        raise ConflictError(f"allocation {allocation_id} was settled on other usage")
    extra_s = used_device_s - row.used_device_s
    final = [Usage(f"settlement-{used_device_s}", extra_s)] if extra_s > 0 else []
    return close_allocation(
        session,
        allocation_id=allocation_id,
        utilisation_milli=utilisation_milli,
        clock=clock,
        final_usage=final if row.status != AllocationStatus.SETTLED.value else (),
    )


def _release_hold(session: Session, row: AllocationRow, *, post_micro: int, clock: Clock) -> None:
    """Post `post_micro` of what the allocation holds and void the rest. A hold that already
    timed out returned its credits on its own: there is nothing left to post or void."""
    if row.held_micro == 0:
        assert post_micro == 0
        return
    try:
        mandates.settle_spend(session, spend_id=row.spend_id, post_micro=post_micro, clock=clock)
    except RefusedError as refusal:
        if post_micro or any(r.code is not ReasonCode.HOLD_NOT_PENDING for r in refusal.reasons):
            raise
    row.held_micro = 0


def _give_back(
    session: Session, row: AllocationRow, *, work_milli: int, credits_micro: int, clock: Clock
) -> None:
    """Return unused work and credits to the allocation's request; a fully allocated request
    whose deadline has not passed opens again for the next round."""
    request = session.get(RequestRow, row.request_id, with_for_update=True)
    assert request is not None
    request.allocated_work_milli -= work_milli
    request.committed_micro -= credits_micro
    if request.status == RequestStatus.ALLOCATED.value and request.deadline_ns > clock.now_ns():
        request.status = RequestStatus.OPEN.value

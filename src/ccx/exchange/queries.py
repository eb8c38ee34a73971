"""Exchange reads: return the feature's types, never rows. Listings are bounded and paged by
id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.exchange import scoring
from ccx.exchange.models import (
    AcceleratorTypeRow,
    AllocationRow,
    LearnedThroughputRow,
    MaintenanceRow,
    PoolRow,
    PriceCapRow,
    RateRow,
    RequestRow,
    RoundPriceRow,
    RoundRow,
)
from ccx.exchange.problem import Alternative, Binding, Explanation, SlotUse
from ccx.exchange.types import (
    LEARNED_SAMPLES_MIN,
    AcceleratorKind,
    AcceleratorType,
    Allocation,
    AllocationStatus,
    EfficiencyScore,
    ExchangeRate,
    Maintenance,
    Pool,
    PoolPriceView,
    Request,
    RequestOption,
    RequestStatus,
    Round,
)

PRICE_CAP_MILLI_DEFAULT = 1500
"""A programme that set no cap lets clearing prices rise to 1.5 times the published rate
(the reservation premium with precedent, see docs/exchange.md)."""
S_PER_HOUR = 3600
NS_PER_S = 1_000_000_000


# --- catalogue, rates, pools -----------------------------------------------------------------


def _type_from_row(row: AcceleratorTypeRow) -> AcceleratorType:
    return AcceleratorType(
        code=row.code,
        name=row.name,
        vendor=row.vendor,
        kind=AcceleratorKind(row.kind),
        memory_gb=row.memory_gb,
        bf16_tflops=row.bf16_tflops,
        int8_tops=row.int8_tops,
        source=row.source,
    )


def list_accelerator_types(session: Session) -> list[AcceleratorType]:
    rows = session.scalars(sa.select(AcceleratorTypeRow).order_by(AcceleratorTypeRow.code))
    return [_type_from_row(row) for row in rows]


def accelerator_codes(session: Session) -> set[str]:
    return set(session.scalars(sa.select(AcceleratorTypeRow.code)))


def rate_from_row(row: RateRow) -> ExchangeRate:
    return ExchangeRate(
        id=row.id,
        accelerator=row.accelerator,
        effective_from_ns=row.effective_from_ns,
        rate_micro=row.rate_micro,
        source=row.source,
        created_at_ns=row.created_at_ns,
    )


def list_rates(session: Session, *, accelerator: str | None = None) -> list[ExchangeRate]:
    """Every version of every rate (or one type's), by type, then oldest first."""
    query = sa.select(RateRow).order_by(RateRow.accelerator, RateRow.effective_from_ns)
    if accelerator is not None:
        query = query.where(RateRow.accelerator == accelerator)
    return [rate_from_row(row) for row in session.scalars(query)]


def rates_in_force(session: Session, at_ns: int) -> dict[str, ExchangeRate]:
    """The rate of each type in force at `at_ns` (the latest version effective by then)."""
    latest = (
        sa.select(RateRow.accelerator, sa.func.max(RateRow.effective_from_ns).label("from_ns"))
        .where(RateRow.effective_from_ns <= at_ns)
        .group_by(RateRow.accelerator)
        .subquery()
    )
    rows = session.scalars(
        sa.select(RateRow).join(
            latest,
            sa.and_(
                RateRow.accelerator == latest.c.accelerator,
                RateRow.effective_from_ns == latest.c.from_ns,
            ),
        )
    )
    return {row.accelerator: rate_from_row(row) for row in rows}


def price_caps_milli(session: Session, programme_ids: Sequence[int]) -> dict[int, int]:
    """Each programme's price cap (thousandths of the rate); the default where none is set."""
    rows = session.execute(
        sa.select(PriceCapRow.programme_id, PriceCapRow.price_cap_milli).where(
            PriceCapRow.programme_id.in_(programme_ids)
        )
    )
    caps: dict[int, int] = dict(rows.all())  # a Result has keys(): dict() would misread it
    return {programme: caps.get(programme, PRICE_CAP_MILLI_DEFAULT) for programme in programme_ids}


def maintenance_from_row(row: MaintenanceRow) -> Maintenance:
    return Maintenance(
        id=row.id,
        pool_id=row.pool_id,
        start_ns=row.start_ns,
        end_ns=row.end_ns,
        devices_out=row.devices_out,
        reason=row.reason,
    )


def maintenance_overlapping(
    session: Session, pool_ids: Sequence[int], start_ns: int, end_ns: int
) -> list[Maintenance]:
    rows = session.scalars(
        sa.select(MaintenanceRow)
        .where(
            MaintenanceRow.pool_id.in_(pool_ids),
            MaintenanceRow.end_ns > start_ns,
            MaintenanceRow.start_ns < end_ns,
        )
        .order_by(MaintenanceRow.start_ns, MaintenanceRow.id)
    )
    return [maintenance_from_row(row) for row in rows]


def _pools(session: Session, rows: Sequence[PoolRow], now_ns: int) -> list[Pool]:
    windows = session.scalars(
        sa.select(MaintenanceRow)
        .where(MaintenanceRow.pool_id.in_([row.id for row in rows]), MaintenanceRow.end_ns > now_ns)
        .order_by(MaintenanceRow.start_ns, MaintenanceRow.id)
    )
    by_pool: dict[int, list[Maintenance]] = {}
    for window in windows:
        by_pool.setdefault(window.pool_id, []).append(maintenance_from_row(window))
    return [
        Pool(
            id=row.id,
            name=row.name,
            accelerator=row.accelerator,
            devices=row.devices,
            created_at_ns=row.created_at_ns,
            maintenance=tuple(by_pool.get(row.id, ())),
        )
        for row in rows
    ]


def list_pools(session: Session, *, now_ns: int, limit: int, after_id: int = 0) -> list[Pool]:
    rows = list(
        session.scalars(
            sa.select(PoolRow).where(PoolRow.id > after_id).order_by(PoolRow.id).limit(limit)
        )
    )
    return _pools(session, rows, now_ns)


def get_pool(session: Session, pool_id: int, *, now_ns: int) -> Pool | None:
    row = session.get(PoolRow, pool_id)
    return None if row is None else _pools(session, [row], now_ns)[0]


# --- requests --------------------------------------------------------------------------------


def request_from_row(row: RequestRow) -> Request:
    return Request(
        id=row.id,
        mandate_id=row.mandate_id,
        programme_id=row.programme_id,
        firm_id=row.firm_id,
        integrator_id=row.integrator_id,
        key=row.key,
        workload_class=row.workload_class,
        devices_per_job=row.devices_per_job,
        work_device_hours=row.work_device_hours,
        earliest_start_ns=row.earliest_start_ns,
        deadline_ns=row.deadline_ns,
        max_credits_micro=row.max_credits_micro,
        options=tuple(
            RequestOption(item["accelerator"], item["throughput_milli"]) for item in row.options
        ),
        status=RequestStatus(row.status),
        allocated_work_milli=row.allocated_work_milli,
        committed_micro=row.committed_micro,
        created_at_ns=row.created_at_ns,
    )


def get_request(session: Session, request_id: int) -> Request | None:
    row = session.get(RequestRow, request_id)
    return None if row is None else request_from_row(row)


def list_requests(
    session: Session,
    *,
    limit: int,
    after_id: int = 0,
    status: RequestStatus | None = None,
    integrator_id: int | None = None,
    firm_id: int | None = None,
) -> list[Request]:
    query = sa.select(RequestRow).where(RequestRow.id > after_id)
    if status is not None:
        query = query.where(RequestRow.status == status.value)
    if integrator_id is not None:
        query = query.where(RequestRow.integrator_id == integrator_id)
    if firm_id is not None:
        query = query.where(RequestRow.firm_id == firm_id)
    rows = session.scalars(query.order_by(RequestRow.id).limit(limit))
    return [request_from_row(row) for row in rows]


def learned_throughputs(
    session: Session, integrator_ids: Sequence[int]
) -> dict[tuple[int, str, str], int]:
    """(integrator, workload class, type) → throughput learned from enough metered runs."""
    rows = session.execute(
        sa.select(
            LearnedThroughputRow.integrator_id,
            LearnedThroughputRow.workload_class,
            LearnedThroughputRow.accelerator,
            LearnedThroughputRow.throughput_milli,
        ).where(
            LearnedThroughputRow.integrator_id.in_(integrator_ids),
            LearnedThroughputRow.samples >= LEARNED_SAMPLES_MIN,
        )
    )
    return {(integrator, workload, code): milli for integrator, workload, code, milli in rows}


# --- rounds and allocations -------------------------------------------------------------------


def _prices(session: Session, rows: Sequence[RoundRow]) -> dict[int, list[PoolPriceView]]:
    by_round: dict[int, list[PoolPriceView]] = {row.id: [] for row in rows}
    starts = {row.id: (row.start_ns, row.slot_s) for row in rows}
    prices = session.scalars(
        sa.select(RoundPriceRow)
        .where(RoundPriceRow.round_id.in_(list(by_round)))
        .order_by(RoundPriceRow.round_id, RoundPriceRow.pool_id, RoundPriceRow.slot)
    )
    for price in prices:
        start_ns, slot_s = starts[price.round_id]
        by_round[price.round_id].append(
            PoolPriceView(
                pool_id=price.pool_id,
                slot=price.slot,
                slot_start_ns=start_ns + price.slot * slot_s * NS_PER_S,
                rate_micro=price.rate_micro,
                dual_micro=price.dual_micro,
                price_micro=price.price_micro,
                capacity_device_hours=price.capacity_device_hours,
                allocated_device_hours=price.allocated_device_hours,
            )
        )
    return by_round


def _round_from_row(row: RoundRow, prices: Sequence[PoolPriceView]) -> Round:
    used_device_hours = row.used_device_s // S_PER_HOUR
    return Round(
        id=row.id,
        policy=row.policy,
        start_ns=row.start_ns,
        end_ns=row.start_ns + row.slots * row.slot_s * NS_PER_S,
        slot_s=row.slot_s,
        slots=row.slots,
        grace_s=row.grace_s,
        caps_milli=(
            row.firm_share_milli,
            row.integrator_share_milli,
            row.group_share_milli,
            row.floor_share_milli,
        ),
        solve_s=row.solve_us / 1_000_000,
        requests=row.requests,
        capacity_device_hours=row.capacity_device_hours,
        allocated_device_hours=row.allocated_device_hours,
        reclaimed_device_hours=row.reclaimed_device_hours,
        used_device_hours=used_device_hours,
        idle_device_hours=row.capacity_device_hours - used_device_hours,
        allocated_micro=row.allocated_micro,
        unplaced=tuple((item["request_id"], tuple(item["reasons"])) for item in row.unplaced),
        prices=tuple(prices),
        created_at_ns=row.created_at_ns,
    )


def get_round(session: Session, round_id: int) -> Round | None:
    row = session.get(RoundRow, round_id)
    return None if row is None else _round_from_row(row, _prices(session, [row])[row.id])


def round_starting_at(session: Session, start_ns: int) -> Round | None:
    """The first round cleared for a period starting at `start_ns`, if any."""
    row = session.scalar(
        sa.select(RoundRow).where(RoundRow.start_ns == start_ns).order_by(RoundRow.id).limit(1)
    )
    return None if row is None else _round_from_row(row, _prices(session, [row])[row.id])


def list_rounds(session: Session, *, limit: int, after_id: int = 0) -> list[Round]:
    rows = list(
        session.scalars(
            sa.select(RoundRow).where(RoundRow.id > after_id).order_by(RoundRow.id).limit(limit)
        )
    )
    prices = _prices(session, rows)
    return [_round_from_row(row, prices[row.id]) for row in rows]


def explanation_to_json(explanation: Explanation, slots: Sequence[SlotUse]) -> dict[str, Any]:
    return {
        "summary": explanation.summary,
        "alternatives": [
            {
                "pool_id": item.pool_id,
                "accelerator": item.accelerator,
                "throughput_milli": item.throughput_milli,
                "rate_micro": item.rate_micro,
                "work_milli_per_credit": item.work_milli_per_credit,
            }
            for item in explanation.alternatives
        ],
        "binding": [item.value for item in explanation.binding],
        "slots": [[use.slot, use.device_hours] for use in slots],
    }


def _explanation(stored: dict[str, Any]) -> tuple[Explanation, tuple[SlotUse, ...]]:
    explanation = Explanation(
        summary=stored["summary"],
        alternatives=tuple(Alternative(**item) for item in stored["alternatives"]),
        binding=tuple(Binding(item) for item in stored["binding"]),
    )
    return explanation, tuple(SlotUse(slot, hours) for slot, hours in stored["slots"])


def allocation_from_row(row: AllocationRow, accelerator: str) -> Allocation:
    explanation, slots = _explanation(row.explanation)
    return Allocation(
        id=row.id,
        round_id=row.round_id,
        request_id=row.request_id,
        pool_id=row.pool_id,
        accelerator=accelerator,
        mandate_id=row.mandate_id,
        programme_id=row.programme_id,
        firm_id=row.firm_id,
        integrator_id=row.integrator_id,
        spend_id=row.spend_id,
        devices=row.devices,
        device_hours=row.device_hours,
        slots=slots,
        start_ns=row.start_ns,
        end_ns=row.end_ns,
        rate_micro=row.rate_micro,
        price_micro=row.price_micro,
        amount_micro=row.amount_micro,
        work_milli=row.work_milli,
        status=AllocationStatus(row.status),
        reclaim_after_ns=row.reclaim_after_ns,
        started_at_ns=row.started_at_ns,
        used_device_s=row.used_device_s,
        utilisation_milli=row.utilisation_milli,
        posted_micro=row.posted_micro,
        held_micro=row.held_micro,
        explanation=explanation,
        created_at_ns=row.created_at_ns,
    )


def _allocations(session: Session, query: sa.Select[AllocationRow, str]) -> list[Allocation]:
    return [allocation_from_row(row, code) for row, code in session.execute(query)]


def _with_type() -> sa.Select[AllocationRow, str]:
    return sa.select(AllocationRow, PoolRow.accelerator).join(
        PoolRow, PoolRow.id == AllocationRow.pool_id
    )


def get_allocation(session: Session, allocation_id: int) -> Allocation | None:
    found = _allocations(session, _with_type().where(AllocationRow.id == allocation_id))
    return found[0] if found else None


def list_allocations(
    session: Session,
    *,
    limit: int,
    after_id: int = 0,
    round_id: int | None = None,
    request_id: int | None = None,
    integrator_id: int | None = None,
    firm_id: int | None = None,
    status: AllocationStatus | None = None,
) -> list[Allocation]:
    query = _with_type().where(AllocationRow.id > after_id)
    filters = {
        AllocationRow.round_id: round_id,
        AllocationRow.request_id: request_id,
        AllocationRow.integrator_id: integrator_id,
        AllocationRow.firm_id: firm_id,
    }
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    if status is not None:
        query = query.where(AllocationRow.status == status.value)
    return _allocations(session, query.order_by(AllocationRow.id).limit(limit))


def efficiency_scores(
    session: Session, integrator_ids: Sequence[int]
) -> dict[int, EfficiencyScore]:
    """Each integrator's efficiency score over its most recent resolved allocations."""
    resolved = (
        sa.select(
            AllocationRow.integrator_id,
            AllocationRow.device_hours,
            AllocationRow.used_device_s,
            AllocationRow.utilisation_milli,
            AllocationRow.status,
            sa.func.row_number()
            .over(partition_by=AllocationRow.integrator_id, order_by=AllocationRow.id.desc())
            .label("recent"),
        )
        .where(
            AllocationRow.integrator_id.in_(integrator_ids),
            AllocationRow.status.in_(
                [AllocationStatus.SETTLED.value, AllocationStatus.RECLAIMED.value]
            ),
        )
        .subquery()
    )
    rows = session.execute(
        sa.select(
            resolved.c.integrator_id,
            resolved.c.device_hours,
            resolved.c.used_device_s,
            resolved.c.utilisation_milli,
            resolved.c.status,
        ).where(resolved.c.recent <= scoring.RESOLVED_MAX)
    )
    by_integrator: dict[int, list[scoring.Resolved]] = {key: [] for key in integrator_ids}
    for integrator, device_hours, used_s, utilisation, status in rows:
        by_integrator[integrator].append(
            scoring.Resolved(
                device_hours=device_hours,
                used_device_s=used_s,
                utilisation_milli=utilisation,
                reclaimed=status == AllocationStatus.RECLAIMED.value,
            )
        )
    return {
        integrator: scoring.efficiency_score(integrator, items)
        for integrator, items in by_integrator.items()
    }


@dataclass(frozen=True, slots=True)
class PoolFigures:
    """A pool over every round so far: device-hours offered, allocated (less reclaimed), used
    by settled and running allocations, and reserved but idle (allocated to allocations that
    ended, by settlement or reclaim, without using it)."""

    pool_id: int
    name: str
    accelerator: str
    devices: int
    capacity_device_hours: int
    allocated_device_hours: int
    reclaimed_device_hours: int
    used_device_hours: int
    idle_reserved_device_hours: int


def pool_figures(session: Session) -> list[PoolFigures]:
    capacity = dict(
        session.execute(
            sa.select(
                RoundPriceRow.pool_id, sa.func.sum(RoundPriceRow.capacity_device_hours)
            ).group_by(RoundPriceRow.pool_id)
        ).all()
    )
    by_status: dict[tuple[int, str], tuple[int, int]] = {
        (pool_id, status): (int(hours), int(used_s))
        for pool_id, status, hours, used_s in session.execute(
            sa.select(
                AllocationRow.pool_id,
                AllocationRow.status,
                sa.func.sum(AllocationRow.device_hours),
                sa.func.sum(AllocationRow.used_device_s),
            ).group_by(AllocationRow.pool_id, AllocationRow.status)
        )
    }
    figures = []
    for pool in session.scalars(sa.select(PoolRow).order_by(PoolRow.id)):
        hours = {
            status: by_status.get((pool.id, status.value), (0, 0)) for status in AllocationStatus
        }
        used_s = sum(used for _, used in hours.values())
        settled_hours, settled_used_s = hours[AllocationStatus.SETTLED]
        reclaimed_hours = hours[AllocationStatus.RECLAIMED][0]
        figures.append(
            PoolFigures(
                pool_id=pool.id,
                name=pool.name,
                accelerator=pool.accelerator,
                devices=pool.devices,
                capacity_device_hours=int(capacity.get(pool.id, 0)),
                allocated_device_hours=sum(h for h, _ in hours.values()) - reclaimed_hours,
                reclaimed_device_hours=reclaimed_hours,
                used_device_hours=used_s // S_PER_HOUR,
                idle_reserved_device_hours=reclaimed_hours
                + settled_hours
                - settled_used_s // S_PER_HOUR,
            )
        )
    return figures


def posted_by_firm(session: Session) -> dict[int, int]:
    """Credits charged for compute through the exchange, per firm (a consortium's charges
    under its anchor)."""
    return {
        firm_id: int(total)
        for firm_id, total in session.execute(
            sa.select(AllocationRow.firm_id, sa.func.sum(AllocationRow.posted_micro)).group_by(
                AllocationRow.firm_id
            )
        )
    }

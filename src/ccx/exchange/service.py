"""Exchange writes for capacity, rates and requests. Each takes a session inside an open
transaction and never commits. Clearing rounds and the life of allocations are in `rounds`.

Errors are the programmes feature's (`ccx.programs.errors`): bad input raises
InvalidRequestError with every problem, an unknown id NotFoundError, a repeated name or key
with other fields ConflictError, and a refusal by the rules RefusedError with every reason.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.clock import Clock
from ccx.exchange import queries, rules
from ccx.exchange.models import (
    AcceleratorTypeRow,
    LearnedThroughputRow,
    MaintenanceRow,
    PoolRow,
    PriceCapRow,
    RateRow,
    RequestRow,
)
from ccx.exchange.types import (
    DEVICES_MAX,
    NAME_CHARS_MAX,
    SOURCE_CHARS_MAX,
    THROUGHPUT_MILLI_MAX,
    WORKLOAD_CHARS_MAX,
    AcceleratorType,
    ExchangeRate,
    Maintenance,
    NewPool,
    NewRequest,
    Pool,
    Request,
    RequestStatus,
)
from ccx.programs import queries as programme_queries
from ccx.programs.errors import ConflictError, NotFoundError, RefusedError
from ccx.programs.rules import in_range, text_problems
from ccx.programs.service import check_problems
from ccx.programs.types import Reason, ReasonCode
from ccx.registry import queries as registry_queries
from ccx.registry.service import utc_today
from ccx.registry.types import OrgKind

MILLI = 1000


# --- catalogue and rates ---------------------------------------------------------------------


def add_accelerator_type(session: Session, new: AcceleratorType) -> AcceleratorType:
    """Add a type to the catalogue. Adding the same type again changes nothing."""
    check_problems(
        [
            *rules.code_problems(new.code),
            *text_problems("the name", new.name.strip(), chars_max=NAME_CHARS_MAX),
            *text_problems("the vendor", new.vendor.strip(), chars_max=NAME_CHARS_MAX),
            *text_problems("the source", new.source.strip(), chars_max=SOURCE_CHARS_MAX),
            *in_range("the memory (GB)", new.memory_gb, 1, 100_000),
        ]
    )
    existing = session.get(AcceleratorTypeRow, new.code)
    if existing is not None:
        if _type_row_matches(existing, new):
            return new
        raise ConflictError(f"accelerator type {new.code} exists with other figures")
    session.add(
        AcceleratorTypeRow(
            code=new.code,
            name=new.name.strip(),
            vendor=new.vendor.strip(),
            kind=new.kind.value,
            memory_gb=new.memory_gb,
            bf16_tflops=new.bf16_tflops,
            int8_tops=new.int8_tops,
            source=new.source.strip(),
        )
    )
    session.flush()
    return new


def _type_row_matches(row: AcceleratorTypeRow, new: AcceleratorType) -> bool:
    return (row.name, row.vendor, row.kind, row.memory_gb, row.bf16_tflops, row.int8_tops) == (
        new.name.strip(),
        new.vendor.strip(),
        new.kind.value,
        new.memory_gb,
        new.bf16_tflops,
        new.int8_tops,
    )


def publish_rate(
    session: Session,
    *,
    accelerator: str,
    rate_micro: int,
    effective_from_ns: int,
    source: str,
    clock: Clock,
) -> ExchangeRate:
    """Publish a new version of a type's rate, in force from `effective_from_ns` (now or
    later). Allocations already made keep the rate locked into them."""
    source = source.strip()
    check_problems(
        [
            *_known_type_problems(session, accelerator),
            *rules.rate_problems(rate_micro, effective_from_ns, clock.now_ns()),
            *text_problems("the source", source, chars_max=SOURCE_CHARS_MAX),
        ]
    )
    taken = session.scalar(
        sa.select(RateRow).where(
            RateRow.accelerator == accelerator, RateRow.effective_from_ns == effective_from_ns
        )
    )
    if taken is not None:
        if (taken.rate_micro, taken.source) == (rate_micro, source):
            return queries.rate_from_row(taken)
        raise ConflictError(f"a rate for {accelerator} takes effect at that time already")
    row = RateRow(
        accelerator=accelerator,
        effective_from_ns=effective_from_ns,
        rate_micro=rate_micro,
        source=source,
        created_at_ns=clock.now_ns(),
    )
    session.add(row)
    session.flush()
    return queries.rate_from_row(row)


def _known_type_problems(session: Session, code: str) -> list[str]:
    known = queries.accelerator_codes(session)
    return [] if code in known else [rules.unknown_type(code, known)]


def set_price_cap(session: Session, *, programme_id: int, price_cap_milli: int) -> int:
    """Cap the clearing prices charged to the programme's credits, in thousandths of the
    published rate (1000: never above the rate)."""
    check_problems(rules.price_cap_problems(price_cap_milli))
    if programme_queries.get_programme(session, programme_id) is None:
        raise NotFoundError(f"no programme {programme_id}")
    row = session.get(PriceCapRow, programme_id)
    if row is None:
        session.add(PriceCapRow(programme_id=programme_id, price_cap_milli=price_cap_milli))
    else:
        row.price_cap_milli = price_cap_milli
    session.flush()
    return price_cap_milli


# --- pools -----------------------------------------------------------------------------------


def create_pool(session: Session, new: NewPool, clock: Clock) -> Pool:
    """Declare a pool of one accelerator type. Declaring the same pool again changes nothing."""
    new = NewPool(new.name.strip(), new.accelerator.strip(), new.devices)
    check_problems(rules.pool_problems(new, queries.accelerator_codes(session)))
    existing = session.scalar(sa.select(PoolRow).where(PoolRow.name == new.name))
    if existing is not None:
        if (existing.accelerator, existing.devices) != (new.accelerator, new.devices):
            raise ConflictError(f"a pool named {new.name!r} exists (id {existing.id})")
        return _pool(session, existing.id, clock)
    row = PoolRow(
        name=new.name,
        accelerator=new.accelerator,
        devices=new.devices,
        created_at_ns=clock.now_ns(),
    )
    session.add(row)
    session.flush()
    return _pool(session, row.id, clock)


def resize_pool(session: Session, *, pool_id: int, devices: int, clock: Clock) -> Pool:
    """Change a pool's device count; rounds cleared from now on see the new count."""
    row = _locked_pool(session, pool_id)
    check_problems(in_range("the device count", devices, 0, DEVICES_MAX))
    row.devices = devices
    session.flush()
    return _pool(session, pool_id, clock)


def schedule_maintenance(
    session: Session,
    *,
    pool_id: int,
    start_ns: int,
    end_ns: int,
    devices_out: int,
    reason: str,
    clock: Clock,
) -> Maintenance:
    """Take `devices_out` of a pool's devices out of service from `start_ns` to `end_ns`:
    rounds that clear those hours offer that many fewer devices."""
    row = _locked_pool(session, pool_id)
    reason = reason.strip()
    check_problems(
        [
            *rules.maintenance_problems(start_ns, end_ns, devices_out, row.devices),
            *text_problems("the reason", reason, chars_max=SOURCE_CHARS_MAX),
            *([] if end_ns > clock.now_ns() else ["maintenance must end in the future"]),
        ]
    )
    window = MaintenanceRow(
        pool_id=pool_id, start_ns=start_ns, end_ns=end_ns, devices_out=devices_out, reason=reason
    )
    session.add(window)
    session.flush()
    return queries.maintenance_from_row(window)


def _locked_pool(session: Session, pool_id: int) -> PoolRow:
    row = session.get(PoolRow, pool_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no pool {pool_id}")
    return row


def _pool(session: Session, pool_id: int, clock: Clock) -> Pool:
    pool = queries.get_pool(session, pool_id, now_ns=clock.now_ns())
    assert pool is not None
    return pool


# --- requests --------------------------------------------------------------------------------


def file_request(session: Session, new: NewRequest, clock: Clock) -> Request:
    """File a compute request under a mandate (by the mandate's integrator). The same key
    under the same mandate again answers the filed request; with other fields, a conflict."""
    new = _trimmed(new)
    check_problems(rules.request_problems(new, queries.accelerator_codes(session)))
    mandate = programme_queries.get_mandate(session, new.mandate_id)
    if mandate is None:
        raise NotFoundError(f"no mandate {new.mandate_id}")
    existing = session.scalar(
        sa.select(RequestRow).where(
            RequestRow.mandate_id == new.mandate_id, RequestRow.key == new.key
        )
    )
    if existing is not None:
        if not _same_request(existing, new):
            raise ConflictError(
                f"request {new.key!r} under mandate {new.mandate_id} has other fields"
            )
        return queries.request_from_row(existing)
    reasons = _mandate_reasons(mandate.revoked_at_ns, mandate.valid_until < utc_today(clock))
    if reasons:
        raise RefusedError("request", reasons)
    check_problems(
        rules.mandate_room_problems(new.max_credits_micro, mandate.cap_micro - mandate.drawn_micro)
    )
    row = RequestRow(
        mandate_id=mandate.id,
        programme_id=mandate.programme_id,
        firm_id=mandate.firm_id,
        integrator_id=mandate.integrator_id,
        key=new.key,
        workload_class=new.workload_class,
        devices_per_job=new.devices_per_job,
        work_device_hours=new.work_device_hours,
        earliest_start_ns=new.earliest_start_ns,
        deadline_ns=new.deadline_ns,
        max_credits_micro=new.max_credits_micro,
        options=_options_json(new),
        status=RequestStatus.OPEN.value,
        allocated_work_milli=0,
        committed_micro=0,
        created_at_ns=clock.now_ns(),
    )
    session.add(row)
    session.flush()
    return queries.request_from_row(row)


def _trimmed(new: NewRequest) -> NewRequest:
    return NewRequest(
        mandate_id=new.mandate_id,
        key=new.key.strip(),
        workload_class=new.workload_class.strip(),
        devices_per_job=new.devices_per_job,
        work_device_hours=new.work_device_hours,
        earliest_start_ns=new.earliest_start_ns,
        deadline_ns=new.deadline_ns,
        max_credits_micro=new.max_credits_micro,
        options=tuple(sorted(new.options, key=lambda option: option.accelerator)),
    )


def _options_json(new: NewRequest) -> list[dict[str, int | str]]:
    return [
        {"accelerator": option.accelerator, "throughput_milli": option.throughput_milli}
        for option in new.options
    ]


def _same_request(row: RequestRow, new: NewRequest) -> bool:
    stored = (
        row.workload_class,
        row.devices_per_job,
        row.work_device_hours,
        row.earliest_start_ns,
        row.deadline_ns,
        row.max_credits_micro,
        row.options,
    )
    return stored == (
        new.workload_class,
        new.devices_per_job,
        new.work_device_hours,
        new.earliest_start_ns,
        new.deadline_ns,
        new.max_credits_micro,
        _options_json(new),
    )


def _mandate_reasons(revoked_at_ns: int | None, expired: bool) -> list[Reason]:
    reasons = []
    if revoked_at_ns is not None:
        reasons.append(Reason(ReasonCode.MANDATE_REVOKED, "the mandate was revoked"))
    if expired:
        reasons.append(Reason(ReasonCode.MANDATE_EXPIRED, "the mandate has expired"))
    return reasons


def cancel_request(session: Session, *, request_id: int) -> Request:
    """Withdraw an open request from later rounds; allocations already made stand.
    Cancelling again changes nothing."""
    row = session.get(RequestRow, request_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no request {request_id}")
    if row.status in (RequestStatus.OPEN.value, RequestStatus.ALLOCATED.value):
        row.status = RequestStatus.CANCELLED.value
        session.flush()
    return queries.request_from_row(row)


def learn_throughput(
    session: Session,
    *,
    integrator_id: int,
    workload_class: str,
    accelerator: str,
    measured_milli: int,
) -> int:
    """Fold one metered run's throughput into the running mean for the integrator's workload
    class on the type; returns the new mean. Once it has enough samples, rounds use it instead
    of what requests declare."""
    workload_class = workload_class.strip()
    check_problems(
        [
            *_known_type_problems(session, accelerator),
            *text_problems("the workload class", workload_class, chars_max=WORKLOAD_CHARS_MAX),
            *in_range("the measured throughput", measured_milli, 1, THROUGHPUT_MILLI_MAX),
        ]
    )
    if registry_queries.organisation_kind(session, integrator_id) is not OrgKind.INTEGRATOR:
        raise NotFoundError(f"no integrator {integrator_id}")
    key = (integrator_id, workload_class, accelerator)
    row = session.get(LearnedThroughputRow, key, with_for_update=True)
    if row is None:
        row = LearnedThroughputRow(
            integrator_id=integrator_id,
            workload_class=workload_class,
            accelerator=accelerator,
            throughput_milli=measured_milli,
            samples=1,
        )
        session.add(row)
    else:
        total = row.throughput_milli * row.samples + measured_milli
        row.samples += 1
        row.throughput_milli = total // row.samples
    session.flush()
    return row.throughput_milli

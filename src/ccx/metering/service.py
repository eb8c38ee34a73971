"""Metering and settlement writes: usage and utilisation in, charges and closed allocations
out, and the plan the centre should enforce. Each takes a session inside an open transaction
and never commits; each is safe to run again (after a crash too): imports are keyed by the
scheduler's (cluster, job, step) and charges by the usage key.

Settlement charges only a job's allocation record (step ""), never its steps, which the job
record already covers: device-seconds = devices * (end - start).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.center.parsers import GpuUtilSample
from ccx.center.types import (
    ACCOUNT_PREFIX,
    AcceleratorRate,
    AccountLimit,
    CenterPlan,
    UsageRecord,
    account_name,
    billing_weight_milli,
)
from ccx.clock import NS_PER_S, Clock
from ccx.exchange import queries as exchange_queries
from ccx.exchange import rounds
from ccx.exchange.models import AllocationRow, PoolRow
from ccx.exchange.types import AllocationStatus
from ccx.metering.models import CentreUserRow, UsageRow, UtilisationRow
from ccx.metering.types import ImportReport, SettlementReport
from ccx.programs.errors import ConflictError, NotFoundError
from ccx.programs.service import check_problems
from ccx.registry import queries as registry_queries
from ccx.registry.types import OrgKind

RECORDS_PER_IMPORT_MAX = 100_000
SAMPLES_PER_IMPORT_MAX = 1_000_000
SETTLE_BATCH_MAX = 10_000
KEYS_PER_READ = 500
INTERIM_CHARGE_S = 2 * 86_400
"""A finished job is charged at once when its allocation runs on for longer than this;
otherwise when the allocation closes."""
MILLI = 1000
MINUTES_PER_HOUR = 60
_ALLOCATION_ACCOUNT = re.compile(re.escape(ACCOUNT_PREFIX) + r"a([1-9][0-9]{0,18})")
_USERNAME = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")


# --- centre users and the plan ---------------------------------------------------------------


def add_centre_user(session: Session, *, integrator_id: int, username: str, clock: Clock) -> str:
    """Let a centre login submit jobs under the integrator's allocations."""
    problems = [] if _USERNAME.fullmatch(username) else [f"{username!r} is not a centre login"]
    org = registry_queries.get_organisation(session, integrator_id)
    if org is None:
        raise NotFoundError(f"no organisation {integrator_id}")
    if org.kind is not OrgKind.INTEGRATOR:
        problems.append(f"organisation {integrator_id} is not an integrator")
    check_problems(problems)
    row = session.get(CentreUserRow, username)
    if row is not None and row.integrator_id != integrator_id:
        raise ConflictError(f"login {username!r} belongs to integrator {row.integrator_id}")
    if row is None:
        session.add(
            CentreUserRow(
                username=username, integrator_id=integrator_id, added_at_ns=clock.now_ns()
            )
        )
        session.flush()
    return username


def centre_plan(session: Session, clock: Clock) -> CenterPlan:
    """What the centre should enforce now: one account per live allocation (held or
    running), open to its integrator's logins, limited to the allocation's device-hours in
    billing-minutes; billing weights from the rates in force, for the types of the declared
    pools (the centre's GRES types)."""
    pooled = set(session.scalars(sa.select(PoolRow.accelerator).distinct()))
    rates = {
        code: rate
        for code, rate in exchange_queries.rates_in_force(session, clock.now_ns()).items()
        if code in pooled
    }
    weights = {code: billing_weight_milli(rate.rate_micro) for code, rate in rates.items()}
    users: dict[int, list[str]] = {}
    for username, integrator_id in session.execute(
        sa.select(CentreUserRow.username, CentreUserRow.integrator_id).order_by(
            CentreUserRow.username
        )
    ):
        users.setdefault(integrator_id, []).append(username)
    live = session.execute(
        sa.select(AllocationRow.id, AllocationRow.integrator_id, AllocationRow.device_hours)
        .add_columns(PoolRow.accelerator)
        .join(PoolRow, PoolRow.id == AllocationRow.pool_id)
        .where(
            AllocationRow.status.in_([AllocationStatus.HELD.value, AllocationStatus.RUNNING.value])
        )
        .order_by(AllocationRow.id)
    )
    accounts = tuple(
        AccountLimit(
            account=account_name(allocation_id),
            users=tuple(users.get(integrator_id, ())),
            billing_minutes_max=device_hours * MINUTES_PER_HOUR * weights[code],
        )
        for allocation_id, integrator_id, device_hours, code in live
    )
    return CenterPlan(
        accounts=accounts,
        rates=tuple(
            AcceleratorRate(code.lower(), rate.rate_micro) for code, rate in sorted(rates.items())
        ),
    )


# --- usage -----------------------------------------------------------------------------------


def allocation_of(account: str) -> int | None:
    """The allocation an account belongs to (`ccx-a<id>`), or None."""
    match = _ALLOCATION_ACCOUNT.fullmatch(account)
    return None if match is None else int(match.group(1))


def import_usage(session: Session, records: Sequence[UsageRecord], clock: Clock) -> ImportReport:
    """Store usage records; importing the same records again changes nothing. A running job
    that has ended since is updated; a record that contradicts one already charged is kept as
    charged and reported."""
    check_problems(
        []
        if len(records) <= RECORDS_PER_IMPORT_MAX
        else [f"at most {RECORDS_PER_IMPORT_MAX:,} usage records per import"]
    )
    known = _known_allocations(session, records)
    stored = _stored_usage(session, records)
    inserted = updated = unchanged = 0
    conflicts = []
    for record in records:
        row = stored.get(record.key)
        if row is None:
            row = _usage_row(record, known, clock)
            session.add(row)
            stored[record.key] = row
            inserted += 1
        elif _same(row, record):
            unchanged += 1
        elif row.charged_at_ns is not None:
            conflicts.append("|".join(record.key))
        else:
            _update(row, record)
            updated += 1
    session.flush()
    return ImportReport(inserted, updated, unchanged, tuple(conflicts))


def _stored_usage(
    session: Session, records: Sequence[UsageRecord]
) -> dict[tuple[str, str, str], UsageRow]:
    """The stored records among these keys, read in batches by cluster and job."""
    by_cluster: dict[str, set[str]] = {}
    for record in records:
        by_cluster.setdefault(record.cluster, set()).add(record.job_id)
    stored: dict[tuple[str, str, str], UsageRow] = {}
    for cluster, jobs in by_cluster.items():
        ordered = sorted(jobs)
        for start in range(0, len(ordered), KEYS_PER_READ):
            rows = session.scalars(
                sa.select(UsageRow).where(
                    UsageRow.cluster == cluster,
                    UsageRow.job_id.in_(ordered[start : start + KEYS_PER_READ]),
                )
            )
            stored.update(((row.cluster, row.job_id, row.step), row) for row in rows)
    return stored


def _known_allocations(session: Session, records: Sequence[UsageRecord]) -> set[int]:
    ids = {allocation_of(record.account) for record in records} - {None}
    return set(session.scalars(sa.select(AllocationRow.id).where(AllocationRow.id.in_(ids))))


def _usage_row(record: UsageRecord, known: set[int], clock: Clock) -> UsageRow:
    allocation_id = allocation_of(record.account)
    return UsageRow(
        cluster=record.cluster,
        job_id=record.job_id,
        step=record.step,
        account=record.account,
        accelerator=record.accelerator,
        devices=record.devices,
        start_ns=record.start_ns,
        end_ns=record.end_ns,
        state=record.state.value,
        allocation_id=allocation_id if allocation_id in known else None,
        charged_at_ns=None,
        imported_at_ns=clock.now_ns(),
    )


def _fields(record: UsageRecord) -> tuple[object, ...]:
    return (
        record.account,
        record.accelerator,
        record.devices,
        record.start_ns,
        record.end_ns,
        record.state.value,
    )


def _same(row: UsageRow, record: UsageRecord) -> bool:
    stored = (row.account, row.accelerator, row.devices, row.start_ns, row.end_ns, row.state)
    return stored == _fields(record)


def _update(row: UsageRow, record: UsageRecord) -> None:
    row.devices, row.start_ns, row.end_ns = record.devices, record.start_ns, record.end_ns
    row.state = record.state.value


def import_utilisation(
    session: Session, samples: Sequence[GpuUtilSample], *, cluster: str, observed_at_ns: int
) -> int:
    """Store the utilisation samples of one exporter scrape taken at `observed_at_ns` (those
    that name a job); the same scrape again changes nothing. Returns how many were new."""
    check_problems(
        []
        if len(samples) <= SAMPLES_PER_IMPORT_MAX
        else [f"at most {SAMPLES_PER_IMPORT_MAX:,} samples per import"]
    )
    keyed = {
        (sample.job_id, sample.hostname, sample.gpu): sample
        for sample in samples
        if sample.job_id is not None
    }
    stored = {
        tuple(row)
        for row in session.execute(
            sa.select(UtilisationRow.job_id, UtilisationRow.hostname, UtilisationRow.gpu).where(
                UtilisationRow.cluster == cluster,
                UtilisationRow.observed_at_ns == observed_at_ns,
                UtilisationRow.job_id.in_(sorted({job for job, _, _ in keyed})),
            )
        )
    }
    new = [
        {
            "cluster": cluster,
            "job_id": job_id,
            "hostname": hostname,
            "gpu": gpu,
            "observed_at_ns": observed_at_ns,
            "utilisation_milli": sample.utilisation_milli,
        }
        for (job_id, hostname, gpu), sample in sorted(keyed.items())
        if (job_id, hostname, gpu) not in stored
    ]
    if new:
        session.execute(sa.insert(UtilisationRow), new)
    return len(new)


# --- settlement ------------------------------------------------------------------------------


def settle_usage(
    session: Session, clock: Clock, *, limit: int = SETTLE_BATCH_MAX
) -> SettlementReport:
    """Mark allocations whose jobs started, charge every finished job once to its allocation,
    and close the allocations that have ended with no job still running."""
    started = _record_starts(session, limit)
    charged, charged_micro = _charge_finished(session, clock, limit)
    closed, charged_at_close, charged_at_close_micro = _close_ended(session, clock, limit)
    return SettlementReport(
        started, charged + charged_at_close, charged_micro + charged_at_close_micro, closed
    )


def _live(statuses: Sequence[AllocationStatus]) -> sa.ColumnElement[bool]:
    return AllocationRow.status.in_([status.value for status in statuses])


def _record_starts(session: Session, limit: int) -> int:
    first_starts = session.execute(
        sa.select(UsageRow.allocation_id, sa.func.min(UsageRow.start_ns))
        .join(AllocationRow, AllocationRow.id == UsageRow.allocation_id)
        .where(_live([AllocationStatus.HELD]))
        .group_by(UsageRow.allocation_id)
        .limit(limit)
    ).all()
    for allocation_id, start_ns in first_starts:
        assert allocation_id is not None
        rounds.record_start(session, allocation_id=allocation_id, started_at_ns=start_ns)
    return len(first_starts)


def _charge_finished(session: Session, clock: Clock, limit: int) -> tuple[int, int]:
    """Charge finished jobs of allocations that still have more than a day to run (the jobs
    of the others are charged when their allocation closes, in one post)."""
    rows = session.scalars(
        sa.select(UsageRow)
        .join(AllocationRow, AllocationRow.id == UsageRow.allocation_id)
        .where(
            _finished_uncharged(),
            _live([AllocationStatus.HELD, AllocationStatus.RUNNING]),
            AllocationRow.end_ns > UsageRow.end_ns + INTERIM_CHARGE_S * NS_PER_S,
        )
        .order_by(UsageRow.end_ns, UsageRow.cluster, UsageRow.job_id)
        .limit(limit)
    ).all()
    total_micro = 0
    for row in rows:
        assert row.allocation_id is not None
        before = _posted(session, row.allocation_id)
        usage = _usage(row)
        after = rounds.charge_usage(
            session,
            allocation_id=row.allocation_id,
            usage_key=usage.key,
            used_device_s=usage.device_s,
            clock=clock,
        )
        total_micro += after.posted_micro - before
        row.charged_at_ns = clock.now_ns()
    session.flush()
    return len(rows), total_micro


def _finished_uncharged() -> sa.ColumnElement[bool]:
    return sa.and_(
        UsageRow.step == "", UsageRow.end_ns.is_not(None), UsageRow.charged_at_ns.is_(None)
    )


def _usage(row: UsageRow) -> rounds.Usage:
    """A job's allocation record as a usage to charge: devices * (end - start)."""
    assert row.end_ns is not None
    used_s = row.devices * max(0, row.end_ns - row.start_ns) // NS_PER_S
    return rounds.Usage(f"{row.cluster}|{row.job_id}|", used_s)


def _posted(session: Session, allocation_id: int) -> int:
    posted = session.scalar(
        sa.select(AllocationRow.posted_micro).where(AllocationRow.id == allocation_id)
    )
    return posted or 0


def _close_ended(session: Session, clock: Clock, limit: int) -> tuple[int, int, int]:
    """Close running allocations whose end has passed once none of their jobs runs, charging
    their uncharged finished jobs in the same post. Returns (closed, jobs charged, credits)."""
    running = sa.select(UsageRow.allocation_id).where(
        UsageRow.step == "", UsageRow.end_ns.is_(None), UsageRow.allocation_id.is_not(None)
    )
    ids = session.scalars(
        sa.select(AllocationRow.id)
        .where(
            _live([AllocationStatus.RUNNING]),
            AllocationRow.end_ns <= clock.now_ns(),
            AllocationRow.id.not_in(running),
        )
        .order_by(AllocationRow.end_ns, AllocationRow.id)
        .limit(limit)
    ).all()
    charged = charged_micro = 0
    for allocation_id in ids:
        jobs = session.scalars(
            sa.select(UsageRow)
            .where(UsageRow.allocation_id == allocation_id, _finished_uncharged())
            .order_by(UsageRow.end_ns, UsageRow.cluster, UsageRow.job_id)
        ).all()
        before = _posted(session, allocation_id)
        after = rounds.close_allocation(
            session,
            allocation_id=allocation_id,
            utilisation_milli=_utilisation(session, allocation_id),
            clock=clock,
            final_usage=[_usage(job) for job in jobs],
        )
        for job in jobs:
            job.charged_at_ns = clock.now_ns()
        charged += len(jobs)
        charged_micro += after.posted_micro - before
    session.flush()
    return len(ids), charged, charged_micro


def _utilisation(session: Session, allocation_id: int) -> int | None:
    """The allocation's measured utilisation: each job's mean sample, weighted by the job's
    device-seconds; None when no job of it was sampled."""
    jobs = session.execute(
        sa.select(UsageRow.cluster, UsageRow.job_id, UsageRow.devices)
        .add_columns(UsageRow.start_ns, UsageRow.end_ns)
        .where(UsageRow.allocation_id == allocation_id, UsageRow.step == "")
    ).all()
    if not jobs:
        return None
    means = {
        (cluster, job_id): float(mean)
        for cluster, job_id, mean in session.execute(
            sa.select(
                UtilisationRow.cluster,
                UtilisationRow.job_id,
                sa.func.avg(UtilisationRow.utilisation_milli),
            )
            .where(
                UtilisationRow.cluster.in_(sorted({job.cluster for job in jobs})),
                UtilisationRow.job_id.in_(sorted({job.job_id for job in jobs})),
            )
            .group_by(UtilisationRow.cluster, UtilisationRow.job_id)
        )
    }
    weights = [
        (
            job.devices * ((job.end_ns or job.start_ns) - job.start_ns),
            means[job.cluster, job.job_id],
        )
        for job in jobs
        if (job.cluster, job.job_id) in means
    ]
    total = sum(weight for weight, _ in weights)
    if total == 0:
        return None
    mean_milli: float = sum(weight * mean for weight, mean in weights) / total
    return min(MILLI, round(mean_milli))

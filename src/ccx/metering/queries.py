"""Metering reads: stored usage, never rows."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.center.types import JobState, UsageRecord
from ccx.exchange.models import AllocationRow
from ccx.exchange.types import AllocationStatus
from ccx.metering.models import UsageRow
from ccx.metering.types import StoredUsage


def _stored(row: UsageRow) -> StoredUsage:
    return StoredUsage(
        record=UsageRecord(
            cluster=row.cluster,
            job_id=row.job_id,
            step=row.step,
            account=row.account,
            accelerator=row.accelerator,
            devices=row.devices,
            start_ns=row.start_ns,
            end_ns=row.end_ns,
            state=JobState(row.state),
        ),
        allocation_id=row.allocation_id,
        charged_at_ns=row.charged_at_ns,
        imported_at_ns=row.imported_at_ns,
    )


def list_usage(
    session: Session, *, limit: int, allocation_id: int | None = None
) -> list[StoredUsage]:
    """Usage records, oldest start first (of one allocation, when given)."""
    query = sa.select(UsageRow)
    if allocation_id is not None:
        query = query.where(UsageRow.allocation_id == allocation_id)
    rows = session.scalars(
        query.order_by(UsageRow.start_ns, UsageRow.cluster, UsageRow.job_id, UsageRow.step).limit(
            limit
        )
    )
    return [_stored(row) for row in rows]


def usage_since_ns(session: Session, now_ns: int) -> int:
    """Where the next pull of usage from the centre starts: when the oldest live allocation
    (held or running: its jobs may still be unreported) was made (its account is open from
    then, even before its window), or now."""
    earliest = session.scalar(
        sa.select(sa.func.min(AllocationRow.created_at_ns)).where(
            AllocationRow.status.in_([AllocationStatus.HELD.value, AllocationStatus.RUNNING.value])
        )
    )
    return now_ns if earliest is None else min(earliest, now_ns)

"""What metering shows the rest of ccx: stored usage and the reports of imports and
settlement runs."""

from __future__ import annotations

from dataclasses import dataclass

from ccx.center.types import UsageRecord


@dataclass(frozen=True, slots=True)
class StoredUsage:
    record: UsageRecord
    allocation_id: int | None
    charged_at_ns: int | None
    imported_at_ns: int


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: new records, records that moved on (a running job that ended),
    records already there as they are, and records that contradict a charged one (kept as
    charged; listed by key)."""

    inserted: int
    updated: int
    unchanged: int
    conflicts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SettlementReport:
    """One settlement run: jobs seen starting, usages charged, allocations closed."""

    started: int
    charged: int
    charged_micro: int
    closed: int

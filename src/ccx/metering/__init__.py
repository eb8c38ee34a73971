"""Metering and settlement: usage records from the centre (or from files), GPU utilisation
from the exporter, each finished job charged once to its allocation, allocations closed when
they end, and the plan (accounts and limits) the centre should enforce.

Public surface: the types, the writes in `service`, the reads in `queries`; tables are
private.
"""

from ccx.metering.types import ImportReport, SettlementReport, StoredUsage

__all__ = ["ImportReport", "SettlementReport", "StoredUsage"]

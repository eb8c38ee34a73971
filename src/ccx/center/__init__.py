"""The computing centre: one interface (`Center`) over Slurm and a simulated centre.

See docs/center.md.
"""

from ccx.center.errors import CenterError, ParseError
from ccx.center.factory import SIMULATED_POOLS_DEFAULT, open_center
from ccx.center.interfaces import Center
from ccx.center.reconcile import reconcile
from ccx.center.simulated import SimulatedCenter
from ccx.center.slurm import SlurmCenter, SlurmRunner
from ccx.center.types import (
    AcceleratorRate,
    AccountLimit,
    CenterPlan,
    CenterState,
    Change,
    ChangeKind,
    JobSpec,
    JobState,
    JobStatus,
    UsageRecord,
    account_name,
    billing_minutes_for,
    billing_weight_milli,
)

__all__ = [
    "SIMULATED_POOLS_DEFAULT",
    "AcceleratorRate",
    "AccountLimit",
    "Center",
    "CenterError",
    "CenterPlan",
    "CenterState",
    "Change",
    "ChangeKind",
    "JobSpec",
    "JobState",
    "JobStatus",
    "ParseError",
    "SimulatedCenter",
    "SlurmCenter",
    "SlurmRunner",
    "UsageRecord",
    "account_name",
    "billing_minutes_for",
    "billing_weight_milli",
    "open_center",
    "reconcile",
]

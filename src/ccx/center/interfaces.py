"""The one seam between ccx and a computing centre's scheduler."""

from __future__ import annotations

from typing import Protocol

from ccx.center.types import CenterPlan, CenterState, Change, JobSpec, JobStatus, UsageRecord


class Center(Protocol):
    """A centre: Slurm (`SlurmCenter`) or the in-memory simulation (`SimulatedCenter`)."""

    def apply(self, plan: CenterPlan) -> list[Change]:
        """Bring accounts, users, limits and billing weights to the plan; return the changes
        made (none when the centre already matches)."""
        ...

    def state(self) -> CenterState:
        """The centre as it is now (only ccx's own accounts)."""
        ...

    def usage_since(self, since_ns: int) -> list[UsageRecord]:
        """Job allocations that ran at or after `since_ns` (running ones with no end)."""
        ...

    def submit(self, job: JobSpec) -> str:
        """Submit a job (tests, the demo); return its id."""
        ...

    def job_state(self, job_id: str) -> JobStatus:
        """A job's state and, while pending, the scheduler's reason."""
        ...

    def cancel(self, job_id: str) -> None:
        """Cancel a pending or running job."""
        ...

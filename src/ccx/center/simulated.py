"""A SIMULATED centre: accounts, limits and jobs in memory, in the time of a `Clock`.

For the demo, local development and tests; no scheduler runs. It keeps the Slurm centre's
rules so the same contract holds for both (tests/contract/test_center_contract.py):
- changes come from the same `reconcile`;
- a job's billing is devices x its accelerator's weight (milli-credits per device-hour), and a
  job starts only if the account's used billing, plus the full time limit of its running jobs,
  plus this job's devices x weight x time limit fit in the limit (Slurm's `safe` enforcement);
  otherwise it stays pending with reason `AssocGrpBillingMinutes`;
- a job that fits the limit but finds too few free devices in its pool waits for `Resources`;
- a job runs `run_s` (or until its time limit: state TIMEOUT), then frees its devices.
Time moves only with the clock: every call first plays the simulation forward to `now_ns()`,
finishing jobs and starting waiting ones at the moments that happened in between.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ccx.center.errors import CenterError
from ccx.center.reconcile import reconcile
from ccx.center.types import (
    AccountLimit,
    CenterPlan,
    CenterState,
    Change,
    ChangeKind,
    JobSpec,
    JobState,
    JobStatus,
    UsageRecord,
)
from ccx.clock import NS_PER_S, Clock

SIMULATED_CLUSTER = "simulated"
JOBS_MAX = 1_000_000
NS_PER_MIN = 60 * NS_PER_S
REASON_LIMIT = "AssocGrpBillingMinutes"
REASON_RESOURCES = "Resources"
REASON_NONE = "None"


@dataclass
class _Account:
    users: set[str]
    billing_minutes_max: int


@dataclass
class _Job:
    job_id: str
    spec: JobSpec
    state: JobState = JobState.PENDING
    reason: str = REASON_NONE
    weight_milli: int = 0  # billing per device, fixed when the job starts
    start_ns: int | None = None
    finish_ns: int = 0  # when a running job will end
    end_ns: int | None = None

    def billing_ns(self) -> int:
        """Billing x nanoseconds held: the time limit while running (reserved), the time used
        once ended, nothing while pending."""
        if self.start_ns is None:
            return 0
        if self.end_ns is None:
            held_ns = self.spec.time_limit_min * NS_PER_MIN
        else:
            held_ns = self.end_ns - self.start_ns
        return self.spec.devices * self.weight_milli * held_ns


@dataclass
class SimulatedCenter:
    """A simulation of a computing centre on declared pools (accelerator type -> devices)."""

    clock: Clock
    pools: Mapping[str, int]
    submitter: str = "root"  # the user of jobs submitted without one, as `sbatch` by root
    _accounts: dict[str, _Account] = field(default_factory=dict, init=False)
    _weights_milli: dict[str, int] = field(default_factory=dict, init=False)
    _no_decay_qos: bool = field(default=False, init=False)
    _jobs: dict[str, _Job] = field(default_factory=dict, init=False)
    # indexes over `_jobs`, so that scheduling does not rescan every job ever submitted
    _pending: dict[str, _Job] = field(default_factory=dict, init=False)  # submission order
    _running: dict[str, _Job] = field(default_factory=dict, init=False)
    _by_account: dict[str, list[_Job]] = field(default_factory=dict, init=False)

    def apply(self, plan: CenterPlan) -> list[Change]:
        changes = reconcile(plan, self.state())
        for change in changes:
            self._apply(change)
        self._schedule(self.clock.now_ns())
        return changes

    def state(self) -> CenterState:
        self._catch_up()
        accounts = tuple(
            AccountLimit(name, tuple(sorted(a.users)), a.billing_minutes_max)
            for name, a in sorted(self._accounts.items())
        )
        weights = tuple(sorted(self._weights_milli.items()))
        return CenterState(accounts, weights, self._no_decay_qos)

    def usage_since(self, since_ns: int) -> list[UsageRecord]:
        self._catch_up()
        return [
            self._usage(job)
            for job in self._jobs.values()
            if job.start_ns is not None and (job.end_ns is None or job.end_ns >= since_ns)
        ]

    def submit(self, job: JobSpec) -> str:
        self._catch_up()
        self._check_submission(job)
        if len(self._jobs) >= JOBS_MAX:
            raise CenterError(f"more than {JOBS_MAX} simulated jobs")
        job_id = str(len(self._jobs) + 1)
        new = _Job(job_id, job)
        self._jobs[job_id] = self._pending[job_id] = new
        self._by_account.setdefault(job.account, []).append(new)
        self._schedule(self.clock.now_ns())
        return job_id

    def job_state(self, job_id: str) -> JobStatus:
        self._catch_up()
        job = self._job(job_id)
        return JobStatus(job_id, job.state, job.reason)

    def cancel(self, job_id: str) -> None:
        self._catch_up()
        job = self._job(job_id)
        if job.state in (JobState.PENDING, JobState.RUNNING):
            now_ns = self.clock.now_ns()
            if job.start_ns is not None:
                job.end_ns = now_ns
            job.state, job.reason = JobState.CANCELLED, REASON_NONE
            self._pending.pop(job_id, None)
            self._running.pop(job_id, None)
            self._schedule(now_ns)

    # ---- the simulation ----------------------------------------------------------------------

    def _catch_up(self) -> None:
        now_ns = self.clock.now_ns()
        while True:
            running = list(self._running.values())
            next_ns = min((j.finish_ns for j in running), default=None)
            if next_ns is None or next_ns > now_ns:
                return
            for job in running:
                if job.finish_ns == next_ns:
                    self._finish(job)
            self._schedule(next_ns)

    def _finish(self, job: _Job) -> None:
        del self._running[job.job_id]
        job.end_ns = job.finish_ns
        timed_out = job.spec.run_s > job.spec.time_limit_min * 60
        job.state = JobState.TIMEOUT if timed_out else JobState.COMPLETED

    def _schedule(self, at_ns: int) -> None:
        """Start every pending job (in submission order) that its limit and pool allow."""
        for job in list(self._pending.values()):
            job.reason = self._blocker(job)
            if job.reason == REASON_NONE:
                self._start(job, at_ns)

    def _blocker(self, job: _Job) -> str:
        spec = job.spec
        account = self._accounts[spec.account]  # accounts are never deleted
        weight_milli = self._weights_milli.get(spec.accelerator, 0)
        wanted_ns = spec.devices * weight_milli * spec.time_limit_min * NS_PER_MIN
        held_ns = sum(j.billing_ns() for j in self._by_account[spec.account])
        if held_ns + wanted_ns > account.billing_minutes_max * NS_PER_MIN:
            return REASON_LIMIT
        busy = sum(
            j.spec.devices for j in self._running.values() if j.spec.accelerator == spec.accelerator
        )
        if busy + spec.devices > self.pools[spec.accelerator]:
            return REASON_RESOURCES
        return REASON_NONE

    def _start(self, job: _Job, at_ns: int) -> None:
        spec = job.spec
        del self._pending[job.job_id]
        self._running[job.job_id] = job
        job.state = JobState.RUNNING
        job.weight_milli = self._weights_milli.get(spec.accelerator, 0)
        job.start_ns = at_ns
        job.finish_ns = at_ns + min(spec.run_s * NS_PER_S, spec.time_limit_min * NS_PER_MIN)

    # ---- helpers -----------------------------------------------------------------------------

    def _apply(self, change: Change) -> None:
        match change.kind:
            case ChangeKind.CREATE_QOS:
                self._no_decay_qos = True
            case ChangeKind.SET_BILLING_WEIGHTS:
                self._weights_milli = dict(change.billing_weights_milli)
            case ChangeKind.CREATE_ACCOUNT:
                self._accounts[change.account] = _Account(set(), change.billing_minutes_max)
            case ChangeKind.SET_LIMIT:
                self._accounts[change.account].billing_minutes_max = change.billing_minutes_max
            case ChangeKind.ADD_USER:
                self._accounts[change.account].users.add(change.user)
            case ChangeKind.REMOVE_USER:
                self._accounts[change.account].users.discard(change.user)

    def _check_submission(self, job: JobSpec) -> None:
        """Refuse at submission what sbatch refuses."""
        if job.devices > self.pools.get(job.accelerator, 0):
            raise CenterError(f"no pool with {job.devices} {job.accelerator} devices")
        account = self._accounts.get(job.account)
        if account is None or (job.user or self.submitter) not in account.users:
            raise CenterError(f"invalid account {job.account} for this user")

    def _job(self, job_id: str) -> _Job:
        if job_id not in self._jobs:
            raise CenterError(f"no job {job_id}")
        return self._jobs[job_id]

    def _usage(self, job: _Job) -> UsageRecord:
        assert job.start_ns is not None
        return UsageRecord(
            cluster=SIMULATED_CLUSTER,
            job_id=job.job_id,
            step="",
            account=job.spec.account,
            accelerator=job.spec.accelerator,
            devices=job.spec.devices,
            start_ns=job.start_ns,
            end_ns=job.end_ns,
            state=job.state,
        )

"""One contract, two centres: the simulated centre and real Slurm (the testbed of
scripts/slurm-testbed.sh; no part of Slurm is mocked).

The Slurm parameter runs when `scontrol ping` answers UP (SLURM_CONF, else the testbed's
default config) and is skipped otherwise; with CCX_TEST_SLURM=1 (CI) a missing Slurm fails the
run instead. Slurm tests take a file lock: a plan is the whole desired state of ccx's accounts,
so two tests applying plans at once would zero each other's accounts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from ccx.center import (
    AcceleratorRate,
    AccountLimit,
    Center,
    CenterPlan,
    ChangeKind,
    JobSpec,
    JobState,
    SimulatedCenter,
    SlurmCenter,
    SlurmRunner,
    UsageRecord,
    account_name,
    billing_minutes_for,
)
from ccx.clock import NS_PER_S, Clock, SimulatedClock, SystemClock
from ccx.ids import new_id
from tests.contract.slurm import require_slurm, slurm_lock

WAIT_S_MAX = 60
POLL_S = 0.5
PING_TIMEOUT_S = 5
PENDING_CHECK_S = 4  # two scheduler passes on the testbed (sched_interval=2)
USER = "root"  # tests submit as the user they run as
RATES = (
    AcceleratorRate("h100", 1_000_000),
    AcceleratorRate("a100", 250_000),
    AcceleratorRate("b200", 2_250_000),
)
AMPLE_MINUTES = billing_minutes_for(1_000_000)  # one credit: 60 H100-minutes
SCANT_MINUTES = billing_minutes_for(10_000)  # 0.01 credit: less than one H100-minute


@dataclass
class Harness:
    center: Center
    clock: Clock
    pause: Callable[[float], object]  # let centre time pass: sleep, or advance a simulated clock

    def until(self, check: Callable[[], bool], what: str) -> None:
        waited_s = 0.0
        while not check():
            if waited_s > WAIT_S_MAX:
                pytest.fail(f"waited {WAIT_S_MAX} s for {what}")
            self.pause(POLL_S)
            waited_s += POLL_S

    def state_of(self, job_id: str) -> tuple[JobState, str]:
        status = self.center.job_state(job_id)
        return status.state, status.reason


@pytest.fixture(params=["simulated", pytest.param("slurm", marks=pytest.mark.slurm)])
def harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    if request.param == "simulated":
        clock = SimulatedClock()
        center = SimulatedCenter(clock, {"h100": 4, "a100": 4, "b200": 2})
        yield Harness(center, clock, clock.advance)
        return
    monkeypatch.setenv("SLURM_CONF", require_slurm())
    with slurm_lock():
        yield Harness(SlurmCenter(SlurmRunner()), SystemClock(), time.sleep)


def _account(minutes: int) -> AccountLimit:
    return AccountLimit(account_name(new_id()), (USER,), minutes)


def test_apply_sets_accounts_users_limits_and_rates(harness: Harness) -> None:
    ample, scant = _account(AMPLE_MINUTES), _account(SCANT_MINUTES)
    plan = CenterPlan((ample, scant), RATES)
    changes = harness.center.apply(plan)
    created = [c.account for c in changes if c.kind is ChangeKind.CREATE_ACCOUNT]
    assert created == [ample.account, scant.account]
    state = harness.center.state()
    assert ample in state.accounts
    assert scant in state.accounts
    assert dict(state.billing_weights_milli) == {"h100": 1000, "a100": 250, "b200": 2250}
    assert state.no_decay_qos
    assert harness.center.apply(plan) == []


def test_job_within_the_limit_runs_and_its_usage_comes_back(harness: Harness) -> None:
    account = _account(AMPLE_MINUTES)
    harness.center.apply(CenterPlan((account,), RATES))
    since_ns = harness.clock.now_ns() // NS_PER_S * NS_PER_S
    job_id = harness.center.submit(JobSpec(account.account, "a100", 2, time_limit_min=1, run_s=2))
    harness.until(lambda: harness.state_of(job_id)[0] is JobState.COMPLETED, "job completed")

    def ended() -> list[UsageRecord]:  # slurmctld reports to slurmdbd a moment later
        usage = harness.center.usage_since(since_ns)
        return [r for r in usage if r.account == account.account and r.end_ns is not None]

    harness.until(lambda: bool(ended()), "the usage in sacct")
    (usage,) = ended()
    assert (usage.job_id, usage.step, usage.state) == (job_id, "", JobState.COMPLETED)
    assert (usage.accelerator, usage.devices) == ("a100", 2)
    assert usage.end_ns is not None
    assert usage.start_ns >= since_ns
    assert 1 <= (usage.end_ns - usage.start_ns) // NS_PER_S <= 4  # sleep 2, whole seconds


def test_job_over_the_limit_stays_pending_until_a_top_up(harness: Harness) -> None:
    account = _account(SCANT_MINUTES)
    harness.center.apply(CenterPlan((account,), RATES))
    job_id = harness.center.submit(JobSpec(account.account, "h100", 1, time_limit_min=1, run_s=1))
    blocked = (JobState.PENDING, "AssocGrpBillingMinutes")
    harness.until(lambda: harness.state_of(job_id) == blocked, "the billing limit to hold it")
    harness.pause(PENDING_CHECK_S)
    assert harness.state_of(job_id) == blocked
    assert not [r for r in harness.center.usage_since(0) if r.account == account.account]
    topped_up = AccountLimit(account.account, account.users, AMPLE_MINUTES)
    harness.center.apply(CenterPlan((topped_up,), RATES))
    harness.until(lambda: harness.state_of(job_id)[0] is JobState.COMPLETED, "the job to run")


def test_an_account_dropped_from_the_plan_is_zeroed_and_refuses_new_jobs(
    harness: Harness,
) -> None:
    account = _account(AMPLE_MINUTES)
    harness.center.apply(CenterPlan((account,), RATES))
    changes = harness.center.apply(CenterPlan((), RATES))
    assert [(c.kind, c.account) for c in changes] == [(ChangeKind.SET_LIMIT, account.account)]
    job_id = harness.center.submit(JobSpec(account.account, "b200", 1, time_limit_min=1, run_s=1))
    blocked = (JobState.PENDING, "AssocGrpBillingMinutes")
    harness.until(lambda: harness.state_of(job_id) == blocked, "the zero limit to hold it")
    harness.center.cancel(job_id)
    harness.until(lambda: harness.state_of(job_id)[0] is JobState.CANCELLED, "job cancelled")

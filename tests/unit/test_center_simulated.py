"""The simulated centre's own rules beyond the shared contract: pools, time limits, time."""

from __future__ import annotations

import pytest

from ccx.center import (
    AcceleratorRate,
    AccountLimit,
    CenterError,
    CenterPlan,
    JobSpec,
    JobState,
    SimulatedCenter,
    open_center,
)
from ccx.clock import NS_PER_S, SimulatedClock
from ccx.config import Settings

RATES = (AcceleratorRate("h100", 1_000_000),)


def _center(minutes: int = 60_000) -> tuple[SimulatedCenter, SimulatedClock]:
    clock = SimulatedClock()
    center = SimulatedCenter(clock, {"h100": 2})
    center.apply(CenterPlan((AccountLimit("ccx-a1", ("root",), minutes),), RATES))
    return center, clock


def test_a_job_waits_for_free_devices_and_starts_when_they_free() -> None:
    center, clock = _center()
    first = center.submit(JobSpec("ccx-a1", "h100", 2, time_limit_min=1, run_s=10))
    second = center.submit(JobSpec("ccx-a1", "h100", 1, time_limit_min=1, run_s=10))
    assert center.job_state(second).reason == "Resources"
    clock.advance(10)
    assert center.job_state(first).state is JobState.COMPLETED
    assert center.job_state(second).state is JobState.RUNNING
    usage = {r.job_id: r for r in center.usage_since(0)}
    assert usage[second].start_ns == usage[first].end_ns  # started the moment devices freed


def test_a_job_past_its_time_limit_times_out_and_is_charged_the_limit() -> None:
    center, clock = _center()
    job_id = center.submit(JobSpec("ccx-a1", "h100", 1, time_limit_min=1, run_s=300))
    clock.advance(120)
    assert center.job_state(job_id).state is JobState.TIMEOUT
    (usage,) = center.usage_since(0)
    assert usage.end_ns is not None
    assert usage.end_ns - usage.start_ns == 60 * NS_PER_S


def test_used_billing_counts_against_the_limit() -> None:
    center, clock = _center(minutes=1500)  # 1.5 H100-minutes at weight 1000
    first = center.submit(JobSpec("ccx-a1", "h100", 1, time_limit_min=1, run_s=30))
    clock.advance(30)  # used 500 billing-minutes, 1000 left: one more 1-minute job fits
    second = center.submit(JobSpec("ccx-a1", "h100", 1, time_limit_min=1, run_s=60))
    third = center.submit(JobSpec("ccx-a1", "h100", 1, time_limit_min=1, run_s=1))
    assert center.job_state(first).state is JobState.COMPLETED
    assert center.job_state(second).state is JobState.RUNNING
    assert center.job_state(third).reason == "AssocGrpBillingMinutes"


def test_submissions_slurm_would_refuse_are_refused() -> None:
    center, _ = _center()
    with pytest.raises(CenterError, match="no pool"):
        center.submit(JobSpec("ccx-a1", "b200", 1, time_limit_min=1, run_s=1))
    with pytest.raises(CenterError, match="invalid account"):
        center.submit(JobSpec("ccx-a1", "h100", 1, time_limit_min=1, run_s=1, user="mallory"))
    with pytest.raises(CenterError, match="no job"):
        center.job_state("99")


def test_settings_choose_the_centre() -> None:
    clock = SimulatedClock()
    assert isinstance(open_center(Settings(center="simulated"), clock), SimulatedCenter)
    with pytest.raises(ValueError, match="center"):
        Settings.model_validate({"center": "pbs"})

"""The whole path on both centres: request → clearing round → allocation with its hold → the
centre's account and limit → a job → usage (through sacct on Slurm) → charged exactly once →
balances; and `ccx ledger verify` passes. On both databases.

ccx runs on a simulated clock that starts at the real time, so that the allocation can be
closed by moving ccx's clock to its end while Slurm's jobs run in real time.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from ccx.center import Center, JobSpec, JobState, SimulatedCenter, SlurmCenter, SlurmRunner
from ccx.center.types import account_name
from ccx.clock import NS_PER_S, SimulatedClock
from ccx.db import Database
from ccx.exchange import AllocationStatus, rounds
from ccx.exchange import queries as exchange_queries
from ccx.ledger import queries as ledger_queries
from ccx.metering import queries as metering_queries
from ccx.metering import service as metering
from ccx.programs import queries as programme_queries
from ccx.programs.ledger_ids import programme_accounts
from ccx.registry import Organisation, OrgKind
from ccx.registry import service as registry_service
from ccx.registry.service import utc_today
from tests.contract.slurm import require_slurm, slurm_lock
from tests.exchange_factories import file, make_pool, parameters
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    apply,
    assert_ledger_ok,
    grant_mandate,
    make_programme,
    register,
    verified_ledger,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.usefixtures("verified_ledger")
USER = "root"  # the tests submit as the user they run as
WAIT_S_MAX = 60
POLL_S = 0.5
REVENUE = programme_accounts(PROGRAMME_ID).centre_revenue


@dataclass
class Site:
    center: Center
    pause: Callable[[float], object]  # let the centre's time pass
    reset_usage: Callable[[str], None]  # forget what an account used before (Slurm: RawUsage)


def _reset_slurm_usage(account: str) -> None:
    """Allocation ids restart with each test database; the testbed keeps old accounts' usage."""
    subprocess.run(
        ["sacctmgr", "-i", "modify", "account", f"name={account}", "set", "RawUsage=0"],
        check=True,
        capture_output=True,
        timeout=30,
    )


@pytest.fixture(params=["simulated", pytest.param("slurm", marks=pytest.mark.slurm)])
def site(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, clock: SimulatedClock
) -> Iterator[Site]:
    if request.param == "simulated":
        yield Site(SimulatedCenter(clock, {"h100": 4, "a100": 8}), clock.advance, lambda _: None)
        return
    monkeypatch.setenv("SLURM_CONF", require_slurm())
    with slurm_lock():
        yield Site(SlurmCenter(SlurmRunner()), time.sleep, _reset_slurm_usage)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(time.time_ns() // NS_PER_S * NS_PER_S)


def sync(database: Database, clock: SimulatedClock, center: Center) -> None:
    """The worker's centre duties: pull usage, settle, apply the plan."""
    with database.write() as session:
        since = metering_queries.usage_since_ns(session, clock.now_ns())
        metering.import_usage(session, center.usage_since(since), clock)
        metering.settle_usage(session, clock)
        center.apply(metering.centre_plan(session, clock))


def until(site: Site, check: Callable[[], bool], what: str) -> None:
    waited_s = 0.0
    while not check():
        if waited_s > WAIT_S_MAX:
            pytest.fail(f"waited {WAIT_S_MAX} s for {what}")
        site.pause(POLL_S)
        waited_s += POLL_S


@dataclass(frozen=True)
class Setting:
    firm: Organisation
    integrator: Organisation
    mandate_id: int


def setting_today(database: Database, clock: SimulatedClock) -> Setting:
    """The standard programme, firm, integrator and mandate, dated around today (the clock
    runs at the real time here): a 100-credit lot, a 50-credit mandate, an H100 pool."""
    today = utc_today(clock)
    make_programme(database, clock, opens_on=today, closes_on=today + timedelta(days=365))
    firm = register(database, clock, 1)
    apply(database, clock, firm.id)
    integrator = register(database, clock, 2, kind=OrgKind.INTEGRATOR)
    with database.write() as session:
        registry_service.apply_for_certification(session, integrator.id, clock)
        registry_service.certify(
            session, integrator.id, until=today + timedelta(days=365), clock=clock
        )
    mandate = grant_mandate(
        database, clock, firm.id, integrator.id, valid_until=today + timedelta(days=90)
    )
    make_pool(database, clock, "h100-a", "H100", 4)
    return Setting(firm, integrator, mandate.id)


def test_an_allocation_becomes_a_limit_and_its_job_is_charged_once(
    site: Site, database: Database, clock: SimulatedClock
) -> None:
    setting = setting_today(database, clock)
    file(database, clock, setting.mandate_id, earliest_start_ns=clock.now_ns())
    with database.write() as session:
        metering.add_centre_user(
            session, integrator_id=setting.integrator.id, username=USER, clock=clock
        )
        [allocation] = rounds.clear_round(session, parameters(clock), clock).allocations
    account = account_name(allocation.id)
    sync(database, clock, site.center)
    site.reset_usage(account)
    limit = next(a for a in site.center.state().accounts if a.account == account)
    assert limit.billing_minutes_max == allocation.device_hours * 60 * 1000
    assert USER in limit.users

    job_id = site.center.submit(JobSpec(account, "h100", 2, time_limit_min=1, run_s=2))
    until(site, lambda: site.center.job_state(job_id).state is JobState.COMPLETED, "the job")

    def recorded() -> bool:  # Slurm writes the job's end to its database a moment later
        return any(r.job_id == job_id and r.end_ns is not None for r in site.center.usage_since(0))

    until(site, recorded, "the job's usage")
    [usage] = [r for r in site.center.usage_since(0) if r.job_id == job_id and r.step == ""]
    assert usage.end_ns is not None
    used_s = 2 * (usage.end_ns - usage.start_ns) // NS_PER_S
    clock.advance(ns=max(0, allocation.end_ns - clock.now_ns()))
    sync(database, clock, site.center)
    sync(database, clock, site.center)  # a replay changes nothing

    expected_micro = allocation.amount_micro * used_s // (allocation.device_hours * 3600)
    with database.read() as session:
        settled = exchange_queries.get_allocation(session, allocation.id)
        revenue = ledger_queries.get_accounts(session, [REVENUE])[REVENUE]
        lots = programme_queries.list_lots(
            session, limit=10, programme_id=PROGRAMME_ID, firm_id=setting.firm.id
        )
        mandate = programme_queries.get_mandate(session, setting.mandate_id)
    assert settled is not None
    assert (settled.status, settled.used_device_s) == (AllocationStatus.SETTLED, used_s)
    assert settled.posted_micro == expected_micro
    assert revenue.credits_posted == expected_micro
    assert sum(lot.available_micro for lot in lots) == 100 * CREDIT - expected_micro
    assert mandate is not None
    assert mandate.drawn_micro == expected_micro
    closed = next(a for a in site.center.state().accounts if a.account == account)
    assert closed.billing_minutes_max == 0  # the centre runs nothing more under it
    assert_ledger_ok(database)

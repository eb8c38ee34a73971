"""Metering and settlement on both databases: the full path request → round → allocation →
centre limit → job → usage → charge → close, on the simulated centre; idempotent imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccx.center.parsers import parse_dcgm, parse_sacct
from ccx.center.simulated import SimulatedCenter
from ccx.center.types import JobSpec, JobState, account_name
from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.exchange import Allocation, AllocationStatus, RequestOption, rounds
from ccx.exchange import queries as exchange_queries
from ccx.ledger import queries as ledger_queries
from ccx.metering import queries as metering_queries
from ccx.metering import service as metering
from ccx.programs import ConflictError, InvalidRequestError
from ccx.programs import queries as programme_queries
from ccx.programs.ledger_ids import programme_accounts
from tests.exchange_factories import HOUR_NS, Setting, file, parameters, standard_setting
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    register,
    verified_ledger,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.usefixtures("verified_ledger")
DATA = Path(__file__).parent.parent / "data"
REVENUE = programme_accounts(PROGRAMME_ID).centre_revenue


def allocate(database: Database, clock: SimulatedClock) -> tuple[Setting, Allocation]:
    setting = standard_setting(database, clock)
    file(database, clock, setting.mandate.id)
    with database.write() as session:
        metering.add_centre_user(
            session, integrator_id=setting.integrator.id, username="alice", clock=clock
        )
        [allocation] = rounds.clear_round(session, parameters(clock), clock).allocations
    clock.advance(ns=allocation.start_ns - clock.now_ns())
    return setting, allocation


def sync(database: Database, clock: SimulatedClock, center: SimulatedCenter) -> None:
    """One pass of the worker's centre duties: pull usage, settle, apply the plan."""
    with database.write() as session:
        since = metering_queries.usage_since_ns(session, clock.now_ns())
        metering.import_usage(session, center.usage_since(since), clock)
        metering.settle_usage(session, clock)
        center.apply(metering.centre_plan(session, clock))


def job(
    allocation: Allocation, *, run_s: int, devices: int = 1, accelerator: str = "h100"
) -> JobSpec:
    """A job that asks for its run time (the scheduler checks time limit x billing against
    what the account has left)."""
    return JobSpec(
        account=account_name(allocation.id),
        accelerator=accelerator,
        devices=devices,
        time_limit_min=run_s // 60 + 1,
        run_s=run_s,
        user="alice",
    )


def test_a_job_under_an_allocation_is_charged_once_and_the_rest_returns(
    database: Database, clock: SimulatedClock
) -> None:
    setting, allocation = allocate(database, clock)
    center = SimulatedCenter(clock, {"h100": 4, "a100": 8})
    sync(database, clock, center)
    [account] = center.state().accounts
    assert account.account == account_name(allocation.id)
    assert account.users == ("alice",)
    assert account.billing_minutes_max == 10 * 60 * 1000  # 10 H100-hours at weight 1000
    job_id = center.submit(job(allocation, run_s=3 * 3600, devices=2))
    clock.advance(ns=4 * HOUR_NS)
    assert center.job_state(job_id).state is JobState.COMPLETED
    sync(database, clock, center)
    sync(database, clock, center)  # a replay charges nothing more
    with database.read() as session:
        charged = exchange_queries.get_allocation(session, allocation.id)
    assert charged is not None
    assert charged.status is AllocationStatus.RUNNING
    assert charged.posted_micro == 0  # charged when the allocation closes, within the day
    clock.advance(ns=allocation.end_ns - clock.now_ns())
    sync(database, clock, center)
    with database.read() as session:
        closed = exchange_queries.get_allocation(session, allocation.id)
        revenue = ledger_queries.get_accounts(session, [REVENUE])[REVENUE]
        lots = programme_queries.list_lots(
            session, limit=10, programme_id=PROGRAMME_ID, firm_id=setting.firm.id
        )
    assert closed is not None
    assert (closed.status, closed.posted_micro, closed.held_micro) == (
        AllocationStatus.SETTLED,
        6 * CREDIT,
        0,
    )
    assert revenue.credits_posted == 6 * CREDIT
    assert sum(lot.available_micro for lot in lots) == 94 * CREDIT
    assert center.state().accounts[0].billing_minutes_max == 0  # closed: no more jobs


def test_a_job_is_charged_at_once_when_its_allocation_runs_on_for_days(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    file(
        database,
        clock,
        setting.mandate.id,
        work_device_hours=55,  # one device: 12 hours a slot, so five slots of 12 hours
        deadline_ns=clock.now_ns() + 96 * HOUR_NS,
        options=(RequestOption("A100", 1000),),  # a quarter of a credit an hour
    )
    with database.write() as session:
        metering.add_centre_user(
            session, integrator_id=setting.integrator.id, username="alice", clock=clock
        )
        params = parameters(clock, slot_s=12 * 3600, slots=6)
        [allocation] = rounds.clear_round(session, params, clock).allocations
    clock.advance(ns=allocation.start_ns - clock.now_ns())
    center = SimulatedCenter(clock, {"h100": 4, "a100": 8})
    sync(database, clock, center)
    center.submit(job(allocation, run_s=2 * 3600, accelerator="a100"))
    clock.advance(ns=3 * HOUR_NS)
    sync(database, clock, center)
    sync(database, clock, center)
    with database.read() as session:
        charged = exchange_queries.get_allocation(session, allocation.id)
    assert charged is not None
    assert allocation.end_ns - allocation.start_ns > 48 * HOUR_NS
    assert (charged.status, charged.used_device_s) == (AllocationStatus.RUNNING, 2 * 3600)
    assert (charged.posted_micro, charged.held_micro) == (
        CREDIT // 2,
        55 * CREDIT // 4 - CREDIT // 2,
    )
    assert charged.spend_id != allocation.spend_id  # the rest is held again


def test_a_job_over_the_limit_is_refused_by_the_centre_not_charged(
    database: Database, clock: SimulatedClock
) -> None:
    _, allocation = allocate(database, clock)
    center = SimulatedCenter(clock, {"h100": 4, "a100": 8})
    sync(database, clock, center)
    job_id = center.submit(job(allocation, run_s=3 * 3600, devices=4))  # 12 of 10 hours
    clock.advance(ns=HOUR_NS)
    status = center.job_state(job_id)
    assert status.state is JobState.PENDING
    assert status.reason == "AssocGrpBillingMinutes"
    sync(database, clock, center)
    with database.read() as session:
        same = exchange_queries.get_allocation(session, allocation.id)
    assert same is not None
    assert same.posted_micro == 0


def test_a_crash_between_import_and_charge_is_caught_up(
    database: Database, clock: SimulatedClock
) -> None:
    _, allocation = allocate(database, clock)
    center = SimulatedCenter(clock, {"h100": 4, "a100": 8})
    sync(database, clock, center)
    center.submit(job(allocation, run_s=3600))
    clock.advance(ns=allocation.end_ns - clock.now_ns())
    with database.write() as session:  # imported, then the process died before settling
        metering.import_usage(session, center.usage_since(0), clock)
    with database.write() as session:
        report = metering.settle_usage(session, clock)
    assert (report.charged, report.charged_micro, report.closed) == (1, CREDIT, 1)
    with database.write() as session:
        again = metering.settle_usage(session, clock)
    assert again.charged == 0


def test_importing_captured_sacct_output_twice_changes_nothing(
    database: Database, clock: SimulatedClock
) -> None:
    records = parse_sacct((DATA / "slurm" / "sacct-jobs-and-steps.txt").read_text())
    with database.write() as session:
        first = metering.import_usage(session, records, clock)
    with database.write() as session:
        second = metering.import_usage(session, records, clock)
    assert first.inserted == len(records) > 0
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, len(records))
    with database.read() as session:
        stored = metering_queries.list_usage(session, limit=1000)
    assert [item.record for item in stored] == sorted(
        records, key=lambda r: (r.start_ns, r.cluster, r.job_id, r.step)
    )
    assert all(item.allocation_id is None for item in stored)  # no such allocations here


def test_utilisation_feeds_the_settled_allocation(
    database: Database, clock: SimulatedClock
) -> None:
    _, allocation = allocate(database, clock)
    center = SimulatedCenter(clock, {"h100": 4, "a100": 8})
    sync(database, clock, center)
    job_id = center.submit(job(allocation, run_s=3600))
    clock.advance(ns=allocation.end_ns - clock.now_ns())
    samples = [
        sample
        for sample in parse_dcgm((DATA / "dcgm" / "dcgm-exporter-sample.prom").read_text())
        if sample.job_id == "1"
    ]
    assert samples
    cluster = center.usage_since(0)[0].cluster
    with database.write() as session:
        new = metering.import_utilisation(
            session, samples, cluster=cluster, observed_at_ns=clock.now_ns()
        )
        again = metering.import_utilisation(
            session, samples, cluster=cluster, observed_at_ns=clock.now_ns()
        )
    assert (new, again) == (len(samples), 0)
    assert job_id == "1"
    sync(database, clock, center)
    with database.read() as session:
        closed = exchange_queries.get_allocation(session, allocation.id)
    assert closed is not None
    expected = sum(sample.utilisation_milli for sample in samples) // len(samples)
    assert closed.utilisation_milli is not None
    assert abs(closed.utilisation_milli - expected) <= 1


def test_centre_logins_belong_to_integrators(database: Database, clock: SimulatedClock) -> None:
    setting, _ = allocate(database, clock)
    firm = register(database, clock, 5)
    with database.write() as session, pytest.raises(InvalidRequestError, match="not an integrator"):
        metering.add_centre_user(session, integrator_id=firm.id, username="bob", clock=clock)
    with database.write() as session, pytest.raises(InvalidRequestError, match="centre login"):
        metering.add_centre_user(
            session, integrator_id=setting.integrator.id, username="Bad Name", clock=clock
        )
    other = register(database, clock, 6, kind=setting.integrator.kind)
    with database.write() as session, pytest.raises(ConflictError, match="belongs to"):
        metering.add_centre_user(session, integrator_id=other.id, username="alice", clock=clock)

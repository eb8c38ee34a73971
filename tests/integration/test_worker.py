"""The worker's beats on both databases, over the simulated centre: a round is cleared once per
period, its allocation becomes an account with a limit, a job's usage is charged once and the
allocation closes; a failing duty does not stop the others."""

from __future__ import annotations

import pytest

from ccx.center.simulated import SimulatedCenter
from ccx.center.types import JobSpec, UsageRecord, account_name
from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.exchange import AllocationStatus, RoundParameters
from ccx.exchange import queries as exchange_queries
from ccx.metering import service as metering
from ccx.worker import Worker, next_round_start_ns
from tests.exchange_factories import HOUR_NS, file, standard_setting
from tests.programs_factories import CREDIT, verified_ledger  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("verified_ledger")
TEMPLATE = RoundParameters(
    start_ns=0, firm_share_milli=1000, integrator_share_milli=1000, group_share_milli=1000
)


def done(worker: Worker) -> dict[str, int]:
    results = worker.beat()
    assert [result.error for result in results] == [None] * len(results)
    return {result.duty: result.done for result in results}


def test_beats_take_a_request_from_round_to_settlement(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    file(
        database,
        clock,
        setting.mandate.id,
        earliest_start_ns=clock.now_ns(),
        deadline_ns=clock.now_ns() + 48 * HOUR_NS,
    )
    with database.write() as session:
        metering.add_centre_user(
            session, integrator_id=setting.integrator.id, username="alice", clock=clock
        )
    center = SimulatedCenter(clock, {"h100": 4, "a100": 8})
    worker = Worker(database, clock, center, TEMPLATE)
    first = done(worker)
    assert first["clear a round"] == 1
    assert done(worker)["clear a round"] == 0  # the same period is not cleared twice
    with database.read() as session:
        [allocation] = exchange_queries.list_allocations(session, limit=10)
    assert allocation.start_ns == next_round_start_ns(clock.now_ns(), TEMPLATE.slot_s)
    clock.advance(ns=allocation.start_ns - clock.now_ns())
    center.submit(
        JobSpec(
            account=account_name(allocation.id),
            accelerator="h100",
            devices=1,
            time_limit_min=121,
            run_s=2 * 3600,
            user="alice",
        )
    )
    clock.advance(ns=3 * HOUR_NS)
    assert done(worker)["settle usage"] == 1  # started; charged when the allocation closes
    clock.advance(ns=allocation.end_ns - clock.now_ns())
    done(worker)
    with database.read() as session:
        settled = exchange_queries.get_allocation(session, allocation.id)
    assert settled is not None
    assert (settled.status, settled.posted_micro) == (AllocationStatus.SETTLED, 2 * CREDIT)


def test_an_idle_allocation_is_reclaimed_by_the_worker(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    file(database, clock, setting.mandate.id, deadline_ns=clock.now_ns() + 48 * HOUR_NS)
    worker = Worker(database, clock, SimulatedCenter(clock, {"h100": 4}), TEMPLATE)
    done(worker)
    with database.read() as session:
        [allocation] = exchange_queries.list_allocations(session, limit=10)
    clock.advance(ns=allocation.reclaim_after_ns - clock.now_ns())
    assert done(worker)["reclaim idle allocations"] == 1


def test_a_failing_duty_is_reported_and_the_rest_still_run(
    database: Database, clock: SimulatedClock
) -> None:
    class BrokenCentre(SimulatedCenter):
        """A fake centre whose usage report fails."""

        def usage_since(self, since_ns: int) -> list[UsageRecord]:
            del since_ns
            raise RuntimeError("sacct timed out")

    worker = Worker(database, clock, BrokenCentre(clock, {"h100": 1}), TEMPLATE)
    results = {result.duty: result for result in worker.beat()}
    assert results["import usage"].error == "RuntimeError: sacct timed out"
    assert results["seal the journal"].error is None

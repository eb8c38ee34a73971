"""Clearing rounds end to end: gather, solve, persist, hold; reclaim, settle and the efficiency
score; on both databases."""

from __future__ import annotations

import pytest

from ccx.clock import NS_PER_S, SimulatedClock
from ccx.db import Database
from ccx.exchange import (
    AllocationStatus,
    RequestOption,
    RequestStatus,
    RoundOutcome,
    RoundParameters,
    rounds,
)
from ccx.exchange import queries as exchange_queries
from ccx.exchange import service as exchange_service
from ccx.exchange.problem import Binding
from ccx.ledger import queries as ledger_queries
from ccx.ledger.types import PendingStatus
from ccx.programs import ConflictError, InvalidRequestError
from ccx.programs import mandates as mandate_service
from ccx.programs import queries as programme_queries
from ccx.programs.ledger_ids import programme_accounts
from tests.exchange_factories import (
    HOUR_NS,
    Setting,
    file,
    make_pool,
    parameters,
    standard_setting,
)
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    apply,
    grant_mandate,
    register,
    verified_ledger,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.usefixtures("verified_ledger")
REVENUE = programme_accounts(PROGRAMME_ID).centre_revenue


def clear(database: Database, clock: SimulatedClock, params: RoundParameters) -> RoundOutcome:
    with database.write() as session:
        return rounds.clear_round(session, params, clock)


def firm_available(database: Database, setting: Setting) -> int:
    with database.read() as session:
        lots = programme_queries.list_lots(
            session, limit=10, programme_id=PROGRAMME_ID, firm_id=setting.firm.id
        )
    return sum(lot.available_micro for lot in lots)


def hold_status(database: Database, spend_id: int) -> list[PendingStatus]:
    with database.read() as session:
        spend = programme_queries.get_spend(session, spend_id)
        assert spend is not None
        states = [ledger_queries.get_pending_state(session, leg.transfer_id) for leg in spend.legs]
    return [state.status for state in states if state is not None]


def test_a_round_allocates_and_holds_the_credits(database: Database, clock: SimulatedClock) -> None:
    setting = standard_setting(database, clock)
    request = file(database, clock, setting.mandate.id)
    outcome = clear(database, clock, parameters(clock))
    [allocation] = outcome.allocations
    assert (allocation.pool_id, allocation.device_hours) == (setting.h100.id, 10)
    assert allocation.rate_micro == allocation.price_micro == CREDIT  # the pool is not full
    assert allocation.amount_micro == 10 * CREDIT
    assert allocation.status is AllocationStatus.HELD
    assert hold_status(database, allocation.spend_id) == [PendingStatus.PENDING]
    assert firm_available(database, setting) == 90 * CREDIT
    assert outcome.round is not None
    assert outcome.round.capacity_device_hours == (4 + 8) * 24
    assert outcome.round.allocated_device_hours == 10
    assert allocation.explanation.alternatives[0].pool_id == setting.h100.id
    with database.read() as session:
        after = exchange_queries.get_request(session, request.id)
        mandate = programme_queries.get_mandate(session, setting.mandate.id)
    assert after is not None
    assert after.status is RequestStatus.ALLOCATED
    assert after.committed_micro == 10 * CREDIT
    assert mandate is not None
    assert mandate.drawn_micro == 10 * CREDIT


def test_the_lp_puts_a_job_on_the_older_accelerator_when_a_credit_buys_more_there(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    file(
        database,
        clock,
        setting.mandate.id,
        work_device_hours=40,
        max_credits_micro=5 * CREDIT,
        options=(RequestOption("H100", 1000), RequestOption("A100", 600)),
    )
    [allocation] = clear(database, clock, parameters(clock)).allocations
    assert allocation.pool_id == setting.a100.id
    assert allocation.accelerator == "A100"
    assert allocation.amount_micro <= 5 * CREDIT
    assert allocation.device_hours == 20  # 5 credits at 0.25 each: 12 units of work, not 5
    assert Binding.BUDGET in allocation.explanation.binding


def test_a_dry_run_commits_nothing(database: Database, clock: SimulatedClock) -> None:
    setting = standard_setting(database, clock)
    file(database, clock, setting.mandate.id)
    with database.read() as session:
        gathered, plan = rounds.plan_round(session, parameters(clock), clock)
    assert len(plan.allocations) == 1
    assert len(gathered.problem.bids) == 1
    with database.read() as session:
        assert exchange_queries.list_rounds(session, limit=10) == []
    assert firm_available(database, setting) == 100 * CREDIT


def test_later_rounds_see_the_capacity_earlier_ones_took(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    with database.write() as session:
        exchange_service.resize_pool(session, pool_id=setting.h100.id, devices=1, clock=clock)
    file(database, clock, setting.mandate.id, work_device_hours=24, max_credits_micro=30 * CREDIT)
    first = clear(database, clock, parameters(clock))
    assert first.allocations[0].device_hours == 24  # the whole H100 pool for a day
    other = register(database, clock, 3)
    apply(database, clock, other.id)
    mandate = grant_mandate(database, clock, other.id, setting.integrator.id, key="m2")
    file(database, clock, mandate.id, key="r2")
    second = clear(database, clock, parameters(clock))
    assert second.allocations == ()
    assert second.round is not None
    assert second.round.capacity_device_hours == 8 * 24  # the A100 pool only
    [(_, reasons)] = second.round.unplaced
    assert reasons


def test_an_idle_allocation_is_reclaimed_after_its_grace_period(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    request = file(database, clock, setting.mandate.id)
    outcome = clear(database, clock, parameters(clock, grace_s=3600))
    [allocation] = outcome.allocations
    with database.write() as session:
        assert rounds.reclaim_idle(session, clock) == []  # not yet
    clock.advance(ns=allocation.reclaim_after_ns - clock.now_ns())
    with database.write() as session:
        [reclaimed] = rounds.reclaim_idle(session, clock)
    assert reclaimed.status is AllocationStatus.RECLAIMED
    assert hold_status(database, allocation.spend_id) == [PendingStatus.VOIDED]
    assert firm_available(database, setting) == 100 * CREDIT
    with database.read() as session:
        again = exchange_queries.get_request(session, request.id)
        round_ = exchange_queries.get_round(session, reclaimed.round_id)
        score = exchange_queries.efficiency_scores(session, [setting.integrator.id])
    assert again is not None
    assert (again.status, again.committed_micro) == (RequestStatus.OPEN, 0)
    assert round_ is not None
    assert round_.reclaimed_device_hours == 10
    assert score[setting.integrator.id].score_milli < 1000
    assert score[setting.integrator.id].reclaimed == 1
    next_round = clear(database, clock, parameters(clock))
    assert len(next_round.allocations) == 1  # the capacity and the work are back


def test_a_started_allocation_is_not_reclaimed(database: Database, clock: SimulatedClock) -> None:
    setting = standard_setting(database, clock)
    file(database, clock, setting.mandate.id)
    [allocation] = clear(database, clock, parameters(clock, grace_s=3600)).allocations
    with database.write() as session:
        rounds.record_start(session, allocation_id=allocation.id, started_at_ns=clock.now_ns())
    clock.advance(ns=allocation.reclaim_after_ns - clock.now_ns() + HOUR_NS)
    with database.write() as session:
        assert rounds.reclaim_idle(session, clock) == []


def test_settlement_posts_what_was_used_and_voids_the_rest(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    file(database, clock, setting.mandate.id)
    [allocation] = clear(database, clock, parameters(clock)).allocations
    half_s = allocation.device_hours * 3600 // 2
    with database.write() as session:
        settled = rounds.settle_allocation(
            session,
            allocation_id=allocation.id,
            used_device_s=half_s,
            utilisation_milli=800,
            clock=clock,
        )
        again = rounds.settle_allocation(
            session,
            allocation_id=allocation.id,
            used_device_s=half_s,
            utilisation_milli=800,
            clock=clock,
        )
    assert settled == again
    assert settled.posted_micro == allocation.amount_micro // 2
    assert hold_status(database, allocation.spend_id) == [PendingStatus.POSTED]
    with database.read() as session:
        revenue = ledger_queries.get_accounts(session, [REVENUE])[REVENUE]
        score = exchange_queries.efficiency_scores(session, [setting.integrator.id])
    assert revenue.credits_posted == allocation.amount_micro // 2
    assert firm_available(database, setting) == 100 * CREDIT - allocation.amount_micro // 2
    assert score[setting.integrator.id].utilised_device_hours == 4  # 5 used at 80 %
    with database.write() as session, pytest.raises(ConflictError):
        rounds.settle_allocation(
            session,
            allocation_id=allocation.id,
            used_device_s=0,
            utilisation_milli=None,
            clock=clock,
        )
    with database.write() as session, pytest.raises(InvalidRequestError):
        rounds.settle_allocation(
            session,
            allocation_id=allocation.id,
            used_device_s=allocation.device_hours * 3600 + 1,
            utilisation_milli=None,
            clock=clock,
        )


def test_each_metered_usage_is_charged_once_and_the_rest_held_again(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    file(database, clock, setting.mandate.id)
    [allocation] = clear(database, clock, parameters(clock)).allocations
    two_hours_s = 2 * 3600
    with database.write() as session:
        first = rounds.charge_usage(
            session,
            allocation_id=allocation.id,
            usage_key="haenam|1001|",
            used_device_s=two_hours_s,
            clock=clock,
        )
    with database.write() as session:
        replay = rounds.charge_usage(
            session,
            allocation_id=allocation.id,
            usage_key="haenam|1001|",
            used_device_s=two_hours_s,
            clock=clock,
        )
    assert replay == first
    assert first.status is AllocationStatus.RUNNING
    assert (first.posted_micro, first.held_micro) == (2 * CREDIT, 8 * CREDIT)
    assert first.spend_id != allocation.spend_id  # the rest is held again
    assert hold_status(database, allocation.spend_id) == [PendingStatus.POSTED]
    assert firm_available(database, setting) == 90 * CREDIT
    with database.write() as session, pytest.raises(ConflictError, match="other device-seconds"):
        rounds.charge_usage(
            session,
            allocation_id=allocation.id,
            usage_key="haenam|1001|",
            used_device_s=1,
            clock=clock,
        )
    with database.write() as session:
        closed = rounds.close_allocation(
            session, allocation_id=allocation.id, utilisation_milli=None, clock=clock
        )
    assert (closed.status, closed.posted_micro, closed.held_micro) == (
        AllocationStatus.SETTLED,
        2 * CREDIT,
        0,
    )
    assert hold_status(database, first.spend_id) == [PendingStatus.VOIDED]
    assert firm_available(database, setting) == 98 * CREDIT
    with database.read() as session:
        revenue = ledger_queries.get_accounts(session, [REVENUE])[REVENUE]
    assert revenue.credits_posted == 2 * CREDIT


def test_a_request_whose_mandate_was_revoked_is_left_out_with_the_reason(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    request = file(database, clock, setting.mandate.id)
    with database.write() as session:
        mandate_service.revoke_mandate(session, mandate_id=setting.mandate.id, clock=clock)
    outcome = clear(database, clock, parameters(clock))
    assert outcome.allocations == ()
    assert outcome.round is not None
    [(request_id, reasons)] = outcome.round.unplaced
    assert request_id == request.id
    assert any("revoked" in reason for reason in reasons)


@pytest.mark.parametrize("policy", ["lp", "fcfs", "quotas"])
def test_every_policy_runs_on_the_same_inputs(
    database: Database, clock: SimulatedClock, policy: str
) -> None:
    setting = standard_setting(database, clock)
    file(database, clock, setting.mandate.id)
    outcome = clear(database, clock, parameters(clock, policy=policy))
    assert outcome.round is not None
    assert outcome.round.policy == policy
    assert sum(item.device_hours for item in outcome.allocations) == 10


def test_congestion_raises_the_price_up_to_the_programme_cap(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    make_pool(database, clock, "unused", "B200", 0)
    other = register(database, clock, 3)
    apply(database, clock, other.id)
    mandate = grant_mandate(database, clock, other.id, setting.integrator.id, key="m2")
    for mandate_id, key in ((setting.mandate.id, "a"), (mandate.id, "b")):
        file(
            database,
            clock,
            mandate_id,
            key=key,
            devices_per_job=4,
            work_device_hours=96,
            max_credits_micro=50 * CREDIT,
            options=(RequestOption("H100", 1300),),
        )
    with database.write() as session:
        exchange_service.set_price_cap(session, programme_id=PROGRAMME_ID, price_cap_milli=1200)
    outcome = clear(database, clock, parameters(clock))
    assert outcome.round is not None
    h100_prices = [p for p in outcome.round.prices if p.pool_id == setting.h100.id]
    assert all(price.price_micro == 1_200_000 for price in h100_prices)
    for allocation in outcome.allocations:
        assert allocation.amount_micro == 1_200_000 * allocation.device_hours


def test_the_firm_cap_limits_one_firms_share_of_a_pool(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    file(database, clock, setting.mandate.id, work_device_hours=40)
    [allocation] = clear(database, clock, parameters(clock, firm_share_milli=100)).allocations
    assert allocation.device_hours == 9  # a tenth of the H100 pool's 96 device-hours
    assert Binding.FIRM_CAP in allocation.explanation.binding


def test_bad_round_parameters_are_refused(database: Database, clock: SimulatedClock) -> None:
    with database.write() as session, pytest.raises(InvalidRequestError) as refused:
        rounds.clear_round(
            session,
            RoundParameters(start_ns=clock.now_ns(), slot_s=60, slots=0, policy="auction"),
            clock,
        )
    assert len(refused.value.problems) == 3


def test_expired_requests_are_closed(database: Database, clock: SimulatedClock) -> None:
    setting = standard_setting(database, clock)
    request = file(database, clock, setting.mandate.id)
    clock.advance(ns=request.deadline_ns - clock.now_ns() + NS_PER_S)
    clear(database, clock, parameters(clock))
    with database.read() as session:
        after = exchange_queries.get_request(session, request.id)
    assert after is not None
    assert after.status is RequestStatus.EXPIRED


def test_every_allocation_holds_exactly_its_amount(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    for number in range(3, 7):
        firm = register(database, clock, number)
        apply(database, clock, firm.id)
        mandate = grant_mandate(database, clock, firm.id, setting.integrator.id, key="m")
        file(
            database,
            clock,
            mandate.id,
            key=f"r{number}",
            devices_per_job=1 + number % 2,
            work_device_hours=10 * number,
            max_credits_micro=(10 + number) * CREDIT,
            options=(RequestOption("H100", 900 + 50 * number), RequestOption("A100", 400)),
        )
    outcome = clear(database, clock, parameters(clock))
    assert len(outcome.allocations) >= 4
    with database.read() as session:
        for allocation in outcome.allocations:
            spend = programme_queries.get_spend(session, allocation.spend_id)
            assert spend is not None
            assert sum(leg.amount_micro for leg in spend.legs) == allocation.amount_micro
            holds = ledger_queries.pending_statuses(
                session, [leg.transfer_id for leg in spend.legs]
            )
            assert list(holds.values()) == [PendingStatus.PENDING] * len(spend.legs)
            request = exchange_queries.get_request(session, allocation.request_id)
            assert request is not None
            assert allocation.amount_micro <= request.max_credits_micro


def test_a_new_rate_never_changes_an_allocation_already_made(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    file(database, clock, setting.mandate.id)
    [before] = clear(database, clock, parameters(clock)).allocations
    with database.write() as session:
        exchange_service.publish_rate(
            session,
            accelerator="H100",
            rate_micro=2 * CREDIT,
            effective_from_ns=clock.now_ns(),
            source="a dearer H100",
            clock=clock,
        )
    with database.read() as session:
        after = exchange_queries.get_allocation(session, before.id)
    assert after == before
    assert after is not None
    assert after.rate_micro == CREDIT

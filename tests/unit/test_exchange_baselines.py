"""The status-quo policies: first come first served and static quotas per firm."""

from __future__ import annotations

import pytest

from ccx.exchange.baselines import EARLIER, QUOTA_USED, FirstComeFirstServed, StaticQuotas
from ccx.exchange.clearing import EfficiencyLP
from ccx.exchange.problem import Bid, Binding, ClearingProblem, Option, Plan, Policy, Slots
from tests.unit.exchange_problems import CREDIT, bid, pool, problem


def test_first_come_takes_the_best_work_per_credit_first() -> None:
    pools = (pool(1, "H100", 1), pool(2, "A100", 1, rate_micro=250_000))
    options = (Option("H100", 1000), Option("A100", 600))
    late = bid(1, *options, work=3, submitted_at_ns=5)
    early = bid(2, *options, work=3, submitted_at_ns=1)
    plan = FirstComeFirstServed().clear(problem(pools, (late, early)))
    assert isinstance(plan, Plan)
    placed = [(a.request_id, a.pool_id, a.device_hours) for a in plan.allocations]
    assert placed == [(1, 1, 2), (1, 2, 1), (2, 2, 5)]  # 5 x 0.6 = the early one's 3 work
    assert all(a.price_micro == a.rate_micro for a in plan.allocations)
    assert plan.allocations[0].explanation.binding == (Binding.WORK,)


def test_first_come_stops_at_budget_and_leaves_the_rest_waiting() -> None:
    pools = (pool(1, "H100", 1),)
    bids = (
        bid(1, budget_micro=2 * CREDIT),
        bid(2, work=6, submitted_at_ns=1),
        bid(3, submitted_at_ns=2),
    )
    plan = FirstComeFirstServed().clear(problem(pools, bids))
    assert isinstance(plan, Plan)
    assert [(a.request_id, a.device_hours) for a in plan.allocations] == [(1, 2), (2, 4)]
    assert Binding.BUDGET in plan.allocations[0].explanation.binding
    assert plan.unplaced[0].reasons == (EARLIER,)


def test_quotas_split_each_pool_slot_equally_and_leave_unused_quota_idle() -> None:
    """12 device-hours between two firms: 6 each; the first firm's second request waits."""
    pools = (pool(1, "H100", 2),)
    bids = (bid(1, firm_id=1), bid(2, firm_id=1, submitted_at_ns=1), bid(3, firm_id=2, work=2))
    plan = StaticQuotas().clear(problem(pools, bids))
    assert isinstance(plan, Plan)
    assert [(a.request_id, a.device_hours) for a in plan.allocations] == [(1, 6), (3, 2)]
    assert plan.prices[0].allocated_device_hours == 8
    assert plan.unplaced[0].reasons == (QUOTA_USED,)


def test_quota_rounds_down_to_whole_jobs() -> None:
    """A quota of 15 device-hours holds three job-hours of 4 devices."""
    pools = (pool(1, "H100", 5),)
    bids = (bid(1, firm_id=1, devices=4, work=40, hours=6), bid(2, firm_id=2, work=1))
    plan = StaticQuotas().clear(problem(pools, bids))
    assert isinstance(plan, Plan)
    assert [(a.request_id, a.device_hours) for a in plan.allocations] == [(1, 12), (2, 1)]


@pytest.mark.parametrize("policy", [EfficiencyLP(), FirstComeFirstServed(), StaticQuotas()])
def test_a_centre_with_no_pools_places_nothing_and_says_why(policy: Policy) -> None:
    hour_ns = 3_600_000_000_000
    only = Bid(1, 10, 20, None, True, 0, 1, 10, 0, 24 * hour_ns, 20_000_000, 1000,
               (Option("H100", 1000),))  # fmt: skip
    for bids in ((), (only,)):
        plan = policy.clear(ClearingProblem(slots=Slots(0, 86_400, 1), pools=(), bids=bids))
        assert isinstance(plan, Plan)
        assert plan.allocations == ()
        assert [item.reasons for item in plan.unplaced] == [
            ("no pool of an accepted type",) for _ in bids
        ]

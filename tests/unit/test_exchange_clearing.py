"""The efficiency LP on problems small enough to solve by hand: placements, duals and prices,
caps, the small-firm floor, rounding to whole job-hours, and what it refuses."""

from __future__ import annotations

import dataclasses

from ccx.exchange.clearing import BETTER_USES, EfficiencyLP
from ccx.exchange.lp import COST_WEIGHT_PER_CREDIT, SolverOptions
from ccx.exchange.problem import (
    Binding,
    Caps,
    ClearingProblem,
    Infeasible,
    Option,
    Plan,
    Slots,
)
from tests.unit.exchange_problems import CREDIT, NO_CAPS, bid, pool, problem

B200 = Option("B200", 3000)


def clear(p: ClearingProblem) -> Plan:
    plan = EfficiencyLP().clear(p)
    assert isinstance(plan, Plan), plan
    return plan


def dual_micro(score_milli: int, throughput_milli: int, rate_micro: int) -> int:
    """The value of one device-hour to a marginal request, as the LP prices it."""
    value = score_milli / 1000 * throughput_milli / 1000
    return round((value - COST_WEIGHT_PER_CREDIT * rate_micro / CREDIT) * CREDIT)


def test_uncongested_pool_charges_the_published_rate() -> None:
    plan = clear(problem((pool(1, "H100", 10),), (bid(1, work=6),)))
    (allocation,) = plan.allocations
    assert allocation.device_hours == 6
    assert allocation.amount_micro == 6 * CREDIT
    assert allocation.price_micro == CREDIT
    assert allocation.work_milli == 6000
    assert Binding.WORK in allocation.explanation.binding
    (price,) = plan.prices
    assert (price.dual_micro, price.price_micro) == (0, CREDIT)
    assert (price.capacity_device_hours, price.allocated_device_hours) == (60, 6)
    assert plan.weighted_work_milli == 6000


def congested_b200(price_cap_micro: int) -> ClearingProblem:
    """Two B200 devices for 6 h (12 device-hours); the first request wants 6, the second (a
    lower score, two devices per job) 12: the second is the marginal use of capacity."""
    b200 = pool(1, "B200", 2, rate_micro=2_250_000, price_cap_micro=price_cap_micro)
    bids = (bid(1, B200, work=18), bid(2, B200, work=36, devices=2, score_milli=900))
    return problem((b200,), bids)


def test_full_pool_is_priced_at_the_marginal_value() -> None:
    plan = clear(congested_b200(price_cap_micro=10 * CREDIT))
    marginal = dual_micro(900, 3000, 2_250_000)
    (price,) = plan.prices
    assert (price.dual_micro, price.price_micro) == (marginal, marginal)
    assert price.allocated_device_hours == 12
    first, second = plan.allocations
    assert (first.device_hours, second.device_hours) == (6, 6)
    assert first.amount_micro == 6 * marginal
    assert Binding.CAPACITY in second.explanation.binding


def test_price_never_exceeds_the_cap() -> None:
    plan = clear(congested_b200(price_cap_micro=2_500_000))
    (price,) = plan.prices
    assert price.dual_micro == dual_micro(900, 3000, 2_250_000)
    assert price.price_micro == 2_500_000
    assert all(a.price_micro == 2_500_000 for a in plan.allocations)


def test_lower_bid_gets_nothing_when_the_better_one_fills_the_pool() -> None:
    pools = (pool(1, "H100", 1),)
    plan = clear(problem(pools, (bid(1, work=6), bid(2, work=6, score_milli=500))))
    assert [a.request_id for a in plan.allocations] == [1]
    (unplaced,) = plan.unplaced
    assert unplaced.request_id == 2
    assert BETTER_USES in unplaced.reasons


def test_budget_goes_further_on_the_older_accelerator() -> None:
    """Three credits buy 3 device-hours of H100 (3 work) or 12 of A100 at 0.6 (7.2 work)."""
    pools = (pool(1, "H100", 10), pool(2, "A100", 10, rate_micro=250_000))
    options = (Option("H100", 1000), Option("A100", 600))
    request = bid(1, *options, work=100, budget_micro=3 * CREDIT, devices=2)
    plan = clear(problem(pools, (request,)))
    (allocation,) = plan.allocations
    assert (allocation.pool_id, allocation.device_hours) == (2, 12)
    assert allocation.amount_micro == 3 * CREDIT
    assert allocation.work_milli == 7200
    explanation = allocation.explanation
    assert Binding.BUDGET in explanation.binding
    assert explanation.summary == "A100 pool 2: 2.40 work per credit, best of 2 options"
    assert [a.pool_id for a in explanation.alternatives] == [2, 1]
    assert explanation.alternatives[0].work_milli_per_credit == 2400


def test_firm_cap_limits_one_firm_to_its_share_of_the_pool() -> None:
    caps = dataclasses.replace(NO_CAPS, firm_share_milli=100)
    plan = clear(problem((pool(1, "H100", 10),), (bid(1, work=60, hours=6),), caps))
    (allocation,) = plan.allocations
    assert allocation.device_hours == 6  # 10 % of 60 device-hours
    assert Binding.FIRM_CAP in allocation.explanation.binding


def test_integrator_cap_binds_across_firms() -> None:
    caps = dataclasses.replace(NO_CAPS, integrator_share_milli=200)
    bids = (bid(1, work=60), bid(2, work=60))  # two firms, one integrator
    plan = clear(problem((pool(1, "H100", 10),), bids, caps))
    assert sum(a.device_hours for a in plan.allocations) == 12
    assert all(Binding.INTEGRATOR_CAP in a.explanation.binding for a in plan.allocations)


def floor_problem(floor_share_milli: int) -> ClearingProblem:
    """12 device-hours; a large firm's request is worth twice a small firm's."""
    caps = dataclasses.replace(NO_CAPS, floor_share_milli=floor_share_milli)
    bids = (bid(1, work=12, devices=2), bid(2, work=12, score_milli=500, small=True))
    return problem((pool(1, "H100", 2),), bids, caps)


def test_without_a_floor_the_better_use_takes_everything() -> None:
    plan = clear(floor_problem(0))
    assert [(a.request_id, a.device_hours) for a in plan.allocations] == [(1, 12)]


def test_floor_lifts_the_small_firm_to_its_fair_share() -> None:
    """Fair share: 12 work over two firms is 6; a full floor guarantees it."""
    plan = clear(floor_problem(1000))
    placed = {a.request_id: a for a in plan.allocations}
    assert (placed[1].device_hours, placed[2].device_hours) == (6, 6)
    assert Binding.FLOOR in placed[2].explanation.binding


def test_rounding_keeps_whole_jobs_and_never_exceeds_capacity() -> None:
    """10 device-hours (5 devices, 2 h) for jobs of 3 devices: at most three job-hours fit."""
    slots = Slots(0, 7200, 1)
    bids = (bid(1, work=9, devices=3, hours=2), bid(2, work=9, devices=3, hours=2))
    p = ClearingProblem(slots, (pool(1, "H100", 5),), bids, NO_CAPS)
    plan = clear(p)
    assert all(a.device_hours % 3 == 0 for a in plan.allocations)
    assert sum(a.device_hours for a in plan.allocations) == 9


def test_budget_at_the_round_price_trims_the_allocation() -> None:
    """At the marginal price the first request's 6 device-hours cost more than its budget."""
    p = congested_b200(price_cap_micro=10 * CREDIT)
    poor = dataclasses.replace(p.bids[0], budget_micro=14 * CREDIT)
    plan = clear(dataclasses.replace(p, bids=(poor, p.bids[1])))
    first = next(a for a in plan.allocations if a.request_id == 1)
    assert first.amount_micro <= 14 * CREDIT
    assert first.device_hours == 14 * CREDIT // dual_micro(900, 3000, 2_250_000)


def test_unplaceable_requests_say_why() -> None:
    pools = (pool(1, "H100", 4),)
    bids = (
        bid(1, Option("TPU", 1000)),
        bid(2, devices=8, work=48),
        bid(3, budget_micro=CREDIT // 2),
        dataclasses.replace(bid(4), earliest_start_ns=10**18, deadline_ns=10**18 + 1),
    )
    plan = clear(problem(pools, bids))
    assert {u.request_id: u.reasons for u in plan.unplaced} == {
        1: ("no pool of an accepted type",),
        2: ("job larger than any pool",),
        3: ("budget below one job-hour",),
        4: ("window outside the round",),
    }


def test_malformed_round_is_infeasible_with_every_reason() -> None:
    pools = (pool(1, "H100", 4), pool(1, "A100", -1))
    bids = (bid(1), bid(1, work=-1))
    p = ClearingProblem(Slots(0, 0, 1), pools, bids, Caps())
    result = EfficiencyLP().clear(p)
    assert isinstance(result, Infeasible)
    assert set(result.reasons) == {
        "slot length must be positive (slot_s 0)",
        "duplicate pool id 1",
        "duplicate request id 1",
        "pool 1: negative device count",
        "request 1: negative work",
    }


def test_no_slots_and_wrong_device_counts_are_infeasible() -> None:
    p = ClearingProblem(Slots(0, 3600, 0), (pool(1, "H100", 4),), (bid(1),), Caps())
    result = EfficiencyLP().clear(p)
    assert isinstance(result, Infeasible)
    assert result.reasons == (
        "the round has no slots (count 0)",
        "pool 1: 1 device counts for 0 slots",
    )


def test_sifting_reaches_the_whole_lp_optimum() -> None:
    pools = (pool(1, "H100", 3, slots=2), pool(2, "A100", 3, rate_micro=250_000, slots=2))
    options = (Option("H100", 1000), Option("A100", 500))
    bids = tuple(
        bid(i, *options, work=12, score_milli=500 + 50 * i, hours=12) for i in range(1, 11)
    )
    p = problem(pools, bids, slots=2)
    sifted, whole = (EfficiencyLP(SolverOptions(sifting=s)).clear(p) for s in (True, False))
    assert isinstance(sifted, Plan)
    assert isinstance(whole, Plan)
    assert sifted.weighted_work_milli == whole.weighted_work_milli

"""Properties every clearing policy keeps on random small problems: capacity, work, budget,
window and whole job-hours; amounts that add up; caps (the LP); the same plan twice; the
LP solved by sifting with lazy rows reaches the whole LP's optimum."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ccx.exchange.baselines import FirstComeFirstServed, StaticQuotas
from ccx.exchange.candidates import build_candidates
from ccx.exchange.clearing import BETTER_USES, EfficiencyLP, cap_limits
from ccx.exchange.lp import (
    FLOOR_PENALTY_PER_WORK,
    SolverOptions,
    floor_work,
    small_firm_of_candidates,
    solve_lp,
)
from ccx.exchange.problem import (
    NS_PER_HOUR,
    Bid,
    Caps,
    ClearingProblem,
    Option,
    Plan,
    Policy,
    PoolSupply,
    Slots,
)
from ccx.exchange.room import capacity_limit, request_limits

ACCELERATORS = ("H100", "A100", "RNGD")
SLOT_S = 4 * 3600
POLICIES: tuple[Policy, ...] = (EfficiencyLP(), FirstComeFirstServed(), StaticQuotas())


@st.composite
def problems(draw: st.DrawFn, max_bids: int = 6) -> ClearingProblem:
    slot_count = draw(st.integers(1, 3))
    pools = tuple(
        PoolSupply(
            pool_id=i,
            accelerator=draw(st.sampled_from(ACCELERATORS)),
            devices_by_slot=tuple(
                draw(st.lists(st.integers(0, 6), min_size=slot_count, max_size=slot_count))
            ),
            rate_micro=draw(st.integers(100_000, 2_000_000)),
            price_cap_micro=3_000_000,
        )
        for i in range(1, draw(st.integers(1, 3)) + 1)
    )
    bids = tuple(draw(bids_(i, slot_count)) for i in range(1, draw(st.integers(1, max_bids)) + 1))
    caps = Caps(
        firm_share_milli=draw(st.integers(100, 1000)),
        integrator_share_milli=draw(st.integers(100, 1000)),
        group_share_milli=draw(st.integers(100, 1000)),
        floor_share_milli=draw(st.integers(0, 1000)),
    )
    return ClearingProblem(Slots(0, SLOT_S, slot_count), pools, bids, caps)


@st.composite
def bids_(draw: st.DrawFn, request_id: int, slot_count: int) -> Bid:
    start_h = draw(st.integers(0, 4 * slot_count))
    accelerators = draw(
        st.lists(st.sampled_from(ACCELERATORS), min_size=1, max_size=3, unique=True)
    )
    return Bid(
        request_id=request_id,
        firm_id=draw(st.integers(1, 3)),
        integrator_id=draw(st.integers(1, 2)),
        group_id=draw(st.sampled_from([None, 1])),
        small_firm=draw(st.booleans()),
        submitted_at_ns=draw(st.integers(0, 5)),
        devices_per_job=draw(st.integers(1, 4)),
        work_device_hours=draw(st.integers(0, 40)),
        earliest_start_ns=start_h * NS_PER_HOUR,
        deadline_ns=(start_h + draw(st.integers(0, 12))) * NS_PER_HOUR,
        budget_micro=draw(st.integers(0, 40_000_000)),
        score_milli=draw(st.integers(0, 1000)),
        options=tuple(Option(a, draw(st.integers(1, 3000))) for a in accelerators),
    )


def check_plan(p: ClearingProblem, plan: Plan, *, caps_apply: bool) -> None:
    bids = {b.request_id: b for b in p.bids}
    pools = {q.pool_id: q for q in p.pools}
    prices = {(x.pool_id, x.slot): x.price_micro for x in plan.prices}
    used: dict[tuple[int, int], int] = defaultdict(int)
    charged: dict[int, int] = defaultdict(int)
    work: dict[int, int] = defaultdict(int)
    for a in plan.allocations:
        b = bids[a.request_id]
        assert a.device_hours == sum(s.device_hours for s in a.slots) > 0
        assert all(s.device_hours % b.devices_per_job == 0 for s in a.slots)
        assert a.amount_micro == sum(prices[a.pool_id, s.slot] * s.device_hours for s in a.slots)
        assert a.price_micro == a.amount_micro // a.device_hours >= pools[a.pool_id].rate_micro
        assert b.earliest_start_ns <= a.start_ns < a.end_ns <= b.deadline_ns
        for s in a.slots:
            used[a.pool_id, s.slot] += s.device_hours
            slot_start = p.slots.slot_start_ns(s.slot)
            overlap_h = (
                min(b.deadline_ns, slot_start + SLOT_S * 10**9)
                - max(b.earliest_start_ns, slot_start)
            ) // NS_PER_HOUR
            assert s.device_hours <= b.devices_per_job * overlap_h
        charged[b.request_id] += a.amount_micro
        work[b.request_id] += a.work_milli
    for (pool_id, slot), device_hours in used.items():
        assert device_hours <= pools[pool_id].devices_by_slot[slot] * SLOT_S // 3600
    for request_id, amount in charged.items():
        assert amount <= bids[request_id].budget_micro
        assert work[request_id] <= bids[request_id].work_device_hours * 1000
    if caps_apply:
        check_caps(p, plan)


def check_caps(p: ClearingProblem, plan: Plan) -> None:
    bids = {b.request_id: b for b in p.bids}
    round_device_hours = {q.pool_id: sum(q.devices_by_slot) * SLOT_S // 3600 for q in p.pools}
    owners: tuple[tuple[int, Callable[[Bid], int | None]], ...] = (
        (p.caps.firm_share_milli, lambda b: b.firm_id),
        (p.caps.integrator_share_milli, lambda b: b.integrator_id),
        (p.caps.group_share_milli, lambda b: b.group_id),
    )
    for share_milli, owner in owners:
        taken: dict[tuple[int, int], int] = defaultdict(int)
        for a in plan.allocations:
            key = owner(bids[a.request_id])
            if key is not None:
                taken[key, a.pool_id] += a.device_hours
        for (_, pool_id), device_hours in taken.items():
            assert device_hours <= round_device_hours[pool_id] * share_milli // 1000


@settings(max_examples=60, deadline=None)
@given(problems())
def test_every_policy_keeps_every_limit(p: ClearingProblem) -> None:
    for policy in POLICIES:
        plan = policy.clear(p)
        assert isinstance(plan, Plan)
        check_plan(p, plan, caps_apply=policy.name == "lp")
        placed = {a.request_id for a in plan.allocations}
        assert placed.isdisjoint(u.request_id for u in plan.unplaced)
        assert placed | {u.request_id for u in plan.unplaced} == {b.request_id for b in p.bids}


@settings(max_examples=40, deadline=None)
@given(problems())
def test_plans_are_deterministic(p: ClearingProblem) -> None:
    shuffled = dataclasses.replace(p, bids=p.bids[::-1], pools=p.pools[::-1])
    for policy in POLICIES:
        first, second = policy.clear(p), policy.clear(shuffled)
        assert isinstance(first, Plan)
        assert isinstance(second, Plan)
        assert dataclasses.replace(first, solve_s=0.0) == dataclasses.replace(second, solve_s=0.0)


def lp_objective(p: ClearingProblem, options: SolverOptions) -> float:
    """The LP's objective at its solution: value of the device-hours less the floor penalty."""
    candidates = build_candidates(p)
    limits = [
        capacity_limit(candidates, BETTER_USES),
        *request_limits(candidates),
        *cap_limits(candidates, p.caps),
    ]
    solution = solve_lp(candidates, limits, p.caps, options)
    assert not isinstance(solution, str), solution
    firm = small_firm_of_candidates(candidates)
    floor = floor_work(candidates, p.caps, firm)
    small = firm >= 0
    floor_reached = np.bincount(
        firm[small],
        weights=(solution.device_hours * candidates.throughput_milli / 1000)[small],
        minlength=len(floor),
    )
    unmet = np.maximum(floor - floor_reached, 0).sum()
    return float(solution.value @ solution.device_hours - FLOOR_PENALTY_PER_WORK * unmet)


@settings(max_examples=60, deadline=None)
@given(problems(max_bids=80))
def test_sifting_with_lazy_rows_reaches_the_whole_lp_optimum(p: ClearingProblem) -> None:
    sifted = lp_objective(p, SolverOptions())
    whole = lp_objective(p, SolverOptions(sifting=False))
    assert abs(sifted - whole) <= 1e-6 * max(1.0, abs(whole))

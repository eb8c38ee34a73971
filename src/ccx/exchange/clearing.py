"""The efficiency LP policy: solve the LP (`ccx.exchange.lp`), round its device-hours to whole
job-hours, price each pool-slot from its capacity dual, and fit every request's charge into
its budget.

Rounding never breaks a limit: each candidate first gets its LP device-hours rounded down to
whole job-hours (best value first, each checked in integers against every limit); then each
pool-slot's leftover device-hours go, a job-hour at a time, to the candidates there with the
highest objective value that still have room. Prices: max(rate, min(dual, price cap)) per
device-hour. A request charged more than its budget at those prices loses job-hours from its
most expensive slots until it fits; the capacity they free stays idle this round.
"""

from __future__ import annotations

import numpy as np

from ccx.exchange.candidates import Candidates, IntArray, build_candidates, problem_errors
from ccx.exchange.lp import LpSolution, SolverOptions, solve_lp
from ccx.exchange.placement import MICRO, Outcome, Pricing, build_plan
from ccx.exchange.problem import MILLI, Binding, Caps, ClearingProblem, Infeasible, Plan
from ccx.exchange.room import Limit, Room, capacity_limit, request_limits

BETTER_USES = "capacity taken by better uses"
PRICED_OUT = "budget below the round's price for one job-hour"
ROUNDING_TOLERANCE = 1e-6  # device-hours an LP value may fall short of a whole job-hour
CAP_REASONS = {
    Binding.FIRM_CAP: "firm cap reached",
    Binding.INTEGRATOR_CAP: "integrator cap reached",
    Binding.GROUP_CAP: "business group cap reached",
}


class EfficiencyLP:
    """Efficiency-weighted work, subject to capacity, work, budget, windows, caps and the
    small-firm floor; prices from the capacity duals."""

    name = "lp"

    def __init__(self, options: SolverOptions | None = None) -> None:
        self.options = options or SolverOptions()

    def clear(self, problem: ClearingProblem) -> Plan | Infeasible:
        errors = problem_errors(problem)
        if errors:
            return Infeasible(self.name, errors)
        candidates = build_candidates(problem)
        limits = [
            capacity_limit(candidates, BETTER_USES),
            *request_limits(candidates),
            *cap_limits(candidates, problem.caps),
        ]
        solution = solve_lp(candidates, limits, problem.caps, self.options)
        if isinstance(solution, str):
            return Infeasible(self.name, (f"the solver found no optimum: {solution}",))
        room = Room(candidates, limits)
        round_down(room, candidates, solution)
        refill(room, candidates, solution.value)
        extra_binding = _lp_binding(room, candidates, solution)
        pricing = dual_pricing(candidates, solution.capacity_dual)
        priced_out = fit_budgets(room, candidates, pricing)
        outcome = Outcome(
            self.name,
            pricing,
            BETTER_USES,
            solve_s=solution.solve_s,
            extra_binding=extra_binding,
            extra_reasons=dict.fromkeys(priced_out, (PRICED_OUT,)),
        )
        return build_plan(candidates, room, outcome)


def cap_limits(candidates: Candidates, caps: Caps) -> list[Limit]:
    """Per pool: the share of the round's device-hours one firm, integrator or business group
    may take (rounded down); none for a share of the whole pool."""
    bids = candidates.bids
    owners: dict[Binding, tuple[int, list[int | None]]] = {
        Binding.FIRM_CAP: (caps.firm_share_milli, [b.firm_id for b in bids]),
        Binding.INTEGRATOR_CAP: (caps.integrator_share_milli, [b.integrator_id for b in bids]),
        Binding.GROUP_CAP: (caps.group_share_milli, [b.group_id for b in bids]),
    }
    pools = len(candidates.pools)
    pool_device_hours = candidates.pool_device_hours
    limits = []
    for kind, (share_milli, owner_ids) in owners.items():
        if share_milli >= MILLI:
            continue  # never tighter than the pool itself (and would share its dual)
        owner = _owner_index(owner_ids)[candidates.bid]
        counted = owner >= 0
        keys, group = np.unique(
            owner[counted] * pools + candidates.pool[counted], return_inverse=True
        )
        group_of_candidate = np.full(candidates.count, -1, np.int64)
        group_of_candidate[counted] = group
        cap = pool_device_hours[keys % pools] * share_milli // MILLI
        limits.append(Limit(kind, CAP_REASONS[kind], group_of_candidate, candidates.devices, cap))
    return limits


def _owner_index(owner_ids: list[int | None]) -> IntArray:
    """Dense indices of the owners (firm, integrator or group ids), -1 for none."""
    known = sorted({i for i in owner_ids if i is not None})
    index = {owner: n for n, owner in enumerate(known)}
    return np.fromiter((-1 if i is None else index[i] for i in owner_ids), np.int64, len(owner_ids))


def round_down(room: Room, candidates: Candidates, solution: LpSolution) -> None:
    """Each candidate's LP device-hours rounded down to whole job-hours, highest value first,
    never past a limit."""
    job_hours = solution.device_hours / candidates.devices + ROUNDING_TOLERANCE
    wanted = np.floor(job_hours).astype(np.int64)
    placed = np.flatnonzero(wanted > 0)
    order = placed[np.lexsort((placed, -solution.value[placed]))]
    room.fill(order.tolist(), wanted.tolist())


def refill(room: Room, candidates: Candidates, value: IntArray | np.ndarray) -> None:
    """Each pool-slot's leftover device-hours, a job-hour at a time, to its candidates with
    the highest value that still have room."""
    capacity_left = room.left[0]
    left = np.asarray(capacity_left, np.int64)
    units_left = np.asarray(room.units_left, np.int64)
    eligible = (value > 0) & (units_left > 0) & (candidates.devices <= left[candidates.cell])
    chosen = np.flatnonzero(eligible)
    order = chosen[np.lexsort((chosen, -value[chosen], candidates.cell[chosen]))]
    for run in np.split(order, np.flatnonzero(np.diff(candidates.cell[order])) + 1):
        _refill_cell(room, candidates, run, capacity_left)


def _refill_cell(
    room: Room, candidates: Candidates, run: IntArray, capacity_left: list[int]
) -> None:
    if not len(run):
        return
    cell = int(candidates.cell[run[0]])
    smallest_after = np.minimum.accumulate(candidates.devices[run][::-1])[::-1].tolist()
    for c, smallest in zip(run.tolist(), smallest_after, strict=True):
        if capacity_left[cell] < smallest:
            return
        units = room.fit(c)
        if units > 0:
            room.take(c, units)


def dual_pricing(candidates: Candidates, capacity_dual: np.ndarray) -> Pricing:
    """Per pool-slot: the dual in micro-credits (never below 0) and the price, the dual
    between the published rate and the price cap."""
    count = candidates.slots.count
    rate = np.repeat(np.array([p.rate_micro for p in candidates.pools], np.int64), count)
    cap = np.repeat(np.array([p.price_cap_micro for p in candidates.pools], np.int64), count)
    dual = np.maximum(np.rint(capacity_dual * MICRO), 0).astype(np.int64)
    return Pricing(dual_micro=dual, price_micro=np.maximum(rate, np.minimum(dual, cap)))


def fit_budgets(room: Room, candidates: Candidates, pricing: Pricing) -> list[int]:
    """Takes job-hours from requests charged more than their budget, most expensive slot
    first, until each fits; returns the requests left with nothing."""
    units = np.asarray(room.units, np.int64)
    used = np.flatnonzero(units > 0)
    unit_price = pricing.price_micro[candidates.cell[used]] * candidates.devices[used]
    charged = np.zeros(len(candidates.bids), np.int64)
    np.add.at(charged, candidates.bid[used], unit_price * units[used])
    budget = np.fromiter((b.budget_micro for b in candidates.bids), np.int64, len(candidates.bids))
    over = np.flatnonzero(charged > budget)
    used_bid = candidates.bid[used]
    starts = np.searchsorted(used_bid, over, "left").tolist()
    ends = np.searchsorted(used_bid, over, "right").tolist()
    priced_out = []
    for bid, lo, hi in zip(over.tolist(), starts, ends, strict=True):
        _trim(room, used[lo:hi], unit_price[lo:hi], int(charged[bid] - budget[bid]))
        if not any(room.units[c] for c in used[lo:hi].tolist()):
            priced_out.append(bid)
    return priced_out


def _trim(room: Room, used: IntArray, unit_price: IntArray, excess_micro: int) -> None:
    order = np.lexsort((-used, -unit_price))
    for c, price in zip(used[order].tolist(), unit_price[order].tolist(), strict=True):
        units = min(room.units[c], -(-excess_micro // price))
        room.release(c, units)
        excess_micro -= units * price
        if excess_micro <= 0:
            return


def _lp_binding(
    room: Room, candidates: Candidates, solution: LpSolution
) -> dict[tuple[int, int], frozenset[Binding]]:
    """Per (request, pool) with job-hours placed: ROUNDING where a part of a job-hour of the
    LP's was lost, FLOOR where its firm's floor was tight."""
    placed = np.asarray(room.units, np.int64) * candidates.devices
    lost = solution.device_hours > placed + ROUNDING_TOLERANCE
    pools = len(candidates.pools)
    key = candidates.bid * pools + candidates.pool
    allocated = np.unique(key[placed > 0])
    extra: dict[tuple[int, int], set[Binding]] = {}
    for flag, kind in ((lost, Binding.ROUNDING), (solution.floor_bound, Binding.FLOOR)):
        for pair in np.intersect1d(key[flag], allocated).tolist():
            extra.setdefault(divmod(pair, pools), set()).add(kind)
    return {pair: frozenset(kinds) for pair, kinds in extra.items()}

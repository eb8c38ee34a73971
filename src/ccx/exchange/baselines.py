"""The policies the efficiency LP is measured against. Neither applies the anti-concentration
caps or the fairness floor (they are the status quo); both respect capacity and each request's
work, budget and window, place whole job-hours, and charge the published rate.

- `FirstComeFirstServed`: requests in (submitted_at_ns, request_id) order, each placed on its
  pools best work per credit first, slot by slot, as much as fits.
- `StaticQuotas`: each pool-slot's device-hours split equally (rounded down) among the firms
  with a request that can use it; a firm's requests fill its quota first come first served;
  quota a firm does not use stays idle.
"""

from __future__ import annotations

import numpy as np

from ccx.exchange.candidates import Candidates, IntArray, build_candidates, problem_errors
from ccx.exchange.placement import MICRO, Outcome, Pricing, build_plan
from ccx.exchange.problem import Binding, ClearingProblem, Infeasible, Plan
from ccx.exchange.room import Limit, Room, capacity_limit, request_limits

EARLIER = "capacity taken by earlier requests"
QUOTA_USED = "its firm's quota of the pool was used up"


class FirstComeFirstServed:
    name = "fcfs"

    def clear(self, problem: ClearingProblem) -> Plan | Infeasible:
        errors = problem_errors(problem)
        if errors:
            return Infeasible(self.name, errors)
        candidates = build_candidates(problem)
        room = Room(candidates, [capacity_limit(candidates, EARLIER), *request_limits(candidates)])
        room.fill(first_come_order(candidates).tolist())
        return build_plan(
            candidates, room, Outcome(self.name, Pricing.published(candidates), EARLIER)
        )


class StaticQuotas:
    name = "quotas"

    def clear(self, problem: ClearingProblem) -> Plan | Infeasible:
        errors = problem_errors(problem)
        if errors:
            return Infeasible(self.name, errors)
        candidates = build_candidates(problem)
        room = Room(candidates, [quota_limit(candidates), *request_limits(candidates)])
        room.fill(first_come_order(candidates).tolist())
        outcome = Outcome(self.name, Pricing.published(candidates), QUOTA_USED)
        return build_plan(candidates, room, outcome)


def first_come_order(candidates: Candidates) -> IntArray:
    """Candidates by request (submitted_at_ns, request_id), then pool by work per credit (best
    first, ties by pool id), then slot."""
    bids = candidates.bids
    arrival = sorted(range(len(bids)), key=lambda i: (bids[i].submitted_at_ns, bids[i].request_id))
    rank = np.empty(len(bids), np.int64)
    rank[arrival] = np.arange(len(bids))
    per_credit = candidates.throughput_milli * MICRO // candidates.rate_micro
    return np.lexsort((candidates.slot, candidates.pool, -per_credit, rank[candidates.bid]))


def quota_limit(candidates: Candidates) -> Limit:
    """Each firm's equal share of each pool-slot, among the firms that could use it."""
    firm = candidates.bid_column(b.firm_id for b in candidates.bids)
    cells = len(candidates.capacity_device_hours)
    _, firm_index = np.unique(firm, return_inverse=True)
    keys, group = np.unique(firm_index * cells + candidates.cell, return_inverse=True)
    key_cell = keys % cells
    firms_per_cell = np.bincount(key_cell, minlength=cells)
    quota = candidates.capacity_device_hours[key_cell] // firms_per_cell[key_cell]
    return Limit(
        Binding.CAPACITY,
        QUOTA_USED,
        group=group.astype(np.int64),
        unit_cost=candidates.devices,
        amount=quota,
    )

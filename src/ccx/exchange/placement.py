"""From placed job-hours to a plan, for every policy: allocations priced slot by slot and
explained, pool prices, and the reasons a request got nothing.

An allocation is one request on one pool: its device-hours by slot, the amount
(sum over slots of the slot's price times device-hours), its work (device-hours times the
request's throughput there) and an explanation: the pool's work per credit against every pool
the request could have used, and the constraints that were tight for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ccx.exchange.candidates import Candidates, IntArray
from ccx.exchange.problem import (
    MILLI,
    Alternative,
    Bid,
    Binding,
    Explanation,
    Plan,
    PlannedAllocation,
    PoolPrice,
    SlotUse,
    Unplaced,
)
from ccx.exchange.room import Room

MICRO = 1_000_000
BUDGET_USED_PERMILLE = 999  # a request that spent 99.9 % of its budget was stopped by it


@dataclass(frozen=True, slots=True)
class Pricing:
    """Per pool-slot (cell): the dual value of capacity and the price charged."""

    dual_micro: IntArray
    price_micro: IntArray

    @classmethod
    def published(cls, candidates: Candidates) -> Pricing:
        """Every pool-slot at its published rate (the policies without duals)."""
        rates = np.array([p.rate_micro for p in candidates.pools], np.int64)
        price = np.repeat(rates, candidates.slots.count)
        return cls(dual_micro=np.zeros_like(price), price_micro=price)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a policy adds to its placements to make a plan."""

    policy: str
    pricing: Pricing
    fallback_reason: str  # why a placeable request got nothing when no limit says why
    solve_s: float = 0.0
    # per (bid index, pool index): constraints only the policy knows were tight
    extra_binding: Mapping[tuple[int, int], frozenset[Binding]] = field(default_factory=dict)
    extra_reasons: Mapping[int, tuple[str, ...]] = field(default_factory=dict)  # bid index


def build_plan(candidates: Candidates, room: Room, outcome: Outcome) -> Plan:
    """The plan of the job-hours placed in `room`, priced by `outcome.pricing`."""
    device_hours = np.asarray(room.units, np.int64) * candidates.devices
    used = np.flatnonzero(device_hours > 0)
    amounts = outcome.pricing.price_micro[candidates.cell[used]] * device_hours[used]
    bid_amount = np.zeros(len(candidates.bids), np.int64)
    np.add.at(bid_amount, candidates.bid[used], amounts)
    builder = _AllocationBuilder(candidates, room, outcome, device_hours, bid_amount)
    allocations = tuple(builder.allocation(run) for run in _runs(candidates, used))
    placed = {a.request_id for a in allocations}
    weighted = sum(
        a.work_milli * candidates.bids[builder.bid_index[a.request_id]].score_milli // MILLI
        for a in allocations
    )
    return Plan(
        policy=outcome.policy,
        allocations=allocations,
        prices=_pool_prices(candidates, outcome.pricing, device_hours),
        unplaced=_unplaced(candidates, room, outcome, placed),
        work_milli=sum(a.work_milli for a in allocations),
        weighted_work_milli=weighted,
        solve_s=outcome.solve_s,
    )


def _runs(candidates: Candidates, used: IntArray) -> list[IntArray]:
    """The used candidates split into one run per (request, pool)."""
    key = candidates.bid[used] * len(candidates.pools) + candidates.pool[used]
    breaks = np.flatnonzero(np.diff(key)) + 1
    return [run for run in np.split(used, breaks) if len(run)]


class _AllocationBuilder:
    def __init__(
        self,
        candidates: Candidates,
        room: Room,
        outcome: Outcome,
        device_hours: IntArray,
        bid_amount: IntArray,
    ) -> None:
        self.candidates = candidates
        self.room = room
        self.outcome = outcome
        self.device_hours = device_hours
        self.bid_amount = bid_amount
        self.bid_index = {b.request_id: i for i, b in enumerate(candidates.bids)}
        self.first_candidate = np.searchsorted(
            candidates.bid, np.arange(len(candidates.bids) + 1)
        ).tolist()

    def allocation(self, run: IntArray) -> PlannedAllocation:
        c = self.candidates
        first, last = int(run[0]), int(run[-1])
        bid = c.bids[int(c.bid[first])]
        pool = c.pools[int(c.pool[first])]
        slot_uses = tuple(SlotUse(int(c.slot[i]), int(self.device_hours[i])) for i in run)
        device_hours = sum(s.device_hours for s in slot_uses)
        prices = self.outcome.pricing.price_micro[c.cell[run]]
        amount = int((prices * self.device_hours[run]).sum())
        return PlannedAllocation(
            request_id=bid.request_id,
            pool_id=pool.pool_id,
            devices=bid.devices_per_job,
            device_hours=device_hours,
            slots=slot_uses,
            start_ns=max(c.slots.slot_start_ns(int(c.slot[first])), bid.earliest_start_ns),
            end_ns=min(c.slots.slot_start_ns(int(c.slot[last]) + 1), bid.deadline_ns),
            rate_micro=pool.rate_micro,
            price_micro=amount // device_hours,
            amount_micro=amount,
            work_milli=device_hours * int(c.throughput_milli[first]),
            explanation=self.explanation(run, bid),
        )

    def explanation(self, run: IntArray, bid: Bid) -> Explanation:
        c = self.candidates
        bid_index = int(c.bid[run[0]])
        alternatives = self.alternatives(bid_index)
        pool_id = c.pools[int(c.pool[run[0]])].pool_id
        rank = next(i for i, a in enumerate(alternatives) if a.pool_id == pool_id)
        return Explanation(
            summary=_summary(alternatives[rank], rank, len(alternatives)),
            alternatives=alternatives,
            binding=self.binding(run, bid, bid_index, int(c.pool[run[0]])),
        )

    def alternatives(self, bid_index: int) -> tuple[Alternative, ...]:
        """Every pool the request could use, best work per credit first."""
        c = self.candidates
        lo, hi = self.first_candidate[bid_index], self.first_candidate[bid_index + 1]
        pools, first = np.unique(c.pool[lo:hi], return_index=True)
        found = [
            _alternative(c, int(p), int(c.throughput_milli[lo + i]))
            for p, i in zip(pools, first, strict=True)
        ]
        return tuple(sorted(found, key=lambda a: (-a.work_milli_per_credit, a.pool_id)))

    def binding(
        self, run: IntArray, bid: Bid, bid_index: int, pool_index: int
    ) -> tuple[Binding, ...]:
        found = set(self.outcome.extra_binding.get((bid_index, pool_index), ()))
        for i in run.tolist():
            found.update(self.room.tight(i))
        if self.bid_amount[bid_index] * MILLI >= bid.budget_micro * BUDGET_USED_PERMILLE:
            found.add(Binding.BUDGET)
        return tuple(b for b in Binding if b in found)


def _alternative(candidates: Candidates, pool_index: int, throughput_milli: int) -> Alternative:
    pool = candidates.pools[pool_index]
    return Alternative(
        pool_id=pool.pool_id,
        accelerator=pool.accelerator,
        throughput_milli=throughput_milli,
        rate_micro=pool.rate_micro,
        work_milli_per_credit=throughput_milli * MICRO // pool.rate_micro,
    )


def _summary(chosen: Alternative, rank: int, options: int) -> str:
    if options == 1:
        standing = "its only option"
    elif rank == 0:
        standing = f"best of {options} options"
    else:
        standing = f"option {rank + 1} of {options} by work per credit"
    per_credit = chosen.work_milli_per_credit / MILLI
    return (
        f"{chosen.accelerator} pool {chosen.pool_id}: {per_credit:.2f} work per credit, {standing}"
    )


def _pool_prices(
    candidates: Candidates, pricing: Pricing, device_hours: IntArray
) -> tuple[PoolPrice, ...]:
    count = candidates.slots.count
    allocated = np.zeros(len(candidates.capacity_device_hours), np.int64)
    np.add.at(allocated, candidates.cell, device_hours)
    return tuple(
        PoolPrice(
            pool_id=candidates.pools[cell // count].pool_id,
            slot=cell % count,
            dual_micro=int(pricing.dual_micro[cell]),
            price_micro=int(pricing.price_micro[cell]),
            capacity_device_hours=int(candidates.capacity_device_hours[cell]),
            allocated_device_hours=int(allocated[cell]),
        )
        for cell in range(len(allocated))
    )


def _unplaced(
    candidates: Candidates, room: Room, outcome: Outcome, placed: set[int]
) -> tuple[Unplaced, ...]:
    stopped_by = [
        (limit.reason, set(np.unique(candidates.bid[mask]).tolist()))
        for limit, mask in zip(room.limits, room.tight_masks(), strict=True)
    ]
    unplaced = []
    for index, bid in enumerate(candidates.bids):
        if bid.request_id in placed:
            continue
        reasons = candidates.unreachable.get(index) or (
            *outcome.extra_reasons.get(index, ()),
            *sorted({reason for reason, bids in stopped_by if index in bids}),
        )
        unplaced.append(Unplaced(bid.request_id, reasons or (outcome.fallback_reason,)))
    return tuple(unplaced)

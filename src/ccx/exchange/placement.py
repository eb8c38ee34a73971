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
import numpy.typing as npt

from ccx.exchange.candidates import Candidates, IntArray
from ccx.exchange.problem import (
    MILLI,
    Alternative,
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
Tight = list[npt.NDArray[np.bool_]]  # per limit, per candidate: no room for one more job-hour
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
    runs = _Runs.of(candidates, device_hours, outcome.pricing)
    tight = room.tight_masks()
    explained = _Explainer(candidates, room, outcome, runs, tight)
    allocations = tuple(explained.allocation(r) for r in range(runs.count))
    weighted = sum(
        a.work_milli * candidates.bids[b].score_milli // MILLI
        for a, b in zip(allocations, runs.bid.tolist(), strict=True)
    )
    return Plan(
        policy=outcome.policy,
        allocations=allocations,
        prices=_pool_prices(candidates, outcome.pricing, device_hours),
        unplaced=_unplaced(candidates, room, outcome, runs.bid, tight),
        work_milli=sum(a.work_milli for a in allocations),
        weighted_work_milli=weighted,
        solve_s=outcome.solve_s,
    )


@dataclass(frozen=True, slots=True)
class _Runs:
    """The used candidates (`used`, device-hours > 0) in runs of one (request, pool): one
    allocation each. Per run: `start` and `end` into `used`, its request and pool, device-hours
    and amount; per request, its total amount."""

    used: IntArray
    device_hours: IntArray  # per used candidate
    start: IntArray
    end: IntArray
    bid: IntArray
    pool: IntArray
    run_device_hours: IntArray
    amount_micro: IntArray
    bid_amount_micro: IntArray  # per request

    @property
    def count(self) -> int:
        return len(self.start)

    @classmethod
    def of(cls, candidates: Candidates, device_hours: IntArray, pricing: Pricing) -> _Runs:
        used = np.flatnonzero(device_hours > 0)
        key = candidates.bid[used] * len(candidates.pools) + candidates.pool[used]
        start = np.flatnonzero(np.diff(key, prepend=-1))
        end = np.append(start[1:], len(used)) if len(used) else start
        used_hours = device_hours[used]
        amounts = pricing.price_micro[candidates.cell[used]] * used_hours
        first = used[start]
        bid = candidates.bid[first]
        run_amount = np.add.reduceat(amounts, start) if len(used) else amounts
        bid_amount = np.zeros(len(candidates.bids), np.int64)
        np.add.at(bid_amount, bid, run_amount)
        return cls(
            used=used,
            device_hours=used_hours,
            start=start,
            end=end,
            bid=bid,
            pool=candidates.pool[first],
            run_device_hours=np.add.reduceat(used_hours, start) if len(used) else used_hours,
            amount_micro=run_amount,
            bid_amount_micro=bid_amount,
        )


_BINDINGS = tuple(Binding)
_BIT = {kind: 1 << n for n, kind in enumerate(_BINDINGS)}


class _Explainer:
    """Builds each run's allocation: slot uses, price, amount, work and explanation."""

    def __init__(
        self, candidates: Candidates, room: Room, outcome: Outcome, runs: _Runs, tight: Tight
    ) -> None:
        c = candidates
        self.candidates = candidates
        self.runs = runs
        used = runs.used
        self.slot_uses = [
            SlotUse(slot, hours)
            for slot, hours in zip(c.slot[used].tolist(), runs.device_hours.tolist(), strict=True)
        ]
        self.start = runs.start.tolist()
        self.end = runs.end.tolist()
        self.first = used[runs.start].tolist()
        self.last = used[runs.end - 1].tolist()
        self.binding_code = self._binding_codes(room, outcome, tight).tolist()
        self.alternatives = self._alternatives(np.unique(runs.bid))
        self.slot_of = c.slot.tolist()
        self.throughput = c.throughput_milli.tolist()
        self.run_device_hours = runs.run_device_hours.tolist()
        self.amount = runs.amount_micro.tolist()
        self.bid = runs.bid.tolist()
        self.pool = runs.pool.tolist()
        self.decoded: dict[int, tuple[Binding, ...]] = {}

    def _binding_codes(self, room: Room, outcome: Outcome, tight: Tight) -> IntArray:
        """Per run: the constraints tight for it, one bit per `Binding` in enum order."""
        runs = self.runs
        used = runs.used
        code = np.where(np.asarray(room.units_left, np.int64)[used] == 0, _BIT[Binding.WINDOW], 0)
        for limit, mask in zip(room.limits, tight, strict=True):
            code |= np.where(mask[used], _BIT[limit.kind], 0)
        run_code = np.bitwise_or.reduceat(code, runs.start) if len(used) else code
        budget = np.fromiter(
            (b.budget_micro for b in self.candidates.bids), np.int64, len(self.candidates.bids)
        )[runs.bid]
        spent = runs.bid_amount_micro[runs.bid] * MILLI >= budget * BUDGET_USED_PERMILLE
        run_code |= np.where(spent, _BIT[Binding.BUDGET], 0)
        for r, (bid, pool) in enumerate(zip(runs.bid.tolist(), runs.pool.tolist(), strict=True)):
            for kind in outcome.extra_binding.get((bid, pool), ()):
                run_code[r] |= _BIT[kind]
        codes: IntArray = run_code
        return codes

    def _alternatives(self, bids: IntArray) -> dict[int, tuple[Alternative, ...]]:
        """Per request in `bids` (sorted): every pool it could use, best work per credit
        first."""
        c = self.candidates
        pair = np.flatnonzero(np.diff(c.bid * len(c.pools) + c.pool, prepend=-1))
        pair = pair[np.isin(c.bid[pair], bids)]
        pair_bid = c.bid[pair]
        ends = np.searchsorted(pair_bid, bids, "right").tolist()
        options = [
            _alternative(c, p, t)
            for p, t in zip(c.pool[pair].tolist(), c.throughput_milli[pair].tolist(), strict=True)
        ]
        found = {}
        start = 0
        for bid, end in zip(bids.tolist(), ends, strict=True):
            ranked = sorted(options[start:end], key=lambda o: (-o.work_milli_per_credit, o.pool_id))
            found[bid] = tuple(ranked)
            start = end
        return found

    def allocation(self, r: int) -> PlannedAllocation:
        c = self.candidates
        first, last = self.first[r], self.last[r]
        bid = c.bids[self.bid[r]]
        pool = c.pools[self.pool[r]]
        device_hours = self.run_device_hours[r]
        amount = self.amount[r]
        return PlannedAllocation(
            request_id=bid.request_id,
            pool_id=pool.pool_id,
            devices=bid.devices_per_job,
            device_hours=device_hours,
            slots=tuple(self.slot_uses[self.start[r] : self.end[r]]),
            start_ns=max(c.slots.slot_start_ns(self.slot_of[first]), bid.earliest_start_ns),
            end_ns=min(c.slots.slot_start_ns(self.slot_of[last] + 1), bid.deadline_ns),
            rate_micro=pool.rate_micro,
            price_micro=amount // device_hours,
            amount_micro=amount,
            work_milli=device_hours * self.throughput[first],
            explanation=self.explanation(r, pool.pool_id),
        )

    def explanation(self, r: int, pool_id: int) -> Explanation:
        alternatives = self.alternatives[self.bid[r]]
        rank = next(i for i, a in enumerate(alternatives) if a.pool_id == pool_id)
        code = self.binding_code[r]
        binding = self.decoded.get(code)
        if binding is None:
            binding = tuple(kind for kind in _BINDINGS if code & _BIT[kind])
            self.decoded[code] = binding
        return Explanation(
            summary=_summary(alternatives[rank], rank, len(alternatives)),
            alternatives=alternatives,
            binding=binding,
        )


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
    candidates: Candidates, room: Room, outcome: Outcome, placed_bids: IntArray, tight: Tight
) -> tuple[Unplaced, ...]:
    """Every request without an allocation, with every reason that applies."""
    count = len(candidates.bids)
    stopped = np.zeros(count, np.int64)  # per request: bit n for the limit n that stopped it
    for n, mask in enumerate(tight):
        stopped[np.unique(candidates.bid[mask])] |= 1 << n
    placed = np.zeros(count, bool)
    placed[placed_bids] = True
    limit_reasons: dict[int, tuple[str, ...]] = {}
    unplaced = []
    for index, code in zip(
        np.flatnonzero(~placed).tolist(), stopped[~placed].tolist(), strict=True
    ):
        reasons = candidates.unreachable.get(index)
        if reasons is None:
            if code not in limit_reasons:
                limit_reasons[code] = tuple(
                    sorted({limit.reason for n, limit in enumerate(room.limits) if code >> n & 1})
                )
            reasons = (*outcome.extra_reasons.get(index, ()), *limit_reasons[code])
        unplaced.append(
            Unplaced(candidates.bids[index].request_id, reasons or (outcome.fallback_reason,))
        )
    return tuple(unplaced)

"""What every clearing policy reads first: the problem's whole-round errors, and the
candidates, one per (request, pool, slot) where a whole job-hour of the request could run.

A candidate exists where the pool's accelerator is one of the request's options with a
positive throughput, the pool has at least `devices_per_job` devices in the slot, the request's
window covers at least one whole hour of the slot, and one job-hour there fits the request's
work and its budget at the published rate. Its upper bound is `devices_per_job` device-hours
for each whole hour of overlap. Allocations are made in job-hours: `devices_per_job`
device-hours at a time.

Requests are sorted by `request_id` and pools by `pool_id`; candidates by (request, pool,
slot). Everything downstream indexes these arrays, so plans are deterministic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ccx.exchange.problem import MILLI, NS_PER_HOUR, Bid, ClearingProblem, PoolSupply, Slots

IntArray = npt.NDArray[np.int64]
NS_PER_S = 1_000_000_000
S_PER_HOUR = 3600


@dataclass(frozen=True, slots=True)
class Candidates:
    """The problem in array form. `cell` numbers a pool-slot as pool index * slots + slot."""

    slots: Slots
    bids: tuple[Bid, ...]  # sorted by request_id
    pools: tuple[PoolSupply, ...]  # sorted by pool_id
    capacity_device_hours: IntArray  # per cell
    bid: IntArray  # per candidate: index into `bids`
    pool: IntArray  # index into `pools`
    slot: IntArray
    cell: IntArray
    devices: IntArray  # the request's devices_per_job: device-hours in one job-hour
    upper_device_hours: IntArray  # whole job-hours its window allows in the slot
    throughput_milli: IntArray
    rate_micro: IntArray
    unreachable: dict[int, tuple[str, ...]]  # bid index -> why it has no candidate

    @property
    def count(self) -> int:
        return len(self.bid)

    @property
    def pool_device_hours(self) -> IntArray:
        """Each pool's device-hours over the whole round."""
        by_cell = self.capacity_device_hours.reshape(len(self.pools), self.slots.count)
        total: IntArray = by_cell.sum(axis=1)
        return total

    def bid_column(self, values: Iterable[int]) -> IntArray:
        """A per-request value, one entry per candidate."""
        return np.fromiter(values, np.int64, len(self.bids))[self.bid]


def problem_errors(problem: ClearingProblem) -> tuple[str, ...]:
    """Every reason the round cannot be cleared at all; empty when it is well formed."""
    errors = [*_slot_errors(problem.slots), *_cap_errors(problem)]
    errors += _duplicates("pool", (pool.pool_id for pool in problem.pools))
    errors += _duplicates("request", (bid.request_id for bid in problem.bids))
    for pool in problem.pools:
        errors += _pool_errors(pool, problem.slots.count)
    for bid in problem.bids:
        errors += _bid_errors(bid)
    return tuple(errors)


def _slot_errors(slots: Slots) -> list[str]:
    errors = []
    if slots.count < 1:
        errors.append(f"the round has no slots (count {slots.count})")
    if slots.slot_s < 1:
        errors.append(f"slot length must be positive (slot_s {slots.slot_s})")
    return errors


def _cap_errors(problem: ClearingProblem) -> list[str]:
    caps = problem.caps
    shares = {
        "firm_share_milli": caps.firm_share_milli,
        "integrator_share_milli": caps.integrator_share_milli,
        "group_share_milli": caps.group_share_milli,
        "floor_share_milli": caps.floor_share_milli,
    }
    return [f"{name} must be 0..{MILLI} ({v})" for name, v in shares.items() if not 0 <= v <= MILLI]


def _duplicates(what: str, ids: Iterable[int]) -> list[str]:
    return [f"duplicate {what} id {i}" for i, n in sorted(Counter(ids).items()) if n > 1]


def _pool_errors(pool: PoolSupply, slot_count: int) -> list[str]:
    name = f"pool {pool.pool_id}"
    errors = []
    if len(pool.devices_by_slot) != slot_count:
        errors.append(f"{name}: {len(pool.devices_by_slot)} device counts for {slot_count} slots")
    if any(devices < 0 for devices in pool.devices_by_slot):
        errors.append(f"{name}: negative device count")
    if pool.rate_micro <= 0:
        errors.append(f"{name}: rate must be positive ({pool.rate_micro})")
    if pool.price_cap_micro < pool.rate_micro:
        errors.append(f"{name}: price cap {pool.price_cap_micro} below rate {pool.rate_micro}")
    return errors


_BID_CHECKS = (
    "devices_per_job must be positive",
    "negative work",
    "negative budget",
    f"score must be 0..{MILLI}",
    "negative throughput",
    "deadline before earliest start",
)


def _bid_errors(bid: Bid) -> list[str]:
    failed = (
        bid.devices_per_job < 1,
        bid.work_device_hours < 0,
        bid.budget_micro < 0,
        not 0 <= bid.score_milli <= MILLI,
        any(o.throughput_milli < 0 for o in bid.options),
        bid.deadline_ns < bid.earliest_start_ns,
    )
    if not any(failed):
        return []
    return [
        f"request {bid.request_id}: {text}"
        for text, fails in zip(_BID_CHECKS, failed, strict=True)
        if fails
    ]


def build_candidates(problem: ClearingProblem) -> Candidates:
    """The candidates of a well-formed problem (check `problem_errors` first)."""
    bids = tuple(sorted(problem.bids, key=lambda b: b.request_id))
    pools = tuple(sorted(problem.pools, key=lambda p: p.pool_id))
    slots = problem.slots
    devices_by_cell = np.array([p.devices_by_slot for p in pools], np.int64).reshape(-1)
    capacity = devices_by_cell * slots.slot_s // S_PER_HOUR
    pair_bid, pair_pool, pair_throughput = _pairs(bids, pools)
    count = slots.count
    bid = np.repeat(pair_bid, count)
    pool = np.repeat(pair_pool, count)
    slot = np.tile(np.arange(count, dtype=np.int64), len(pair_bid))
    throughput = np.repeat(pair_throughput, count)
    cell = pool * count + slot
    rate = np.array([p.rate_micro for p in pools], np.int64)[pool]
    per_bid = _BidArrays.of(bids)
    devices = per_bid.devices[bid]
    hours = _overlap_hours(slots, per_bid.start_ns[bid], per_bid.deadline_ns[bid], slot)
    fits = (
        (devices_by_cell[cell] >= devices)
        & (per_bid.budget_micro[bid] >= rate * devices)
        & (per_bid.work_milli[bid] >= throughput * devices)
    )
    upper = np.where(fits, devices * hours, 0)
    keep = np.flatnonzero(upper > 0)
    placeable = np.zeros(len(bids), bool)
    placeable[bid[keep]] = True
    return Candidates(
        slots=slots,
        bids=bids,
        pools=pools,
        capacity_device_hours=capacity,
        bid=bid[keep],
        pool=pool[keep],
        slot=slot[keep],
        cell=cell[keep],
        devices=devices[keep],
        upper_device_hours=upper[keep],
        throughput_milli=throughput[keep],
        rate_micro=rate[keep],
        unreachable={
            int(i): unreachable_reasons(bids[i], pools, slots) for i in np.flatnonzero(~placeable)
        },
    )


@dataclass(frozen=True, slots=True)
class _BidArrays:
    devices: IntArray
    start_ns: IntArray
    deadline_ns: IntArray
    budget_micro: IntArray
    work_milli: IntArray

    @classmethod
    def of(cls, bids: tuple[Bid, ...]) -> _BidArrays:
        def column(values: Iterable[int]) -> IntArray:
            return np.fromiter(values, np.int64, len(bids))

        return cls(
            devices=column(b.devices_per_job for b in bids),
            start_ns=column(b.earliest_start_ns for b in bids),
            deadline_ns=column(b.deadline_ns for b in bids),
            budget_micro=column(b.budget_micro for b in bids),
            work_milli=column(b.work_device_hours * MILLI for b in bids),
        )


def _pairs(
    bids: tuple[Bid, ...], pools: tuple[PoolSupply, ...]
) -> tuple[IntArray, IntArray, IntArray]:
    """(bid, pool, throughput) for every pool of an accelerator a bid accepts with a positive
    throughput (the best one where an accelerator is listed twice), by bid then pool."""
    accelerators = {name: n for n, name in enumerate(sorted({p.accelerator for p in pools}))}
    options = [o for b in bids for o in b.options]
    option_bid = np.repeat(
        np.arange(len(bids), dtype=np.int64),
        np.fromiter((len(b.options) for b in bids), np.int64, len(bids)),
    )
    option_type = np.fromiter(
        (accelerators.get(o.accelerator, -1) for o in options), np.int64, len(options)
    )
    option_throughput = np.fromiter((o.throughput_milli for o in options), np.int64, len(options))
    pool_type = np.array([accelerators[p.accelerator] for p in pools], np.int64)
    matches = [np.flatnonzero(option_type == t) for t in pool_type.tolist()]
    option = np.concatenate([np.zeros(0, np.int64), *matches])
    pool = np.repeat(np.arange(len(pools), dtype=np.int64), [len(m) for m in matches])
    key = option_bid[option] * len(pools) + pool
    order = np.lexsort((-option_throughput[option], key))
    best = order[np.diff(key[order], prepend=-1) != 0]  # the first of each (bid, pool)
    best = best[option_throughput[option[best]] > 0]
    return option_bid[option[best]], pool[best], option_throughput[option[best]]


def _overlap_hours(slots: Slots, start_ns: IntArray, end_ns: IntArray, slot: IntArray) -> IntArray:
    """Whole hours of [start_ns, end_ns) inside each slot."""
    slot_ns = slots.slot_s * NS_PER_S
    slot_start = slots.start_ns + slot * slot_ns
    overlap_ns = np.minimum(end_ns, slot_start + slot_ns) - np.maximum(start_ns, slot_start)
    hours: IntArray = np.maximum(overlap_ns, 0) // NS_PER_HOUR
    return hours


def unreachable_reasons(bid: Bid, pools: tuple[PoolSupply, ...], slots: Slots) -> tuple[str, ...]:
    """Why a request has no candidate at all."""
    throughputs = {o.accelerator: o.throughput_milli for o in bid.options}
    usable = [p for p in pools if throughputs.get(p.accelerator, 0) > 0]
    if not usable:
        return ("no pool of an accepted type",)
    reasons = []
    window_ns = min(bid.deadline_ns, slots.end_ns) - max(bid.earliest_start_ns, slots.start_ns)
    if window_ns < NS_PER_HOUR:
        reasons.append("window outside the round")
    if bid.devices_per_job > max(max(p.devices_by_slot) for p in usable):
        reasons.append("job larger than any pool")
    if bid.budget_micro < bid.devices_per_job * min(p.rate_micro for p in usable):
        reasons.append("budget below one job-hour")
    slowest_milli = min(throughputs[p.accelerator] for p in usable)
    if bid.work_device_hours * MILLI < bid.devices_per_job * slowest_milli:
        reasons.append("work below one job-hour")
    return tuple(reasons) or ("no slot where its window and job size fit a pool",)

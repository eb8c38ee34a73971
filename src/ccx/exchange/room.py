"""Room left under each limit while a policy places whole job-hours, in exact integers.

Every policy places candidates one job-hour (`devices_per_job` device-hours) at a time through
a `Room`: a candidate gets at most what its window allows and what every limit it counts
against has left. Limits are per policy: pool-slot capacity, a request's work (milli-work) and
budget (micro-credits at the published rate), the anti-concentration caps, a firm's quota.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ccx.exchange.candidates import Candidates, IntArray
from ccx.exchange.problem import MILLI, Binding


@dataclass(frozen=True, slots=True)
class Limit:
    """One kind of limit: a quantity per group, and what a candidate's job-hour uses of it."""

    kind: Binding
    reason: str  # why a request got nothing when this limit stopped it
    group: IntArray  # per candidate: the group it counts against, -1 for none
    unit_cost: IntArray  # per candidate: what one job-hour uses (> 0 where group >= 0)
    amount: IntArray  # per group: the quantity at the start


class Room:
    """Job-hours placed per candidate, and what is left under the window and every limit."""

    def __init__(self, candidates: Candidates, limits: Sequence[Limit]) -> None:
        self.limits = tuple(limits)
        self.units = [0] * candidates.count
        self.units_left = (candidates.upper_device_hours // candidates.devices).tolist()
        self._groups = [limit.group.tolist() for limit in self.limits]
        self._costs = [limit.unit_cost.tolist() for limit in self.limits]
        self.left = [limit.amount.tolist() for limit in self.limits]

    def fit(self, c: int) -> int:
        """The most job-hours candidate `c` could still take."""
        units: int = self.units_left[c]
        for groups, costs, left in zip(self._groups, self._costs, self.left, strict=True):
            group = groups[c]
            if group >= 0 and units:
                units = min(units, left[group] // costs[c])
        return units

    def take(self, c: int, units: int) -> None:
        self._add(c, units)

    def release(self, c: int, units: int) -> None:
        self._add(c, -units)

    def _add(self, c: int, units: int) -> None:
        self.units[c] += units
        self.units_left[c] -= units
        for groups, costs, left in zip(self._groups, self._costs, self.left, strict=True):
            group = groups[c]
            if group >= 0:
                left[group] -= units * costs[c]

    def fill(self, order: Iterable[int], wanted: Sequence[int] | None = None) -> None:
        """Give each candidate in `order`, in turn, all it fits (at most `wanted[c]`)."""
        for c in order:
            units = self.fit(c) if wanted is None else min(wanted[c], self.fit(c))
            if units > 0:
                self.take(c, units)

    def tight(self, c: int) -> list[Binding]:
        """The limits that leave candidate `c` no room for one more job-hour."""
        found = [Binding.WINDOW] if self.units_left[c] == 0 else []
        for limit, groups, costs, left in zip(
            self.limits, self._groups, self._costs, self.left, strict=True
        ):
            group = groups[c]
            if group >= 0 and left[group] < costs[c]:
                found.append(limit.kind)
        return found

    def tight_masks(self) -> list[npt.NDArray[np.bool_]]:
        """Per limit, which candidates it leaves no room for one more job-hour."""
        masks = []
        for limit, left in zip(self.limits, self.left, strict=True):
            if not left:
                masks.append(np.zeros(len(limit.group), bool))
                continue
            left_by_candidate = np.asarray(left, np.int64)[np.maximum(limit.group, 0)]
            masks.append((limit.group >= 0) & (left_by_candidate < limit.unit_cost))
        return masks


def capacity_limit(candidates: Candidates, reason: str) -> Limit:
    """Device-hours per pool-slot."""
    return Limit(
        Binding.CAPACITY,
        reason,
        group=candidates.cell,
        unit_cost=candidates.devices,
        amount=candidates.capacity_device_hours,
    )


def request_limits(candidates: Candidates) -> list[Limit]:
    """Each request's work (milli-work) and budget (micro-credits at the published rate)."""
    bids = candidates.bids
    work_milli = np.fromiter((b.work_device_hours * MILLI for b in bids), np.int64, len(bids))
    budget_micro = np.fromiter((b.budget_micro for b in bids), np.int64, len(bids))
    return [
        Limit(
            Binding.WORK,
            "work below one job-hour",
            group=candidates.bid,
            unit_cost=candidates.throughput_milli * candidates.devices,
            amount=work_milli,
        ),
        Limit(
            Binding.BUDGET,
            "budget below one job-hour",
            group=candidates.bid,
            unit_cost=candidates.rate_micro * candidates.devices,
            amount=budget_micro,
        ),
    ]

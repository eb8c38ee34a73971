"""The clearing problem and its answer, as plain values: what every allocation policy takes and
returns. Nothing here touches a database; the service builds a `ClearingProblem` from its
tables and persists the `Plan`.

Units:
- time in nanoseconds since the epoch (`*_ns`) and seconds (`*_s`);
- device-hours as whole numbers (`*_device_hours`);
- credits in micro-credits (`*_micro`), rates and prices in micro-credits per device-hour;
- throughput relative to an H100 in thousandths (`throughput_milli`: 1000 = an H100's speed
  on that workload), so one device-hour at throughput 1000 is one credit's worth of work;
- shares and scores in thousandths (`*_milli`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

MILLI = 1000
NS_PER_HOUR = 3_600_000_000_000


@dataclass(frozen=True, slots=True)
class Slots:
    """The round's period: `count` consecutive slots of `slot_s` seconds from `start_ns`."""

    start_ns: int
    slot_s: int
    count: int

    def slot_start_ns(self, slot: int) -> int:
        return self.start_ns + slot * self.slot_s * 1_000_000_000

    @property
    def end_ns(self) -> int:
        return self.slot_start_ns(self.count)


@dataclass(frozen=True, slots=True)
class PoolSupply:
    """One pool's capacity in the round: devices available in each slot (maintenance taken
    out), the published rate in force (locked into every allocation on it) and the programme's
    cap on its price."""

    pool_id: int
    accelerator: str
    devices_by_slot: tuple[int, ...]  # one entry per slot
    rate_micro: int  # published credits per device-hour
    price_cap_micro: int  # the highest price per device-hour a round may charge (>= rate)


@dataclass(frozen=True, slots=True)
class Option:
    """An accelerator type a request accepts, with its expected throughput there."""

    accelerator: str
    throughput_milli: int  # relative to an H100 on this workload, 1000 = as fast


@dataclass(frozen=True, slots=True)
class Bid:
    """One open request as the clearing sees it."""

    request_id: int
    firm_id: int
    integrator_id: int
    group_id: int | None  # the firm's business group (None: independent)
    small_firm: bool  # an eligible small firm: protected by the fairness floor
    submitted_at_ns: int  # first-come-first-served order (ties: request_id)
    devices_per_job: int  # devices one job uses at once; allocations are multiples of it
    work_device_hours: int  # the work asked, in device-hours at throughput 1000
    earliest_start_ns: int
    deadline_ns: int
    budget_micro: int  # the most it may be charged (request maximum, mandate room, lots)
    score_milli: int  # its integrator's efficiency score, 0..1000: weights its work
    options: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class Caps:
    """Anti-concentration caps (share of each pool's capacity in the round that one firm, one
    integrator or one business group may take) and the fairness floor (share of its fair
    share of the work that every small firm with a placeable request is guaranteed where
    capacity allows)."""

    firm_share_milli: int = 100
    integrator_share_milli: int = 250
    group_share_milli: int = 150
    floor_share_milli: int = 500


@dataclass(frozen=True, slots=True)
class ClearingProblem:
    slots: Slots
    pools: tuple[PoolSupply, ...]
    bids: tuple[Bid, ...]
    caps: Caps = field(default_factory=Caps)


class Binding(enum.StrEnum):
    """Constraints that can limit an allocation."""

    CAPACITY = "capacity"  # the pool was full in a slot it could use
    WORK = "work"  # it got all the work it asked for
    BUDGET = "budget"  # its credits ran out
    WINDOW = "window"  # its window (start to deadline, at its job size) was used up
    FIRM_CAP = "firm_cap"
    INTEGRATOR_CAP = "integrator_cap"
    GROUP_CAP = "group_cap"
    FLOOR = "floor"  # placed (at least in part) to honour a small firm's fairness floor
    ROUNDING = "rounding"  # whole jobs: the remainder of a job did not fit


@dataclass(frozen=True, slots=True)
class Alternative:
    """An option the request had: what a credit buys there."""

    pool_id: int
    accelerator: str
    throughput_milli: int
    rate_micro: int
    work_milli_per_credit: int  # throughput_milli * 10^6 // rate_micro (work per credit)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why an allocation is where it is and what stopped it being larger."""

    summary: str  # one sentence: which pool and why
    alternatives: tuple[Alternative, ...]  # every pool it could have used, best first
    binding: tuple[Binding, ...]  # the constraints that were tight for it


@dataclass(frozen=True, slots=True)
class SlotUse:
    slot: int
    device_hours: int


@dataclass(frozen=True, slots=True)
class PlannedAllocation:
    """Device-hours for one request on one pool, by slot, at a price."""

    request_id: int
    pool_id: int
    devices: int  # = the request's devices_per_job
    device_hours: int  # sum of `slots`, a multiple of `devices`
    slots: tuple[SlotUse, ...]
    start_ns: int  # the first slot it uses (clipped to the request's window)
    end_ns: int  # the end of the last slot it uses (clipped to the request's deadline)
    rate_micro: int  # the published rate in force, locked
    price_micro: int  # the round's price per device-hour (amount // device_hours)
    amount_micro: int  # what the hold takes: sum over slots of slot price * device-hours
    work_milli: int  # device_hours * throughput_milli on this pool
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class PoolPrice:
    """A pool's price in one slot, from the dual value of its capacity."""

    pool_id: int
    slot: int
    dual_micro: int  # the marginal value of one more device-hour, in micro-credits
    price_micro: int  # max(rate, min(dual, cap))
    capacity_device_hours: int
    allocated_device_hours: int


@dataclass(frozen=True, slots=True)
class Unplaced:
    """A request that got nothing, and why."""

    request_id: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    policy: str
    allocations: tuple[PlannedAllocation, ...]
    prices: tuple[PoolPrice, ...]
    unplaced: tuple[Unplaced, ...]
    work_milli: int  # sum of allocations' work
    weighted_work_milli: int  # sum of work * score_milli // 1000: what the LP maximises
    solve_s: float  # wall time of the solver (0 for policies without one)


@dataclass(frozen=True, slots=True)
class Infeasible:
    """The round cannot be cleared at all (not: some requests got nothing)."""

    policy: str
    reasons: tuple[str, ...]


class Policy(Protocol):
    """An allocation policy: the same problem in, a plan (or why none exists) out."""

    name: str

    def clear(self, problem: ClearingProblem) -> Plan | Infeasible: ...

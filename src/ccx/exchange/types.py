"""What the exchange shows the rest of ccx: accelerator types, pools, exchange rates, requests,
clearing rounds and allocations.

Units: time in nanoseconds since the epoch (`*_ns`) or seconds (`*_s`); credits in
micro-credits (`*_micro`); rates and prices in micro-credits per device-hour; device-hours as
whole numbers; throughput relative to an H100 in thousandths (`throughput_milli`, 1000 = as
fast as an H100); shares and scores in thousandths (`*_milli`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ccx.exchange.problem import Explanation, SlotUse

CODE_CHARS_MAX = 16
"""Longest accelerator type code (e.g. `H100`, `RNGD`)."""
NAME_CHARS_MAX = 100
SOURCE_CHARS_MAX = 300
WORKLOAD_CHARS_MAX = 64
DEVICES_MAX = 1_000_000
"""Most devices in one pool."""
JOB_DEVICES_MAX = 4096
"""Most devices one job may use at once."""
WORK_DEVICE_HOURS_MAX = 10_000_000
THROUGHPUT_MILLI_MAX = 100_000
"""A workload at most 100 times an H100's speed on some accelerator."""
OPTIONS_MAX = 16
RATE_MICRO_MAX = 1_000_000_000
"""At most 1,000 credits per device-hour."""
SLOT_S_MIN = 3600
SLOT_S_MAX = 7 * 86_400
SLOTS_MAX = 28
PRICE_CAP_MILLI_MAX = 10_000
"""A programme may let prices rise to at most 10 times the published rate."""
GRACE_S_MAX = 30 * 86_400
LEARNED_SAMPLES_MIN = 3
"""Metered runs of a workload class on a type before the learned throughput replaces the
declared one."""


class AcceleratorKind(enum.StrEnum):
    GPU = "gpu"
    NPU = "npu"


class RequestStatus(enum.StrEnum):
    OPEN = "open"  # takes part in rounds while it has work, budget and time left
    ALLOCATED = "allocated"  # all its work is allocated
    CANCELLED = "cancelled"  # withdrawn by its integrator; allocations already made stand
    EXPIRED = "expired"  # its deadline passed with work unallocated


class AllocationStatus(enum.StrEnum):
    HELD = "held"  # credits held, no job started yet
    RUNNING = "running"  # a job started under it
    RECLAIMED = "reclaimed"  # no job within the grace period: hold voided, capacity freed
    SETTLED = "settled"  # usage posted, the rest voided


@dataclass(frozen=True, slots=True)
class AcceleratorType:
    code: str
    name: str
    vendor: str
    kind: AcceleratorKind
    memory_gb: int
    bf16_tflops: int | None  # dense peak, where published
    int8_tops: int | None
    source: str


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """Credits per device-hour of one type from `effective_from_ns` until the next version."""

    id: int
    accelerator: str
    effective_from_ns: int
    rate_micro: int
    source: str
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class NewPool:
    name: str
    accelerator: str
    devices: int


@dataclass(frozen=True, slots=True)
class Maintenance:
    id: int
    pool_id: int
    start_ns: int
    end_ns: int
    devices_out: int
    reason: str


@dataclass(frozen=True, slots=True)
class Pool:
    id: int
    name: str
    accelerator: str
    devices: int
    created_at_ns: int
    maintenance: tuple[Maintenance, ...]  # windows that have not ended, earliest first


@dataclass(frozen=True, slots=True)
class RequestOption:
    accelerator: str
    throughput_milli: int  # as declared


@dataclass(frozen=True, slots=True)
class NewRequest:
    mandate_id: int
    key: str  # the integrator's idempotency key, unique per mandate
    workload_class: str  # e.g. `llm-finetune-8b`: throughput is learned per class and type
    devices_per_job: int
    work_device_hours: int  # device-hours at an H100's speed
    earliest_start_ns: int
    deadline_ns: int
    max_credits_micro: int
    options: tuple[RequestOption, ...]


@dataclass(frozen=True, slots=True)
class Request:
    id: int
    mandate_id: int
    programme_id: int
    firm_id: int
    integrator_id: int
    key: str
    workload_class: str
    devices_per_job: int
    work_device_hours: int
    earliest_start_ns: int
    deadline_ns: int
    max_credits_micro: int
    options: tuple[RequestOption, ...]
    status: RequestStatus
    allocated_work_milli: int  # work held by its live allocations and used by settled ones
    committed_micro: int  # credits held by its live allocations and posted by settled ones
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class RoundParameters:
    """How a round clears: its period, the caps and floor, and the grace period after which an
    allocation with no job started is reclaimed."""

    start_ns: int
    slot_s: int = 6 * 3600
    slots: int = 4
    policy: str = "lp"
    firm_share_milli: int = 100
    integrator_share_milli: int = 250
    group_share_milli: int = 150
    floor_share_milli: int = 500
    grace_s: int = 4 * 3600


@dataclass(frozen=True, slots=True)
class PoolPriceView:
    pool_id: int
    slot: int
    slot_start_ns: int
    rate_micro: int
    dual_micro: int
    price_micro: int
    capacity_device_hours: int
    allocated_device_hours: int


@dataclass(frozen=True, slots=True)
class Round:
    """A committed clearing round and its figures. `idle_device_hours` counts capacity not
    used: unallocated, reclaimed, and allocated but not used by settled allocations."""

    id: int
    policy: str
    start_ns: int
    end_ns: int
    slot_s: int
    slots: int
    grace_s: int
    caps_milli: tuple[int, int, int, int]  # firm, integrator, group shares; fairness floor
    solve_s: float
    requests: int  # open requests it considered
    capacity_device_hours: int
    allocated_device_hours: int
    reclaimed_device_hours: int
    used_device_hours: int
    idle_device_hours: int
    allocated_micro: int
    unplaced: tuple[tuple[int, tuple[str, ...]], ...]  # request id, reasons
    prices: tuple[PoolPriceView, ...]
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class Allocation:
    id: int
    round_id: int
    request_id: int
    pool_id: int
    accelerator: str
    mandate_id: int
    programme_id: int
    firm_id: int
    integrator_id: int
    spend_id: int  # the programme spend that holds its credits
    devices: int
    device_hours: int
    slots: tuple[SlotUse, ...]
    start_ns: int
    end_ns: int
    rate_micro: int
    price_micro: int
    amount_micro: int
    work_milli: int
    status: AllocationStatus
    reclaim_after_ns: int
    started_at_ns: int | None
    used_device_s: int  # metered device-seconds charged so far
    utilisation_milli: int | None  # measured mean utilisation, once settled
    posted_micro: int  # credits charged so far
    held_micro: int  # credits still held for it
    explanation: Explanation
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class RoundOutcome:
    """A committed round, or (dry run) the plan it would commit."""

    round: Round | None
    allocations: tuple[Allocation, ...]
    planned: int  # allocations in the plan
    dropped: tuple[tuple[int, str], ...]  # request id, why its hold was refused


@dataclass(frozen=True, slots=True)
class EfficiencyScore:
    """An integrator's efficiency score and how it was reached: used device-hours weighted by
    measured utilisation, over the device-hours allocated to it, shrunk towards 1000 by a
    prior so that a newcomer starts at full weight."""

    integrator_id: int
    score_milli: int
    allocations: int  # resolved allocations counted (settled or reclaimed)
    allocated_device_hours: int
    used_device_hours: int
    utilised_device_hours: int  # used, weighted by measured utilisation
    reclaimed: int
    explanation: str

"""Seeded clearing problems for the benchmark: 15,000 devices in six pools, one 24-hour round
in four 6-hour slots, and any number of open requests.

Throughput is per request and per accelerator type: a typical speed relative to an H100 times
a random factor, and for some jobs (memory-bound ones, as in Gavel's measurements where older
GPUs are sometimes as fast) a boost on the older types, so the newest pool is not always the
most work per credit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ccx.exchange.problem import (
    MILLI,
    NS_PER_HOUR,
    Bid,
    Caps,
    ClearingProblem,
    Option,
    PoolSupply,
    Slots,
)

MICRO = 1_000_000
ROUND_START_NS = 1_767_225_600 * 1_000_000_000  # 2026-01-01T00:00:00Z
SLOT_S = 6 * 3600
SLOT_COUNT = 4
PRICE_CAP_FACTOR = 4
JOB_SIZES = (1, 1, 1, 2, 2, 4, 4, 8, 8, 8, 16, 32, 64)
OLDER_FRIENDLY_SHARE = 0.15
OLDER_FRIENDLY_BOOST = 2.2
SMALL_FIRM_SHARE = 0.7
GROUPED_FIRM_SHARE = 0.2
INTEGRATORS = 48
GROUPS = 24


@dataclass(frozen=True, slots=True)
class AcceleratorType:
    name: str
    devices: int
    rate_micro: int
    speed: float  # typical throughput relative to an H100
    accepted_share: float  # share of requests that accept it
    older: bool  # an older or NPU type that some jobs run unusually well on


ACCELERATORS = (
    AcceleratorType("B200", 8160, 2_250_000, 2.2, 0.6, older=False),
    AcceleratorType("H200", 2296, 1_000_000, 1.3, 0.7, older=False),
    AcceleratorType("H100", 2000, 1_000_000, 1.0, 0.9, older=False),
    AcceleratorType("A100", 1544, 250_000, 0.45, 0.6, older=True),
    AcceleratorType("RNGD", 800, 350_000, 0.5, 0.25, older=True),
    AcceleratorType("ATOM", 200, 80_000, 0.15, 0.15, older=True),
)


def instance(requests: int, seed: int = 1) -> ClearingProblem:
    """A problem with `requests` open requests from a few thousand firms (fewer for small
    sizes), dozens of integrators and some business groups."""
    rng = random.Random(seed)
    firms = min(3000, max(40, requests // 30))
    firm_profiles = [_firm(rng, firm_id) for firm_id in range(1, firms + 1)]
    bids = tuple(
        _bid(rng, request_id, rng.choice(firm_profiles)) for request_id in range(1, requests + 1)
    )
    return ClearingProblem(slots=_slots(), pools=_pools(), bids=bids, caps=Caps())


def _slots() -> Slots:
    return Slots(start_ns=ROUND_START_NS, slot_s=SLOT_S, count=SLOT_COUNT)


def _pools() -> tuple[PoolSupply, ...]:
    return tuple(
        PoolSupply(
            pool_id=index,
            accelerator=a.name,
            devices_by_slot=(a.devices,) * SLOT_COUNT,
            rate_micro=a.rate_micro,
            price_cap_micro=a.rate_micro * PRICE_CAP_FACTOR,
        )
        for index, a in enumerate(ACCELERATORS, start=1)
    )


@dataclass(frozen=True, slots=True)
class _Firm:
    firm_id: int
    integrator_id: int
    group_id: int | None
    small: bool
    score_milli: int


def _firm(rng: random.Random, firm_id: int) -> _Firm:
    integrator_id = rng.randint(1, INTEGRATORS)
    return _Firm(
        firm_id=firm_id,
        integrator_id=integrator_id,
        group_id=rng.randint(1, GROUPS) if rng.random() < GROUPED_FIRM_SHARE else None,
        small=rng.random() < SMALL_FIRM_SHARE,
        score_milli=500 + (integrator_id * 7919) % 501,
    )


def _bid(rng: random.Random, request_id: int, firm: _Firm) -> Bid:
    devices = rng.choice(JOB_SIZES)
    hours = max(1, round(rng.lognormvariate(2.2, 0.8)))
    start_h = rng.randrange(0, 18)
    duration_h = rng.randint(6, 48)
    work = devices * hours
    return Bid(
        request_id=request_id,
        firm_id=firm.firm_id,
        integrator_id=firm.integrator_id,
        group_id=firm.group_id,
        small_firm=firm.small,
        submitted_at_ns=ROUND_START_NS - rng.randrange(0, 7 * 24) * NS_PER_HOUR,
        devices_per_job=devices,
        work_device_hours=work,
        earliest_start_ns=ROUND_START_NS + start_h * NS_PER_HOUR,
        deadline_ns=ROUND_START_NS + (start_h + duration_h) * NS_PER_HOUR,
        budget_micro=int(work * rng.uniform(0.3, 2.0) * MICRO),
        score_milli=firm.score_milli,
        options=_options(rng),
    )


def _options(rng: random.Random) -> tuple[Option, ...]:
    older_friendly = rng.random() < OLDER_FRIENDLY_SHARE
    accepted = [a for a in ACCELERATORS if rng.random() < a.accepted_share] or [ACCELERATORS[2]]
    return tuple(
        Option(a.name, max(1, round(_speed(rng, a, older_friendly=older_friendly) * MILLI)))
        for a in accepted
    )


def _speed(rng: random.Random, accelerator: AcceleratorType, *, older_friendly: bool) -> float:
    boost = OLDER_FRIENDLY_BOOST if older_friendly and accelerator.older else 1.0
    return accelerator.speed * boost * rng.lognormvariate(0.0, 0.25)

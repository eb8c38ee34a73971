"""The exchange: accelerator types and pools, versioned exchange rates, compute requests under
mandates, clearing rounds that allocate capacity by efficiency (an LP solved by HiGHS, with
first-come-first-served and static quotas behind the same interface for comparison), holds on
the firms' credits for every allocation, and anti-hoarding (reclaim of idle allocations, an
efficiency score per integrator).

Public surface: the types, the plain-value clearing problem (`problem`), the writes in
`service` and `rounds`, and the reads in `queries`. Tables (`models`) are private; `rules` and
`scoring` are pure.
"""

from ccx.exchange.types import (
    AcceleratorKind,
    AcceleratorType,
    Allocation,
    AllocationStatus,
    EfficiencyScore,
    ExchangeRate,
    Maintenance,
    NewPool,
    NewRequest,
    Pool,
    PoolPriceView,
    Request,
    RequestOption,
    RequestStatus,
    Round,
    RoundOutcome,
    RoundParameters,
)

__all__ = [
    "AcceleratorKind",
    "AcceleratorType",
    "Allocation",
    "AllocationStatus",
    "EfficiencyScore",
    "ExchangeRate",
    "Maintenance",
    "NewPool",
    "NewRequest",
    "Pool",
    "PoolPriceView",
    "Request",
    "RequestOption",
    "RequestStatus",
    "Round",
    "RoundOutcome",
    "RoundParameters",
]

"""Small clearing problems for the exchange's unit tests."""

from __future__ import annotations

from ccx.exchange.problem import (
    NS_PER_HOUR,
    Bid,
    Caps,
    ClearingProblem,
    Option,
    PoolSupply,
    Slots,
)

CREDIT = 1_000_000
SLOT_S = 6 * 3600
NO_CAPS = Caps(
    firm_share_milli=1000, integrator_share_milli=1000, group_share_milli=1000, floor_share_milli=0
)


def pool(
    pool_id: int,
    accelerator: str,
    devices: int,
    *,
    rate_micro: int = CREDIT,
    price_cap_micro: int = 10 * CREDIT,
    slots: int = 1,
) -> PoolSupply:
    return PoolSupply(pool_id, accelerator, (devices,) * slots, rate_micro, price_cap_micro)


def bid(
    request_id: int,
    *options: Option,
    firm_id: int | None = None,
    work: int = 6,
    budget_micro: int = 1000 * CREDIT,
    devices: int = 1,
    score_milli: int = 1000,
    small: bool = False,
    hours: int = 6,
    submitted_at_ns: int = 0,
) -> Bid:
    return Bid(
        request_id=request_id,
        firm_id=request_id if firm_id is None else firm_id,
        integrator_id=1,
        group_id=None,
        small_firm=small,
        submitted_at_ns=submitted_at_ns,
        devices_per_job=devices,
        work_device_hours=work,
        earliest_start_ns=0,
        deadline_ns=hours * NS_PER_HOUR,
        budget_micro=budget_micro,
        score_milli=score_milli,
        options=options or (Option("H100", 1000),),
    )


def problem(
    pools: tuple[PoolSupply, ...], bids: tuple[Bid, ...], caps: Caps = NO_CAPS, slots: int = 1
) -> ClearingProblem:
    return ClearingProblem(Slots(0, SLOT_S, slots), pools, bids, caps)

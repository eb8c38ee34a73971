"""The exchange's capacity: the accelerator catalogue, exchange rates, programme price caps,
pools and their maintenance.

Every key reads the catalogue, the rates and the pools. The centre operator publishes rates,
declares and resizes pools and schedules maintenance; the operator or the administrator adds
accelerator types and caps a programme's prices.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ccx.api.deps import Context, CurrentPrincipal, requires
from ccx.api.errors import error_responses
from ccx.api.routers import API_PREFIX
from ccx.api.routers.params import PAGE_SIZE_DEFAULT, AfterId, IdPath, Limit, next_after_id
from ccx.api.routers.programmes import not_found, write_or_answer
from ccx.api.schemas.exchange import (
    AcceleratorTypeIn,
    AcceleratorTypeOut,
    MaintenanceIn,
    MaintenanceOut,
    PoolIn,
    PoolOut,
    PoolPatch,
    PriceCapIn,
    PriceCapOut,
    RateIn,
    RateOut,
)
from ccx.api.schemas.ledger import Page
from ccx.auth import Principal, policy
from ccx.exchange import queries, service
from ccx.exchange.types import CODE_CHARS_MAX
from ccx.ledger.types import LEDGER_MAX

EXCHANGE_PREFIX = f"{API_PREFIX}/exchange"

router = APIRouter(prefix=EXCHANGE_PREFIX, tags=["exchange"], responses=error_responses(401, 422))
TypeManager = Annotated[Principal, Depends(requires(policy.can_manage_accelerator_types))]
CapacityManager = Annotated[Principal, Depends(requires(policy.can_manage_capacity))]
PriceCapSetter = Annotated[Principal, Depends(requires(policy.can_set_price_cap))]


@router.get("/types")
def get_types(context: Context, _principal: CurrentPrincipal) -> list[AcceleratorTypeOut]:
    """The accelerator catalogue (a few dozen types at most), by code."""
    with context.database.read() as session:
        found = queries.list_accelerator_types(session)
    return [AcceleratorTypeOut.of(item) for item in found]


@router.post("/types", status_code=201, responses=error_responses(403, 409))
def post_type(
    body: AcceleratorTypeIn, context: Context, _principal: TypeManager
) -> AcceleratorTypeOut:
    """Add a type with its published figures; the same type again answers the same, other
    figures under the same code answer 409."""
    new = body.to_type()
    added = write_or_answer(context, lambda s: service.add_accelerator_type(s, new))
    return AcceleratorTypeOut.of(added)


@router.get("/rates")
def get_rates(
    context: Context,
    _principal: CurrentPrincipal,
    accelerator: Annotated[str | None, Query(max_length=CODE_CHARS_MAX)] = None,
) -> list[RateOut]:
    """Every version of the exchange rates (or one type's), by type, oldest first."""
    with context.database.read() as session:
        found = queries.list_rates(session, accelerator=accelerator)
    return [RateOut.of(rate) for rate in found]


@router.post("/rates", status_code=201, responses=error_responses(403, 409))
def post_rate(body: RateIn, context: Context, _principal: CapacityManager) -> RateOut:
    """Publish a new version of a type's rate, in force from `effective_from_ns` (now or
    later). Allocations already made keep the rate locked into them."""
    effective_from_ns = (
        context.clock.now_ns() if body.effective_from_ns is None else body.effective_from_ns
    )
    rate = write_or_answer(
        context,
        lambda s: service.publish_rate(
            s,
            accelerator=body.accelerator,
            rate_micro=body.rate_micro,
            effective_from_ns=effective_from_ns,
            source=body.source,
            clock=context.clock,
        ),
    )
    return RateOut.of(rate)


@router.put("/price-caps/{programme_id}", responses=error_responses(403, 404))
def put_price_cap(
    programme_id: Annotated[int, Path(ge=1, le=LEDGER_MAX)],
    body: PriceCapIn,
    context: Context,
    _principal: PriceCapSetter,
) -> PriceCapOut:
    """Cap the clearing prices charged to the programme's credits (1000 to 10000 thousandths
    of the published rate)."""
    cap = write_or_answer(
        context,
        lambda s: service.set_price_cap(
            s, programme_id=programme_id, price_cap_milli=body.price_cap_milli
        ),
    )
    return PriceCapOut(programme_id=programme_id, price_cap_milli=cap)


@router.get("/pools")
def get_pools(
    *,
    context: Context,
    _principal: CurrentPrincipal,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[PoolOut]:
    """Pools in id order, with maintenance that has not ended."""
    with context.database.read() as session:
        found = queries.list_pools(
            session, now_ns=context.clock.now_ns(), limit=limit, after_id=after_id
        )
    return Page[PoolOut](
        items=[PoolOut.of(pool) for pool in found], next_after_id=next_after_id(found, limit)
    )


@router.get("/pools/{pool_id}", responses=error_responses(404))
def get_pool(pool_id: IdPath, context: Context, _principal: CurrentPrincipal) -> PoolOut:
    with context.database.read() as session:
        pool = queries.get_pool(session, pool_id, now_ns=context.clock.now_ns())
    if pool is None:
        raise not_found("pool", pool_id)
    return PoolOut.of(pool)


@router.post("/pools", status_code=201, responses=error_responses(403, 409))
def post_pool(body: PoolIn, context: Context, _principal: CapacityManager) -> PoolOut:
    """Declare a pool of one accelerator type; the same pool again answers the same."""
    new = body.to_new()
    pool = write_or_answer(context, lambda s: service.create_pool(s, new, context.clock))
    return PoolOut.of(pool)


@router.patch("/pools/{pool_id}", responses=error_responses(403, 404))
def patch_pool(
    pool_id: IdPath, body: PoolPatch, context: Context, _principal: CapacityManager
) -> PoolOut:
    """Change a pool's device count; rounds cleared from now on see the new count."""
    pool = write_or_answer(
        context,
        lambda s: service.resize_pool(
            s, pool_id=pool_id, devices=body.devices, clock=context.clock
        ),
    )
    return PoolOut.of(pool)


@router.post("/pools/{pool_id}/maintenance", status_code=201, responses=error_responses(403, 404))
def post_maintenance(
    pool_id: IdPath, body: MaintenanceIn, context: Context, _principal: CapacityManager
) -> MaintenanceOut:
    """Take devices out of service for a window; rounds over it offer that many fewer."""
    window = write_or_answer(
        context,
        lambda s: service.schedule_maintenance(
            s,
            pool_id=pool_id,
            start_ns=body.start_ns,
            end_ns=body.end_ns,
            devices_out=body.devices_out,
            reason=body.reason,
            clock=context.clock,
        ),
    )
    return MaintenanceOut.of(window)

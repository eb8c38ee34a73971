"""The exchange's requests, clearing rounds, allocations, reclaim and efficiency scores.

An integrator files requests on the mandates that name it, cancels them, and sees its own
requests, allocations and score. A firm sees the requests and allocations paid from its
credits. The centre operator runs rounds (or a dry run that commits nothing) and reclaims idle
allocations. Read-all roles see everything; every key reads the rounds and their prices.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Response
from pydantic import Field

from ccx.api.deps import ApiContext, Context, CurrentPrincipal, forbidden
from ccx.api.errors import ApiError, error_responses
from ccx.api.routers.exchange_capacity import EXCHANGE_PREFIX, CapacityManager
from ccx.api.routers.params import PAGE_SIZE_DEFAULT, AfterId, IdPath, Limit, next_after_id
from ccx.api.routers.programmes import not_found, write_or_answer
from ccx.api.schemas.exchange import (
    AllocationOut,
    ClearingOut,
    ReclaimOut,
    RequestIn,
    RequestOut,
    RoundIn,
    RoundOut,
    ScoreOut,
    ThroughputIn,
    ThroughputOut,
)
from ccx.api.schemas.ledger import Page
from ccx.auth import Principal, Role, policy
from ccx.exchange import (
    Allocation,
    AllocationStatus,
    Request,
    RequestStatus,
    RoundParameters,
    queries,
    rounds,
    service,
)
from ccx.exchange.problem import Plan
from ccx.exchange.rounds import Gathered, RoundInfeasibleError
from ccx.ids import ID_MAX
from ccx.programs import InvalidRequestError
from ccx.programs import queries as programme_queries
from ccx.registry import OrgKind
from ccx.registry import queries as registry_queries

T = TypeVar("T")
HOUR_NS = 3600 * 1_000_000_000
SCORES_MAX = 100

router = APIRouter(prefix=EXCHANGE_PREFIX, tags=["exchange"], responses=error_responses(401, 422))
OptionalId = Annotated[int | None, Query(ge=1, le=ID_MAX)]


def _scope(
    principal: Principal, integrator_id: int | None, firm_id: int | None
) -> tuple[int | None, int | None]:
    """The (integrator, firm) filters a principal may list with: read-all roles any; an
    integrator its own, a firm what its credits pay for (their other filter kept)."""
    if policy.can_read_everything(principal):
        return integrator_id, firm_id
    if principal.org_id is None:
        raise forbidden(f"a {principal.role.value} key without an organisation may not list")
    if principal.role is Role.INTEGRATOR:
        return principal.org_id, firm_id
    if principal.role is Role.FIRM:
        return integrator_id, principal.org_id
    raise forbidden(f"a {principal.role.value} key may not list these")


# --- requests --------------------------------------------------------------------------------


@router.post("/requests", status_code=201, responses=error_responses(403, 404, 409))
def post_request(body: RequestIn, context: Context, principal: CurrentPrincipal) -> RequestOut:
    """The integrator a mandate names files a compute request under it. The same key under
    the same mandate again answers the same request; other fields answer 409."""
    with context.database.read() as session:
        mandate = programme_queries.get_mandate(session, body.mandate_id)
    if mandate is None:
        raise not_found("mandate", body.mandate_id)
    if not policy.can_file_request(principal, mandate.integrator_id):
        raise forbidden("only the integrator the mandate names files requests under it")
    new = body.to_new()
    request = write_or_answer(context, lambda s: service.file_request(s, new, context.clock))
    return RequestOut.of(request)


@router.get("/requests", responses=error_responses(403))
def get_requests(
    *,
    context: Context,
    principal: CurrentPrincipal,
    status: RequestStatus | None = None,
    integrator_id: OptionalId = None,
    firm_id: OptionalId = None,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[RequestOut]:
    """Requests in id order. An integrator key sees its own; a firm key those on its
    mandates."""
    integrator_id, firm_id = _scope(principal, integrator_id, firm_id)
    with context.database.read() as session:
        found = queries.list_requests(
            session,
            limit=limit,
            after_id=after_id,
            status=status,
            integrator_id=integrator_id,
            firm_id=firm_id,
        )
    return Page[RequestOut](
        items=[RequestOut.of(request) for request in found],
        next_after_id=next_after_id(found, limit),
    )


def _readable_request(context: ApiContext, principal: Principal, request_id: int) -> Request:
    with context.database.read() as session:
        request = queries.get_request(session, request_id)
    if request is None:
        raise not_found("request", request_id)
    if not policy.can_read_exchange_item(principal, request.firm_id, request.integrator_id):
        raise forbidden(f"request {request_id} is another organisation's")
    return request


@router.get("/requests/{request_id}", responses=error_responses(403, 404))
def get_request(request_id: IdPath, context: Context, principal: CurrentPrincipal) -> RequestOut:
    return RequestOut.of(_readable_request(context, principal, request_id))


@router.post("/requests/{request_id}/cancel", responses=error_responses(403, 404))
def post_cancellation(
    request_id: IdPath, context: Context, principal: CurrentPrincipal
) -> RequestOut:
    """The integrator that filed it withdraws a request from later rounds; allocations already
    made stand. Cancelling again changes nothing."""
    request = _readable_request(context, principal, request_id)
    if not policy.can_file_request(principal, request.integrator_id):
        raise forbidden("only the integrator that filed a request cancels it")
    cancelled = write_or_answer(context, lambda s: service.cancel_request(s, request_id=request_id))
    return RequestOut.of(cancelled)


# --- rounds ----------------------------------------------------------------------------------


def _infeasible(error: RoundInfeasibleError) -> ApiError:
    return ApiError(409, "round_infeasible", str(error), details=list(error.reasons))


def _feasible(clear: Callable[[], T]) -> T:
    """Run a clearing; a round the policy cannot clear answers 409 with the reasons."""
    try:
        return clear()
    except RoundInfeasibleError as error:
        raise _infeasible(error) from error


def _dry_run(context: ApiContext, parameters: RoundParameters) -> tuple[Gathered, Plan]:
    """The plan and prices a round would commit, in a read transaction."""
    try:
        with context.database.read() as session:
            return _feasible(lambda: rounds.plan_round(session, parameters, context.clock))
    except InvalidRequestError as error:
        raise ApiError(422, "invalid_input", str(error), details=list(error.problems)) from error


@router.post("/rounds", status_code=201, responses=error_responses(403, 409))
def post_round(
    body: RoundIn, response: Response, context: Context, _principal: CapacityManager
) -> ClearingOut:
    """Clear a round: allocate the period's capacity among the open requests, price every
    pool and slot, and hold the credits of every allocation, in one transaction. With
    `dry_run`, answer (200) the plan and prices without committing anything. A round the
    policy cannot clear answers 409 `round_infeasible` with the reasons."""
    start_ns = body.start_ns
    if start_ns is None:
        start_ns = (context.clock.now_ns() // HOUR_NS + 1) * HOUR_NS
    parameters = body.to_parameters(start_ns)
    if body.dry_run:
        response.status_code = 200
        return ClearingOut.planned(*_dry_run(context, parameters))
    outcome = write_or_answer(
        context,
        lambda s: _feasible(lambda: rounds.clear_round(s, parameters, context.clock)),
    )
    return ClearingOut.committed(outcome)


@router.get("/rounds")
def get_rounds(
    *,
    context: Context,
    _principal: CurrentPrincipal,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[RoundOut]:
    """Committed rounds in id order, with their figures and prices."""
    with context.database.read() as session:
        found = queries.list_rounds(session, limit=limit, after_id=after_id)
    return Page[RoundOut](
        items=[RoundOut.of(item) for item in found], next_after_id=next_after_id(found, limit)
    )


@router.get("/rounds/{round_id}", responses=error_responses(404))
def get_round(round_id: IdPath, context: Context, _principal: CurrentPrincipal) -> RoundOut:
    with context.database.read() as session:
        found = queries.get_round(session, round_id)
    if found is None:
        raise not_found("round", round_id)
    return RoundOut.of(found)


# --- allocations, reclaim, scores ------------------------------------------------------------


@router.get("/allocations", responses=error_responses(403))
def get_allocations(
    *,
    context: Context,
    principal: CurrentPrincipal,
    round_id: OptionalId = None,
    request_id: OptionalId = None,
    integrator_id: OptionalId = None,
    firm_id: OptionalId = None,
    status: AllocationStatus | None = None,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[AllocationOut]:
    """Allocations in id order, each with its explanation. An integrator key sees its own; a
    firm key those held on its credits."""
    integrator_id, firm_id = _scope(principal, integrator_id, firm_id)
    with context.database.read() as session:
        found = queries.list_allocations(
            session,
            limit=limit,
            after_id=after_id,
            round_id=round_id,
            request_id=request_id,
            integrator_id=integrator_id,
            firm_id=firm_id,
            status=status,
        )
    return Page[AllocationOut](
        items=[AllocationOut.of(item) for item in found], next_after_id=next_after_id(found, limit)
    )


def _readable_allocation(
    context: ApiContext, principal: Principal, allocation_id: int
) -> Allocation:
    with context.database.read() as session:
        allocation = queries.get_allocation(session, allocation_id)
    if allocation is None:
        raise not_found("allocation", allocation_id)
    if not policy.can_read_exchange_item(principal, allocation.firm_id, allocation.integrator_id):
        raise forbidden(f"allocation {allocation_id} is another organisation's")
    return allocation


@router.get("/allocations/{allocation_id}", responses=error_responses(403, 404))
def get_allocation(
    allocation_id: IdPath, context: Context, principal: CurrentPrincipal
) -> AllocationOut:
    """An allocation with its explanation: which pool and why, what a credit buys on every
    alternative, the binding constraints, its price against the locked rate, its slots."""
    return AllocationOut.of(_readable_allocation(context, principal, allocation_id))


@router.post("/reclaim", responses=error_responses(403))
def post_reclaim(context: Context, _principal: CapacityManager) -> ReclaimOut:
    """Reclaim (one batch of) allocations with no job started within their grace period:
    void their holds and free their capacity and work for the next round."""
    reclaimed = write_or_answer(context, lambda s: rounds.reclaim_idle(s, context.clock))
    return ReclaimOut(
        reclaimed=[AllocationOut.of(item) for item in reclaimed],
        released_micro=sum(item.amount_micro for item in reclaimed),
    )


def _scored_ids(context: ApiContext, principal: Principal, asked: list[int]) -> list[int]:
    """The integrators whose scores to answer: those asked for (each one readable), or by
    default an integrator key's own, or for read-all roles every integrator (first page)."""
    if not asked and principal.role is Role.INTEGRATOR and principal.org_id is not None:
        asked = [principal.org_id]
    for integrator_id in asked:
        if not policy.can_read_efficiency_score(principal, integrator_id):
            raise forbidden(f"the score of integrator {integrator_id} is not yours to read")
    if asked:
        return sorted(set(asked))
    if not policy.can_read_everything(principal):
        raise forbidden(f"a {principal.role.value} key may not read efficiency scores")
    with context.database.read() as session:
        found = registry_queries.list_organisations(
            session, limit=SCORES_MAX, kind=OrgKind.INTEGRATOR
        )
    return [org.id for org in found]


@router.post("/throughputs", responses=error_responses(403))
def post_throughput(
    body: ThroughputIn, context: Context, principal: CurrentPrincipal
) -> ThroughputOut:
    """Report a throughput measured on a run; once three runs of a workload class on a type
    are known, rounds use their mean instead of what requests declare."""
    if not policy.can_report_throughput(principal, body.integrator_id):
        raise forbidden("only the integrator that ran it, or the operator, reports throughput")
    mean = write_or_answer(
        context,
        lambda s: service.learn_throughput(
            s,
            integrator_id=body.integrator_id,
            workload_class=body.workload_class,
            accelerator=body.accelerator,
            measured_milli=body.throughput_milli,
        ),
    )
    return ThroughputOut(
        integrator_id=body.integrator_id,
        workload_class=body.workload_class.strip(),
        accelerator=body.accelerator,
        mean_throughput_milli=mean,
    )


@router.get("/scores", responses=error_responses(403))
def get_scores(
    context: Context,
    principal: CurrentPrincipal,
    integrator_id: Annotated[
        list[Annotated[int, Field(ge=1, le=ID_MAX)]] | None,
        Query(max_length=SCORES_MAX, description="Repeat for several."),
    ] = None,
) -> list[ScoreOut]:
    """Efficiency scores with their explanation: read-all roles any integrator's, an
    integrator key its own."""
    ids = _scored_ids(context, principal, integrator_id or [])
    with context.database.read() as session:
        scores = queries.efficiency_scores(session, ids)
    return [ScoreOut.of(scores[item]) for item in ids]

"""Consortia: forming them, members, contributions, consortium-track applications, the shared
model register.

The administrator or the anchor firm's key forms a consortium and manages it (members,
models); the anchor applies for grants on its behalf; a member firm contributes its own
credits. Members read their consortium; read-all roles read every one.
"""

from __future__ import annotations

from fastapi import APIRouter

from ccx.api.deps import ApiContext, Context, CurrentPrincipal, forbidden, owner_scope
from ccx.api.errors import error_responses
from ccx.api.routers import API_PREFIX
from ccx.api.routers.params import PAGE_SIZE_DEFAULT, AfterId, IdPath, Limit, next_after_id
from ccx.api.routers.programmes import ProgrammeManager, not_found, write_or_answer
from ccx.api.schemas.consortia import (
    ConsortiumApplicationIn,
    ConsortiumIn,
    ConsortiumOut,
    ContributionIn,
    ContributionOut,
    MemberIn,
    PoolSweepIn,
    PoolSweepOut,
    SharedModelIn,
    SharedModelOut,
)
from ccx.api.schemas.ledger import Page
from ccx.api.schemas.programmes import ApplicationOut
from ccx.auth import Principal, policy
from ccx.consortia import Consortium, NewContribution
from ccx.consortia import queries as consortium_queries
from ccx.consortia import service as consortium_service

router = APIRouter(prefix=API_PREFIX, tags=["consortia"], responses=error_responses(401, 422))


def _readable(context: ApiContext, principal: Principal, consortium_id: int) -> Consortium:
    with context.database.read() as session:
        consortium = consortium_queries.get_consortium(session, consortium_id)
    if consortium is None:
        raise not_found("consortium", consortium_id)
    if not policy.can_read_consortium(principal, consortium.member_org_ids):
        raise forbidden(f"your organisation is not a member of consortium {consortium_id}")
    return consortium


def _managed(context: ApiContext, principal: Principal, consortium_id: int) -> Consortium:
    consortium = _readable(context, principal, consortium_id)
    if not policy.can_manage_consortium(principal, consortium.anchor_id):
        raise forbidden("only the anchor firm, or the administrator, manages a consortium")
    return consortium


@router.post("/consortia", status_code=201, responses=error_responses(403, 404, 409))
def post_consortium(
    body: ConsortiumIn, context: Context, principal: CurrentPrincipal
) -> ConsortiumOut:
    """Form a consortium around its anchor (a mid-sized firm in the industry). A refusal answers
    422 `refused` with every reason."""
    if not policy.can_manage_consortium(principal, body.anchor_id):
        raise forbidden("only the anchor firm, or the administrator, forms a consortium")
    new = body.to_new()
    consortium = write_or_answer(
        context, lambda s: consortium_service.create_consortium(s, new, context.clock)
    )
    return ConsortiumOut.of(consortium)


@router.get("/consortia", responses=error_responses(403))
def get_consortia(
    *,
    context: Context,
    principal: CurrentPrincipal,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[ConsortiumOut]:
    """Consortia in id order; firm and integrator keys see those their organisation is in."""
    member = owner_scope(principal)
    with context.database.read() as session:
        found = consortium_queries.list_consortia(
            session, limit=limit, after_id=after_id, member_org_id=member
        )
    return Page[ConsortiumOut](
        items=[ConsortiumOut.of(consortium) for consortium in found],
        next_after_id=next_after_id(found, limit),
    )


@router.get("/consortia/{consortium_id}", responses=error_responses(403, 404))
def get_consortium(
    consortium_id: IdPath, context: Context, principal: CurrentPrincipal
) -> ConsortiumOut:
    """A consortium with its members and its pools (one per programme)."""
    consortium = _readable(context, principal, consortium_id)
    with context.database.read() as session:
        pools = consortium_queries.list_pools(session, consortium_id)
    return ConsortiumOut.of(consortium, pools)


@router.post("/consortia/pools/expire", responses=error_responses(403))
def post_pool_expiry(
    body: PoolSweepIn, context: Context, _principal: ProgrammeManager
) -> PoolSweepOut:
    """Sweep one batch of consortium pools past their expiry to their programme's expired
    account (as `/lots/expire` sweeps lots); repeat with `next_after_account_id` until it is
    null."""
    sweep = write_or_answer(
        context,
        lambda s: consortium_service.expire_pools(
            s, clock=context.clock, after_account_id=body.after_account_id
        ),
    )
    return PoolSweepOut.of(sweep)


@router.post(
    "/consortia/{consortium_id}/members", status_code=201, responses=error_responses(403, 404, 409)
)
def post_member(
    consortium_id: IdPath, body: MemberIn, context: Context, principal: CurrentPrincipal
) -> ConsortiumOut:
    """Add an SME, a certified integrator, or a university researcher (a person)."""
    _managed(context, principal, consortium_id)
    consortium = write_or_answer(
        context,
        lambda s: consortium_service.add_member(
            s,
            consortium_id=consortium_id,
            role=body.role,
            member_id=body.member_id,
            clock=context.clock,
        ),
    )
    return ConsortiumOut.of(consortium)


@router.post(
    "/consortia/{consortium_id}/contributions",
    status_code=201,
    responses=error_responses(403, 404, 409),
)
def post_contribution(
    consortium_id: IdPath, body: ContributionIn, context: Context, principal: CurrentPrincipal
) -> ContributionOut:
    """A member firm moves credits from its lots (earliest expiry first) into the pool."""
    _readable(context, principal, consortium_id)
    firm_id = principal.org_id
    if firm_id is None or not policy.can_contribute_to_consortium(principal, firm_id):
        raise forbidden("only a member firm's key contributes, its own credits")
    new = NewContribution(consortium_id, body.programme_id, firm_id, body.amount_micro, body.key)
    contribution = write_or_answer(
        context, lambda s: consortium_service.contribute(s, new, context.clock)
    )
    return ContributionOut.of(contribution)


@router.get("/consortia/{consortium_id}/contributions", responses=error_responses(403, 404))
def get_contributions(
    *,
    consortium_id: IdPath,
    context: Context,
    principal: CurrentPrincipal,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[ContributionOut]:
    _readable(context, principal, consortium_id)
    with context.database.read() as session:
        found = consortium_queries.list_contributions(
            session, consortium_id=consortium_id, limit=limit, after_id=after_id
        )
    return Page[ContributionOut](
        items=[ContributionOut.of(item) for item in found],
        next_after_id=next_after_id(found, limit),
    )


@router.post(
    "/consortia/{consortium_id}/applications",
    status_code=201,
    responses=error_responses(403, 404, 409),
)
def post_consortium_application(
    consortium_id: IdPath,
    body: ConsortiumApplicationIn,
    context: Context,
    principal: CurrentPrincipal,
) -> ApplicationOut:
    """The anchor applies on the programme's consortium track; an approval funds the pool. A
    refusal is an application with decision `refused` and every reason."""
    consortium = _readable(context, principal, consortium_id)
    if not policy.can_apply_for_consortium(principal, consortium.anchor_id):
        raise forbidden("a consortium applies through its anchor firm's key")
    application = write_or_answer(
        context,
        lambda s: consortium_service.apply_for_grant(
            s,
            consortium_id=consortium_id,
            programme_id=body.programme_id,
            key=body.key,
            clock=context.clock,
        ),
    )
    return ApplicationOut.of(application)


@router.post(
    "/consortia/{consortium_id}/models", status_code=201, responses=error_responses(403, 404, 409)
)
def post_model(
    consortium_id: IdPath, body: SharedModelIn, context: Context, principal: CurrentPrincipal
) -> SharedModelOut:
    """Enter a shared model in the consortium's register."""
    _managed(context, principal, consortium_id)
    new = body.to_new(consortium_id)
    model = write_or_answer(
        context, lambda s: consortium_service.register_model(s, new, context.clock)
    )
    return SharedModelOut.of(model)


@router.get("/consortia/{consortium_id}/models", responses=error_responses(403, 404))
def get_models(
    *,
    consortium_id: IdPath,
    context: Context,
    principal: CurrentPrincipal,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[SharedModelOut]:
    _readable(context, principal, consortium_id)
    with context.database.read() as session:
        found = consortium_queries.list_models(
            session, consortium_id=consortium_id, limit=limit, after_id=after_id
        )
    return Page[SharedModelOut](
        items=[SharedModelOut.of(model) for model in found],
        next_after_id=next_after_id(found, limit),
    )

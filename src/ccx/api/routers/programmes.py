"""Programmes, applications, audits, lots, mandates and service fees.

Every key reads programmes; the administrator creates them, decides audits and sweeps expired
lots. A firm applies for itself, sees its own applications and lots, and gives and revokes its
own mandates; a consortium's anchor (or the administrator) gives and revokes mandates over the
consortium's pool, which its members read too; an integrator sees the mandates that name it
and redeems its fee under them; read-all roles see everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from ccx.api.deps import ApiContext, Context, CurrentPrincipal, forbidden, owner_scope, requires
from ccx.api.errors import ApiError, error_responses
from ccx.api.routers import API_PREFIX
from ccx.api.routers.params import PAGE_SIZE_DEFAULT, AfterId, IdPath, Limit, next_after_id
from ccx.api.schemas.ledger import Page
from ccx.api.schemas.programmes import (
    ApplicationIn,
    ApplicationOut,
    AuditIn,
    AuditOutcome,
    AuditResultOut,
    FeeIn,
    LotOut,
    LotSweepIn,
    LotSweepOut,
    MandateIn,
    MandateOut,
    ProgrammeIn,
    ProgrammeOut,
    ProgrammeReportOut,
    ReasonOut,
    SpendOut,
)
from ccx.auth import Principal, policy
from ccx.consortia import Consortium
from ccx.consortia import queries as consortium_queries
from ccx.ledger.types import LEDGER_MAX
from ccx.programs import (
    AuditStatus,
    ConflictError,
    InvalidRequestError,
    Mandate,
    NewApplication,
    NotFoundError,
    ProgrammeError,
    RefusedError,
    mandates,
    queries,
    service,
)

T = TypeVar("T")

router = APIRouter(prefix=API_PREFIX, tags=["programmes"], responses=error_responses(401, 422))
ProgrammeManager = Annotated[Principal, Depends(requires(policy.can_manage_programmes))]
ProgrammeId = Annotated[int, Query(ge=1, le=LEDGER_MAX)]

_ANSWERS: dict[type[ProgrammeError], tuple[int, str]] = {
    InvalidRequestError: (422, "invalid_input"),
    NotFoundError: (404, "not_found"),
    ConflictError: (409, "conflict"),
    RefusedError: (422, "refused"),
}


def _answer(error: ProgrammeError) -> ApiError:
    status, code = _ANSWERS[type(error)]
    details: Any = None
    if isinstance(error, InvalidRequestError):
        details = list(error.problems)
    elif isinstance(error, RefusedError):
        details = [ReasonOut.of(reason).model_dump() for reason in error.reasons]
    return ApiError(status, code, str(error), details=details)


def write_or_answer(context: ApiContext, action: Callable[[Session], T]) -> T:
    try:
        return context.database.run_write(action)
    except ProgrammeError as error:
        raise _answer(error) from error


def not_found(what: str, item_id: int) -> ApiError:
    return _answer(NotFoundError(f"no {what} {item_id}"))


@router.post("/programmes", status_code=201, responses=error_responses(403, 409))
def post_programme(
    body: ProgrammeIn, context: Context, _principal: ProgrammeManager
) -> ProgrammeOut:
    """Create a programme with its ledger and budget. The same request again answers the same
    programme; other fields under the same id or name answer 409."""
    new = body.to_new()
    programme = write_or_answer(context, lambda s: service.create_programme(s, new, context.clock))
    return ProgrammeOut.of(programme)


@router.get("/programmes")
def get_programmes(
    *,
    context: Context,
    _principal: CurrentPrincipal,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[ProgrammeOut]:
    """Programmes in id order (every key may read them)."""
    with context.database.read() as session:
        found = queries.list_programmes(session, limit=limit, after_id=after_id)
    return Page[ProgrammeOut](
        items=[ProgrammeOut.of(programme) for programme in found],
        next_after_id=next_after_id(found, limit),
    )


@router.get("/programmes/{programme_id}", responses=error_responses(404))
def get_programme(
    programme_id: IdPath, context: Context, _principal: CurrentPrincipal
) -> ProgrammeReportOut:
    """A programme with where its budget stands."""
    with context.database.read() as session:
        report = queries.programme_report(session, programme_id)
    if report is None:
        raise not_found("programme", programme_id)
    return ProgrammeReportOut.of(report)


@router.post(
    "/programmes/{programme_id}/applications",
    status_code=201,
    responses=error_responses(403, 404, 409),
)
def post_application(
    programme_id: IdPath, body: ApplicationIn, context: Context, principal: CurrentPrincipal
) -> ApplicationOut:
    """A firm applies for itself; the rules decide at once. A refusal is an application with
    decision `refused` and every reason; the same key again answers the same application."""
    firm_id = principal.org_id
    if firm_id is None or not policy.can_apply_for_grant(principal, firm_id):
        raise forbidden("only a firm key applies, for its own organisation")
    new = NewApplication(programme_id=programme_id, firm_id=firm_id, key=body.key, track=body.track)
    application = write_or_answer(context, lambda s: service.apply_for_grant(s, new, context.clock))
    return ApplicationOut.of(application)


@router.get("/programmes/{programme_id}/applications", responses=error_responses(403))
def get_applications(
    *,
    programme_id: IdPath,
    context: Context,
    principal: CurrentPrincipal,
    audit_status: AuditStatus | None = None,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[ApplicationOut]:
    """Applications in id order; `audit_status=selected` lists the audit queue. Firm and
    integrator keys see only their own organisation's."""
    firm_id = owner_scope(principal)
    with context.database.read() as session:
        found = queries.list_applications(
            session,
            limit=limit,
            after_id=after_id,
            programme_id=programme_id,
            firm_id=firm_id,
            audit_status=audit_status,
        )
    return Page[ApplicationOut](
        items=[ApplicationOut.of(application) for application in found],
        next_after_id=next_after_id(found, limit),
    )


@router.get("/applications/{application_id}", responses=error_responses(403, 404))
def get_application(
    application_id: IdPath, context: Context, principal: CurrentPrincipal
) -> ApplicationOut:
    with context.database.read() as session:
        application = queries.get_application(session, application_id)
    if application is None:
        raise not_found("application", application_id)
    if not policy.can_read_owned(principal, application.firm_id):
        raise forbidden(f"application {application_id} is another organisation's")
    return ApplicationOut.of(application)


@router.post("/applications/{application_id}/audit", responses=error_responses(403, 404, 409))
def post_audit(
    application_id: IdPath, body: AuditIn, context: Context, _principal: ProgrammeManager
) -> AuditResultOut:
    """Decide an audit. `fail` claws back the unspent credits of every lot the firm holds in
    the programme and reports what was spent or held. The same outcome again changes nothing."""
    decide = service.pass_audit if body.outcome is AuditOutcome.PASS else service.fail_audit
    result = write_or_answer(
        context,
        lambda s: decide(s, application_id=application_id, note=body.note, clock=context.clock),
    )
    return AuditResultOut.of(result)


@router.get("/programmes/{programme_id}/lots", responses=error_responses(403))
def get_lots(
    *,
    programme_id: IdPath,
    context: Context,
    principal: CurrentPrincipal,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[LotOut]:
    """Lots (grants) with their balances, in id order. Firm and integrator keys see only their
    own organisation's."""
    firm_id = owner_scope(principal)
    with context.database.read() as session:
        found = queries.list_lots(
            session, limit=limit, after_id=after_id, programme_id=programme_id, firm_id=firm_id
        )
    return Page[LotOut](
        items=[LotOut.of(lot) for lot in found],
        next_after_id=found[-1].account_id if len(found) == limit else None,
    )


@router.post("/lots/expire", responses=error_responses(403))
def post_lot_expiry(
    body: LotSweepIn, context: Context, _principal: ProgrammeManager
) -> LotSweepOut:
    """Sweep one batch of lots past their expiry to their programme's expired account and close
    them; repeat with `next_after_lot_id` until it is null."""
    sweep = write_or_answer(
        context,
        lambda s: service.expire_lots(s, clock=context.clock, after_lot_id=body.after_lot_id),
    )
    return LotSweepOut.of(sweep)


@router.post("/mandates", status_code=201, responses=error_responses(403, 404, 409))
def post_mandate(body: MandateIn, context: Context, principal: CurrentPrincipal) -> MandateOut:
    """A firm gives a certified, unrelated integrator a mandate over its credits; with
    `consortium_id`, the consortium's anchor (or the administrator) gives one over the
    consortium's pool. A refusal answers 422 `refused` with every reason; the same key again
    answers the same mandate."""
    new = body.to_new(_granter(context, principal, body.consortium_id))
    mandate = write_or_answer(context, lambda s: mandates.grant_mandate(s, new, context.clock))
    return MandateOut.of(mandate)


def _consortium(context: ApiContext, consortium_id: int) -> Consortium:
    with context.database.read() as session:
        consortium = consortium_queries.get_consortium(session, consortium_id)
    if consortium is None:
        raise not_found("consortium", consortium_id)
    return consortium


def _granter(context: ApiContext, principal: Principal, consortium_id: int | None) -> int:
    """The firm in whose name a mandate is given: the caller's own, or for a mandate over a
    consortium's pool the consortium's anchor."""
    if consortium_id is None:
        firm_id = principal.org_id
        if firm_id is None or not policy.can_grant_mandate(principal, firm_id):
            raise forbidden("only a firm key gives mandates, over its own credits")
        return firm_id
    consortium = _consortium(context, consortium_id)
    if not policy.can_grant_consortium_mandate(principal, consortium.anchor_id):
        raise forbidden("only the anchor firm, or the administrator, gives consortium mandates")
    return consortium.anchor_id


@router.get("/mandates", responses=error_responses(403, 404))
def get_mandates(
    *,
    context: Context,
    principal: CurrentPrincipal,
    programme_id: ProgrammeId | None = None,
    consortium_id: Annotated[int | None, Query(ge=1)] = None,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[MandateOut]:
    """Mandates in id order. Firm and integrator keys see the ones naming their organisation;
    with `consortium_id`, the consortium's mandates over its pool, for its members."""
    if consortium_id is None:
        party_id = owner_scope(principal)
    else:
        consortium = _consortium(context, consortium_id)
        if not policy.can_read_consortium(principal, consortium.member_org_ids):
            raise forbidden(f"your organisation is not a member of consortium {consortium_id}")
        party_id = None
    with context.database.read() as session:
        found = queries.list_mandates(
            session,
            limit=limit,
            after_id=after_id,
            programme_id=programme_id,
            party_id=party_id,
            consortium_id=consortium_id,
        )
    return Page[MandateOut](
        items=[MandateOut.of(mandate) for mandate in found],
        next_after_id=next_after_id(found, limit),
    )


def _readable_mandate(context: ApiContext, principal: Principal, mandate_id: int) -> Mandate:
    with context.database.read() as session:
        mandate = queries.get_mandate(session, mandate_id)
    if mandate is None:
        raise not_found("mandate", mandate_id)
    if mandate.consortium_id is not None:
        members = _consortium(context, mandate.consortium_id).member_org_ids
        if not policy.can_read_consortium_mandate(principal, members, mandate.integrator_id):
            raise forbidden(f"mandate {mandate_id} is over a consortium you are not in")
    elif not policy.can_read_mandate(principal, mandate.firm_id, mandate.integrator_id):
        raise forbidden(f"mandate {mandate_id} names neither your organisation")
    return mandate


@router.get("/mandates/{mandate_id}", responses=error_responses(403, 404))
def get_mandate(mandate_id: IdPath, context: Context, principal: CurrentPrincipal) -> MandateOut:
    return MandateOut.of(_readable_mandate(context, principal, mandate_id))


@router.post("/mandates/{mandate_id}/revoke", responses=error_responses(403, 404))
def post_mandate_revocation(
    mandate_id: IdPath, context: Context, principal: CurrentPrincipal
) -> MandateOut:
    """Revoke a mandate (the firm that gave it, or the administrator). Revoking again changes
    nothing."""
    mandate = _readable_mandate(context, principal, mandate_id)
    if not policy.can_revoke_mandate(principal, mandate.firm_id):
        raise forbidden("only the firm that gave the mandate, or the administrator, revokes it")
    revoked = write_or_answer(
        context, lambda s: mandates.revoke_mandate(s, mandate_id=mandate_id, clock=context.clock)
    )
    return MandateOut.of(revoked)


@router.get("/mandates/{mandate_id}/spends", responses=error_responses(403, 404))
def get_spends(
    *,
    mandate_id: IdPath,
    context: Context,
    principal: CurrentPrincipal,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[SpendOut]:
    """Compute spends and fees drawn under a mandate, in id order."""
    _readable_mandate(context, principal, mandate_id)
    with context.database.read() as session:
        found = queries.list_spends(session, mandate_id=mandate_id, limit=limit, after_id=after_id)
    return Page[SpendOut](
        items=[SpendOut.of(spend) for spend in found], next_after_id=next_after_id(found, limit)
    )


@router.post(
    "/mandates/{mandate_id}/fees", status_code=201, responses=error_responses(403, 404, 409)
)
def post_fee(
    mandate_id: IdPath, body: FeeIn, context: Context, principal: CurrentPrincipal
) -> SpendOut:
    """The integrator named in the mandate redeems its service fee (up to the programme's
    service share of the cap) into its payable account; the answer gives it in KRW too."""
    mandate = _readable_mandate(context, principal, mandate_id)
    if not policy.can_redeem_service_fee(principal, mandate.integrator_id):
        raise forbidden("only the integrator named in the mandate redeems its fee")
    spend = write_or_answer(
        context,
        lambda s: mandates.redeem_service_fee(
            s,
            mandate_id=mandate_id,
            amount_micro=body.amount_micro,
            transfer_key=body.key,
            clock=context.clock,
        ),
    )
    return SpendOut.of(spend)

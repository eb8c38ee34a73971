"""Organisations, people, SME eligibility and integrator certification.

The administrator writes; read-all roles read everything; firm and integrator keys read only
their own organisation (and its people). Certification status is readable by firms too, since
they choose which integrator to mandate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ccx.api.deps import ApiContext, Context, CurrentPrincipal, forbidden, owner_scope, requires
from ccx.api.errors import ApiError, error_responses
from ccx.api.routers import API_PREFIX
from ccx.api.routers.params import PAGE_SIZE_DEFAULT, AfterId, IdPath, Limit, next_after_id
from ccx.api.schemas.common import ErrorBody
from ccx.api.schemas.ledger import Page
from ccx.api.schemas.registry import (
    CertificationOut,
    ConflictsOut,
    EligibilityOut,
    ImportOut,
    OrganisationIn,
    OrganisationOut,
    PersonIn,
    PersonOut,
    ReasonIn,
    RowErrorOut,
    UntilIn,
)
from ccx.auth import Principal, policy
from ccx.ids import ID_MAX
from ccx.registry import (
    Certification,
    CertificationTransitionError,
    DuplicateOrganisationError,
    DuplicatePersonError,
    InvalidInputError,
    NotAnIntegratorError,
    Organisation,
    OrganisationNotFoundError,
    OrgKind,
    Region,
    RegistryError,
    RulesNotInForceError,
    queries,
    service,
)
from ccx.registry.eligibility import check_sme, size_class
from ccx.registry.importer import import_csv

IMPORT_BYTES_MAX = 16 * 1024 * 1024
T = TypeVar("T")

router = APIRouter(prefix=API_PREFIX, tags=["registry"], responses=error_responses(401, 422))
RegistryManager = Annotated[Principal, Depends(requires(policy.can_manage_registry))]
ReadAll = Annotated[Principal, Depends(requires(policy.can_read_everything))]

_ANSWERS: dict[type[RegistryError], tuple[int, str]] = {
    InvalidInputError: (422, "invalid_input"),
    DuplicateOrganisationError: (409, "duplicate_organisation"),
    DuplicatePersonError: (409, "duplicate_person"),
    OrganisationNotFoundError: (404, "organisation_not_found"),
    NotAnIntegratorError: (422, "not_an_integrator"),
    CertificationTransitionError: (409, "illegal_transition"),
    RulesNotInForceError: (422, "rules_not_in_force"),
}


def _answer(error: RegistryError) -> ApiError:
    status, code = next(
        (_ANSWERS[kind] for kind in type(error).__mro__ if kind in _ANSWERS),
        (500, "internal_error"),
    )
    details = None
    if isinstance(error, InvalidInputError):
        details = [{"field": p.field, "message": p.message} for p in error.problems]
    return ApiError(status, code, str(error), details=details)


def _write(context: ApiContext, action: Callable[[Session], T]) -> T:
    try:
        return context.database.run_write(action)
    except RegistryError as error:
        raise _answer(error) from error


def _readable_organisation(context: ApiContext, principal: Principal, org_id: int) -> Organisation:
    with context.database.read() as session:
        organisation = queries.get_organisation(session, org_id)
    if organisation is None:
        raise _answer(OrganisationNotFoundError(f"no organisation {org_id}"))
    if not policy.can_read_owned(principal, org_id):
        raise forbidden(f"organisation {org_id} is not yours")
    return organisation


@router.post("/organisations", status_code=201, responses=error_responses(403, 409))
def post_organisation(
    body: OrganisationIn, context: Context, _principal: RegistryManager
) -> OrganisationOut:
    """Register an organisation; every invalid field is listed in the error's details."""
    new = body.to_new()
    organisation = _write(
        context, lambda session: service.register_organisation(session, new, context.clock)
    )
    return OrganisationOut.of(organisation)


def _own_page(
    own: Organisation | None, after_id: int, kind: OrgKind | None, region: Region | None
) -> list[Organisation]:
    """The one-item list page of a firm or integrator key: its own organisation, if it fits."""
    if own is None or own.id <= after_id:
        return []
    if kind not in (None, own.kind) or region not in (None, own.region):
        return []
    return [own]


@router.get("/organisations", responses=error_responses(403))
def get_organisations(
    *,
    context: Context,
    principal: CurrentPrincipal,
    kind: OrgKind | None = None,
    region: Region | None = None,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[OrganisationOut]:
    """Organisations in id order. Firm and integrator keys see only their own."""
    own = owner_scope(principal)
    with context.database.read() as session:
        if own is None:
            found = queries.list_organisations(
                session, limit=limit, after_id=after_id, kind=kind, region=region
            )
        else:
            found = _own_page(queries.get_organisation(session, own), after_id, kind, region)
    return Page[OrganisationOut](
        items=[OrganisationOut.of(org) for org in found],
        next_after_id=next_after_id(found, limit),
    )


@router.get("/organisations/{org_id}", responses=error_responses(403, 404))
def get_organisation(
    org_id: IdPath, context: Context, principal: CurrentPrincipal
) -> OrganisationOut:
    """One organisation with its shareholders."""
    return OrganisationOut.of(_readable_organisation(context, principal, org_id))


@router.get("/organisations/{org_id}/eligibility", responses=error_responses(403, 404))
def get_eligibility(
    org_id: IdPath,
    context: Context,
    principal: CurrentPrincipal,
    on: Annotated[date | None, Query(description="The day to test (default: today).")] = None,
) -> EligibilityOut:
    """The SME test on the organisation's declared data, with every reason it fails."""
    organisation = _readable_organisation(context, principal, org_id)
    day = on or service.utc_today(context.clock)
    try:
        decision = check_sme(organisation, on=day)
    except RulesNotInForceError as error:
        raise _answer(error) from error
    return EligibilityOut.of(org_id, day, decision, size_class(organisation, on=day))


_CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "UTF-8 CSV with a header row; columns in docs/registry.md.",
    }
}


async def _csv_text(request: Request) -> str:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "text/csv":
        raise ApiError(415, "unsupported_media_type", "send the file as Content-Type: text/csv")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > IMPORT_BYTES_MAX:
            raise ApiError(413, "too_large", f"a CSV file holds at most {IMPORT_BYTES_MAX} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(422, "not_utf8", f"the file is not UTF-8: {error}") from error


@router.post(
    "/organisations/import",
    status_code=201,
    openapi_extra=_CSV_BODY,
    responses={
        413: {"model": ErrorBody, "description": "The file is over 16 MiB."},
        415: {"model": ErrorBody, "description": "The body is not text/csv."},
        **error_responses(403, 409),
    },
)
async def post_import(request: Request, context: Context, _principal: RegistryManager) -> ImportOut:
    """Register every organisation of a CSV file, or none: on any error, 422 with one entry
    per problem (row, column, message) in the details."""
    text = await _csv_text(request)
    report = await run_in_threadpool(
        context.database.run_write, lambda session: import_csv(session, text, context.clock)
    )
    if not report.ok:
        raise ApiError(
            422,
            "import_rejected",
            f"{len(report.errors)} problem(s) found; nothing was imported",
            details=[RowErrorOut.of(error).model_dump() for error in report.errors],
        )
    return ImportOut.of(report)


@router.post("/people", status_code=201, responses=error_responses(403, 404, 409))
def post_person(body: PersonIn, context: Context, _principal: RegistryManager) -> PersonOut:
    """Add a person to an organisation (the same email may belong to several organisations)."""
    person = _write(
        context,
        lambda session: service.add_person(
            session,
            name=body.name,
            email=body.email,
            org_id=body.org_id,
            role=body.role,
            clock=context.clock,
        ),
    )
    return PersonOut.of(person)


@router.get("/people", responses=error_responses(403))
def get_people(
    *,
    context: Context,
    principal: CurrentPrincipal,
    org_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[PersonOut]:
    """People in id order. Firm and integrator keys see only their organisation's."""
    own = owner_scope(principal)
    if own is not None and org_id not in (None, own):
        raise forbidden(f"organisation {org_id} is not yours")
    with context.database.read() as session:
        people = queries.list_people(
            session, limit=limit, after_id=after_id, org_id=own if own is not None else org_id
        )
    return Page[PersonOut](
        items=[PersonOut.of(person) for person in people],
        next_after_id=next_after_id(people, limit),
    )


def _certification_out(context: ApiContext, certification: Certification) -> CertificationOut:
    with context.database.read() as session:
        history = queries.certification_history(session, certification.integrator_id)
    return CertificationOut.of(certification, service.utc_today(context.clock), history)


@router.get("/integrators/{integrator_id}/certification", responses=error_responses(403, 404))
def get_certification(
    integrator_id: IdPath, context: Context, principal: CurrentPrincipal
) -> CertificationOut:
    """The integrator's certification and its history."""
    if not policy.can_read_certification(principal, integrator_id):
        raise forbidden(f"a {principal.role.value} key may not read this certification")
    with context.database.read() as session:
        certification = queries.get_certification(session, integrator_id)
    if certification is None:
        raise ApiError(
            404, "certification_not_found", f"integrator {integrator_id} has not applied"
        )
    return _certification_out(context, certification)


@router.post(
    "/integrators/{integrator_id}/certification/apply",
    status_code=201,
    responses=error_responses(403, 404, 409),
)
def post_apply(
    integrator_id: IdPath, context: Context, principal: CurrentPrincipal
) -> CertificationOut:
    """Apply for certification: the administrator, or the integrator for itself."""
    if not policy.can_apply_for_certification(principal, integrator_id):
        raise forbidden(
            f"a {principal.role.value} key may not apply for integrator {integrator_id}"
        )
    certification = _write(
        context,
        lambda session: service.apply_for_certification(session, integrator_id, context.clock),
    )
    return _certification_out(context, certification)


_DECISION_ERRORS = error_responses(403, 404, 409)


@router.post("/integrators/{integrator_id}/certification/certify", responses=_DECISION_ERRORS)
def post_certify(
    integrator_id: IdPath, body: UntilIn, context: Context, _principal: RegistryManager
) -> CertificationOut:
    """Certify an applicant, or reinstate a suspended integrator, until a day."""
    certification = _write(
        context,
        lambda session: service.certify(
            session, integrator_id, until=body.until, clock=context.clock
        ),
    )
    return _certification_out(context, certification)


@router.post("/integrators/{integrator_id}/certification/renew", responses=_DECISION_ERRORS)
def post_renew(
    integrator_id: IdPath, body: UntilIn, context: Context, _principal: RegistryManager
) -> CertificationOut:
    """Extend a certification to a later day."""
    certification = _write(
        context,
        lambda session: service.renew(
            session, integrator_id, until=body.until, clock=context.clock
        ),
    )
    return _certification_out(context, certification)


@router.post("/integrators/{integrator_id}/certification/suspend", responses=_DECISION_ERRORS)
def post_suspend(
    integrator_id: IdPath, body: ReasonIn, context: Context, _principal: RegistryManager
) -> CertificationOut:
    """Suspend a certified integrator (certify reinstates it)."""
    certification = _write(
        context,
        lambda session: service.suspend(
            session, integrator_id, reason=body.reason, clock=context.clock
        ),
    )
    return _certification_out(context, certification)


@router.post("/integrators/{integrator_id}/certification/revoke", responses=_DECISION_ERRORS)
def post_revoke(
    integrator_id: IdPath, body: ReasonIn, context: Context, _principal: RegistryManager
) -> CertificationOut:
    """Revoke a certification or an application for good."""
    certification = _write(
        context,
        lambda session: service.revoke(
            session, integrator_id, reason=body.reason, clock=context.clock
        ),
    )
    return _certification_out(context, certification)


@router.get("/integrators/{integrator_id}/conflicts", responses=error_responses(403, 404))
def get_conflicts(
    integrator_id: IdPath,
    context: Context,
    _principal: ReadAll,
    firm_id: Annotated[int, Query(ge=1, le=ID_MAX)],
) -> ConflictsOut:
    """Whether the integrator is related to the firm (shareholders, officers, address)."""
    try:
        with context.database.read() as session:
            reasons = queries.conflict_of_interest_reasons(
                session, firm_id=firm_id, integrator_id=integrator_id
            )
    except OrganisationNotFoundError as error:
        raise _answer(error) from error
    return ConflictsOut(
        firm_id=firm_id, integrator_id=integrator_id, related=bool(reasons), reasons=reasons
    )

"""Registry writes. Each takes a session inside an open transaction and never commits.

Certification is a state machine; every change is also written to the events table:

    (none) --apply--> applied --certify--> certified --suspend--> suspended
                                            |  ^ renew              | certify (reinstate)
                                            +--+                    v
    applied, certified, suspended --revoke--> revoked (final)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.clock import NS_PER_S, Clock
from ccx.registry.brn import format_brn
from ccx.registry.errors import (
    CertificationTransitionError,
    DuplicateOrganisationError,
    DuplicatePersonError,
    FieldProblem,
    InvalidInputError,
    NotAnIntegratorError,
)
from ccx.registry.models import (
    CertificationEventRow,
    CertificationRow,
    OrganisationRow,
    PersonRow,
    ShareholderRow,
)
from ccx.registry.queries import (
    certification_from_row,
    get_organisation,
    person_from_row,
    require_organisation,
)
from ccx.registry.types import (
    Certification,
    CertificationStatus,
    NewOrganisation,
    Organisation,
    OrgKind,
    Person,
    PersonRole,
)
from ccx.registry.validation import normalise_organisation, person_fields, reason_text

APPLIED = CertificationStatus.APPLIED
CERTIFIED = CertificationStatus.CERTIFIED
SUSPENDED = CertificationStatus.SUSPENDED
REVOKED = CertificationStatus.REVOKED


def utc_today(clock: Clock) -> date:
    """The clock's current day in UTC."""
    return datetime.fromtimestamp(clock.now_ns() // NS_PER_S, tz=UTC).date()


def register_organisation(session: Session, new: NewOrganisation, clock: Clock) -> Organisation:
    """Check and register an organisation with its shareholders.

    Raises InvalidInputError (every problem listed) or DuplicateOrganisationError.
    """
    clean = normalise_organisation(new, today=utc_today(clock))
    existing = session.scalar(sa.select(OrganisationRow.id).where(OrganisationRow.brn == clean.brn))
    if existing is not None:
        raise DuplicateOrganisationError(
            f"business registration number {format_brn(clean.brn)} is registered already"
            f" (organisation {existing})"
        )
    organisation = get_organisation(session, insert_organisation(session, clean, clock))
    assert organisation is not None
    return organisation


def insert_organisation(session: Session, clean: NewOrganisation, clock: Clock) -> int:
    """Insert an organisation that `normalise_organisation` has checked; returns its id."""
    row = OrganisationRow(
        kind=clean.kind.value,
        brn=clean.brn,
        name=clean.name,
        region=clean.region.value,
        ksic_code=clean.ksic_code,
        address=clean.address,
        contact_email=clean.contact_email,
        sales_3y_avg_krw=clean.sales_3y_avg_krw,
        total_assets_krw=clean.total_assets_krw,
        employees=clean.employees,
        founded_on=clean.founded_on,
        youth_led=clean.youth_led,
        business_group=clean.business_group,
        registered_at_ns=clock.now_ns(),
    )
    session.add(row)
    session.flush()
    session.add_all(
        ShareholderRow(
            org_id=row.id,
            holder_name=holder.holder_name,
            holder_brn=holder.holder_brn,
            share_bp=holder.share_bp,
            is_corporation=holder.is_corporation,
            holder_total_assets_krw=holder.holder_total_assets_krw,
            is_largest=holder.is_largest,
        )
        for holder in clean.shareholders
    )
    session.flush()
    return row.id


def add_person(
    session: Session,
    *,
    name: str,
    email: str,
    org_id: int,
    role: PersonRole,
    clock: Clock,  # noqa: ARG001 - every registry write takes the clock; people carry no time yet
) -> Person:
    """Add a person to an organisation. One person may hold roles in several organisations
    (a row each, the same email); an email appears once per organisation."""
    clean_name, clean_email = person_fields(name=name, email=email)
    require_organisation(session, org_id)
    taken = session.scalar(
        sa.select(PersonRow.id).where(PersonRow.org_id == org_id, PersonRow.email == clean_email)
    )
    if taken is not None:
        raise DuplicatePersonError(
            f"{clean_email} belongs to organisation {org_id} already (person {taken})"
        )
    row = PersonRow(name=clean_name, email=clean_email, org_id=org_id, role=role.value)
    session.add(row)
    session.flush()
    return person_from_row(row)


def _integrator_certification(session: Session, integrator_id: int) -> CertificationRow | None:
    organisation = require_organisation(session, integrator_id)
    if organisation.kind is not OrgKind.INTEGRATOR:
        raise NotAnIntegratorError(
            f"organisation {integrator_id} is of kind {organisation.kind.value!r};"
            " only integrators are certified"
        )
    return session.get(CertificationRow, integrator_id, with_for_update=True)


def _refuse(action: str, integrator_id: int, status: CertificationStatus | None) -> NoReturn:
    current = "has not applied" if status is None else f"is {status.value}"
    raise CertificationTransitionError(
        f"cannot {action} integrator {integrator_id}: its certification {current}"
    )


def _record(
    session: Session,
    row: CertificationRow,
    *,
    status: CertificationStatus,
    until: date | None,
    reason: str,
    clock: Clock,
) -> Certification:
    now_ns = clock.now_ns()
    row.status = status.value
    row.certified_until = until
    row.updated_at_ns = now_ns
    session.add(
        CertificationEventRow(
            integrator_id=row.integrator_id,
            status=status.value,
            certified_until=until,
            reason=reason,
            timestamp_ns=now_ns,
        )
    )
    session.flush()
    return certification_from_row(row)


def _check_until(until: date, *, after: date, what: str) -> None:
    if until <= after:
        raise InvalidInputError(
            [FieldProblem("until", f"{until.isoformat()} must be after {what} ({after})")]
        )


def apply_for_certification(session: Session, integrator_id: int, clock: Clock) -> Certification:
    """An integrator applies; its certification starts as applied."""
    existing = _integrator_certification(session, integrator_id)
    if existing is not None:
        _refuse("take an application from", integrator_id, CertificationStatus(existing.status))
    row = CertificationRow(integrator_id=integrator_id)
    session.add(row)
    return _record(session, row, status=APPLIED, until=None, reason="application", clock=clock)


def _row_in(
    session: Session, integrator_id: int, action: str, allowed: frozenset[CertificationStatus]
) -> CertificationRow:
    row = _integrator_certification(session, integrator_id)
    status = None if row is None else CertificationStatus(row.status)
    if row is None or status not in allowed:
        _refuse(action, integrator_id, status)
    return row


def certify(session: Session, integrator_id: int, *, until: date, clock: Clock) -> Certification:
    """Certify an applicant, or reinstate a suspended integrator, until `until` (inclusive)."""
    row = _row_in(session, integrator_id, "certify", frozenset({APPLIED, SUSPENDED}))
    _check_until(until, after=utc_today(clock), what="today")
    return _record(session, row, status=CERTIFIED, until=until, reason="certification", clock=clock)


def renew(session: Session, integrator_id: int, *, until: date, clock: Clock) -> Certification:
    """Extend a certification (expired or not) to a later `until`."""
    row = _row_in(session, integrator_id, "renew", frozenset({CERTIFIED}))
    current = row.certified_until
    _check_until(until, after=utc_today(clock), what="today")
    if current is not None:
        _check_until(until, after=current, what="the current expiry")
    return _record(session, row, status=CERTIFIED, until=until, reason="renewal", clock=clock)


def suspend(session: Session, integrator_id: int, *, reason: str, clock: Clock) -> Certification:
    """Suspend a certified integrator; `certify` reinstates it."""
    text = reason_text(reason)
    row = _row_in(session, integrator_id, "suspend", frozenset({CERTIFIED}))
    return _record(
        session, row, status=SUSPENDED, until=row.certified_until, reason=text, clock=clock
    )


def revoke(session: Session, integrator_id: int, *, reason: str, clock: Clock) -> Certification:
    """Revoke a certification or an application for good."""
    text = reason_text(reason)
    row = _row_in(session, integrator_id, "revoke", frozenset({APPLIED, CERTIFIED, SUSPENDED}))
    return _record(session, row, status=REVOKED, until=None, reason=text, clock=clock)

"""Registry reads. They return types, never rows; every list is bounded."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.registry.brn import format_brn
from ccx.registry.errors import OrganisationNotFoundError
from ccx.registry.models import (
    CertificationEventRow,
    CertificationRow,
    OrganisationRow,
    PersonRow,
    ShareholderRow,
)
from ccx.registry.types import (
    Certification,
    CertificationEvent,
    CertificationStatus,
    Organisation,
    OrgKind,
    Person,
    PersonRole,
    Region,
    Shareholder,
)

PAGE_SIZE_MAX = 1_000


def _shareholder_from_row(row: ShareholderRow) -> Shareholder:
    return Shareholder(
        holder_name=row.holder_name,
        share_bp=row.share_bp,
        is_corporation=row.is_corporation,
        holder_brn=row.holder_brn,
        holder_total_assets_krw=row.holder_total_assets_krw,
        is_largest=row.is_largest,
    )


def _organisation_from_row(row: OrganisationRow, holders: Sequence[Shareholder]) -> Organisation:
    return Organisation(
        id=row.id,
        kind=OrgKind(row.kind),
        brn=row.brn,
        name=row.name,
        region=Region(row.region),
        ksic_code=row.ksic_code,
        address=row.address,
        contact_email=row.contact_email,
        sales_3y_avg_krw=row.sales_3y_avg_krw,
        total_assets_krw=row.total_assets_krw,
        employees=row.employees,
        founded_on=row.founded_on,
        youth_led=row.youth_led,
        business_group=row.business_group,
        shareholders=tuple(holders),
        registered_at_ns=row.registered_at_ns,
    )


def _organisations(session: Session, rows: Sequence[OrganisationRow]) -> list[Organisation]:
    holders: dict[int, list[Shareholder]] = {row.id: [] for row in rows}
    if holders:
        holder_rows = session.scalars(
            sa.select(ShareholderRow)
            .where(ShareholderRow.org_id.in_(holders))
            .order_by(ShareholderRow.id)
        )
        for holder in holder_rows:
            holders[holder.org_id].append(_shareholder_from_row(holder))
    return [_organisation_from_row(row, holders[row.id]) for row in rows]


def get_organisation(session: Session, org_id: int) -> Organisation | None:
    row = session.get(OrganisationRow, org_id)
    return None if row is None else _organisations(session, [row])[0]


def organisation_kind(session: Session, org_id: int) -> OrgKind | None:
    """An organisation's kind alone (None: no such organisation)."""
    kind = session.scalar(sa.select(OrganisationRow.kind).where(OrganisationRow.id == org_id))
    return None if kind is None else OrgKind(kind)


def organisations_by_id(session: Session, org_ids: Sequence[int]) -> dict[int, Organisation]:
    """The organisations among these ids, read together (absent ids are left out)."""
    rows = session.scalars(sa.select(OrganisationRow).where(OrganisationRow.id.in_(org_ids)))
    return {org.id: org for org in _organisations(session, list(rows))}


def require_organisation(session: Session, org_id: int) -> Organisation:
    """The organisation, or OrganisationNotFoundError."""
    organisation = get_organisation(session, org_id)
    if organisation is None:
        raise OrganisationNotFoundError(f"no organisation {org_id}")
    return organisation


def get_organisation_by_brn(session: Session, brn: str) -> Organisation | None:
    """By the ten digits of the business registration number."""
    row = session.scalar(sa.select(OrganisationRow).where(OrganisationRow.brn == brn))
    return None if row is None else _organisations(session, [row])[0]


def registered_brns(session: Session, brns: Iterable[str]) -> set[str]:
    """Which of `brns` (at most PAGE_SIZE_MAX per call) are registered already."""
    wanted = set(brns)
    assert len(wanted) <= PAGE_SIZE_MAX
    return set(
        session.scalars(sa.select(OrganisationRow.brn).where(OrganisationRow.brn.in_(wanted)))
    )


def list_organisations(
    session: Session,
    *,
    limit: int,
    after_id: int = 0,
    kind: OrgKind | None = None,
    region: Region | None = None,
) -> list[Organisation]:
    """Organisations with id > after_id, in id order (keyset paging)."""
    assert 0 < limit <= PAGE_SIZE_MAX
    statement = sa.select(OrganisationRow).where(OrganisationRow.id > after_id)
    if kind is not None:
        statement = statement.where(OrganisationRow.kind == kind.value)
    if region is not None:
        statement = statement.where(OrganisationRow.region == region.value)
    rows = session.scalars(statement.order_by(OrganisationRow.id).limit(limit)).all()
    return _organisations(session, rows)


def person_from_row(row: PersonRow) -> Person:
    return Person(
        id=row.id, name=row.name, email=row.email, org_id=row.org_id, role=PersonRole(row.role)
    )


def get_person(session: Session, person_id: int) -> Person | None:
    row = session.get(PersonRow, person_id)
    return None if row is None else person_from_row(row)


def list_people(
    session: Session, *, limit: int, after_id: int = 0, org_id: int | None = None
) -> list[Person]:
    """People with id > after_id, in id order, optionally of one organisation."""
    assert 0 < limit <= PAGE_SIZE_MAX
    statement = sa.select(PersonRow).where(PersonRow.id > after_id)
    if org_id is not None:
        statement = statement.where(PersonRow.org_id == org_id)
    rows = session.scalars(statement.order_by(PersonRow.id).limit(limit))
    return [person_from_row(row) for row in rows]


def certification_from_row(row: CertificationRow) -> Certification:
    return Certification(
        integrator_id=row.integrator_id,
        status=CertificationStatus(row.status),
        certified_until=row.certified_until,
        updated_at_ns=row.updated_at_ns,
    )


def get_certification(session: Session, integrator_id: int) -> Certification | None:
    """The integrator's certification; None if it never applied."""
    row = session.get(CertificationRow, integrator_id)
    return None if row is None else certification_from_row(row)


def certification_history(
    session: Session, integrator_id: int, *, limit: int = PAGE_SIZE_MAX
) -> list[CertificationEvent]:
    """The integrator's certification changes, oldest first."""
    assert 0 < limit <= PAGE_SIZE_MAX
    rows = session.scalars(
        sa.select(CertificationEventRow)
        .where(CertificationEventRow.integrator_id == integrator_id)
        .order_by(CertificationEventRow.id)
        .limit(limit)
    )
    return [
        CertificationEvent(
            integrator_id=row.integrator_id,
            status=CertificationStatus(row.status),
            certified_until=row.certified_until,
            reason=row.reason,
            timestamp_ns=row.timestamp_ns,
        )
        for row in rows
    ]


def _plain(text: str) -> str:
    """Case and spacing ignored."""
    return " ".join(text.casefold().split())


def _same_holder(one: Shareholder, other: Shareholder) -> bool:
    if one.holder_brn and other.holder_brn:
        return one.holder_brn == other.holder_brn
    return _plain(one.holder_name) == _plain(other.holder_name)


def _holds_shares_in(holder: Organisation, held: Organisation) -> Shareholder | None:
    for shareholder in held.shareholders:
        if shareholder.holder_brn:
            if shareholder.holder_brn == holder.brn:
                return shareholder
        elif _plain(shareholder.holder_name) == _plain(holder.name):
            return shareholder
    return None


def _shareholding_reasons(firm: Organisation, integrator: Organisation) -> list[str]:
    reasons = [
        f"shared shareholder {mine.holder_name!r}"
        + (f" (BRN {format_brn(mine.holder_brn)})" if mine.holder_brn else "")
        for mine in firm.shareholders
        if any(_same_holder(mine, theirs) for theirs in integrator.shareholders)
    ]
    for holder, held in ((firm, integrator), (integrator, firm)):
        stake = _holds_shares_in(holder, held)
        if stake is not None:
            reasons.append(f"{holder.name!r} holds {stake.share_percent} of {held.name!r}")
    return reasons


def _officer_reasons(session: Session, firm_id: int, integrator_id: int) -> list[str]:
    officers = session.execute(
        sa.select(PersonRow.email, PersonRow.org_id).where(
            PersonRow.org_id.in_((firm_id, integrator_id)),
            PersonRow.role == PersonRole.OFFICER.value,
        )
    ).all()
    firm_officers = {email for email, org_id in officers if org_id == firm_id}
    integrator_officers = {email for email, org_id in officers if org_id == integrator_id}
    return [f"shared officer {email}" for email in sorted(firm_officers & integrator_officers)]


def conflict_of_interest_reasons(
    session: Session, *, firm_id: int, integrator_id: int
) -> list[str]:
    """Why `integrator_id` may not work for `firm_id`: empty when they are unrelated.

    Related means: the same organisation, a shared shareholder (same holder BRN, or the same
    name when either has no BRN), one holding shares in the other, a shared officer (same
    email), or the same address (letters and digits compared, case ignored).
    """
    firm = require_organisation(session, firm_id)
    integrator = require_organisation(session, integrator_id)
    if firm.id == integrator.id:
        return ["firm and integrator are the same organisation"]
    reasons = _shareholding_reasons(firm, integrator)
    reasons += _officer_reasons(session, firm.id, integrator.id)
    if firm.address_key and firm.address_key == integrator.address_key:
        reasons.append(f"same address {firm.address!r}")
    return reasons

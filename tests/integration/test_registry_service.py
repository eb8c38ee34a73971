"""Registry writes and reads on SQLite and PostgreSQL: organisations, people, certification."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy.orm import Session

from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.registry import (
    Certification,
    CertificationStatus,
    CertificationTransitionError,
    DuplicateOrganisationError,
    DuplicatePersonError,
    InvalidInputError,
    NotAnIntegratorError,
    Organisation,
    OrganisationNotFoundError,
    OrgKind,
    PersonRole,
    Region,
    Shareholder,
    queries,
    service,
)
from tests.registry_factories import brn, new_org

TODAY = date(2026, 1, 1)  # the simulated clock's start


def register(
    database: Database, clock: SimulatedClock, number: int, **fields: object
) -> Organisation:
    with database.write() as session:
        return service.register_organisation(session, new_org(number, **fields), clock)


def test_register_cleans_the_input_and_reads_back(
    database: Database, clock: SimulatedClock
) -> None:
    holders = (
        Shareholder(" Kim Minsu ", 6000, is_largest=True),
        Shareholder("Parent Co", 4000, True, f"{brn(9)[:3]}-{brn(9)[3:5]}-{brn(9)[5:]}", 10),
    )
    new = dataclasses.replace(
        new_org(1),
        brn=f" {brn(1)[:3]}-{brn(1)[3:5]}-{brn(1)[5:]} ",
        name="  한빛 정밀  ",
        ksic_code=" c27 ",
        contact_email=" CEO@Hanbit.KR ",
        business_group="  ",
        founded_on=TODAY,
        youth_led=True,
        shareholders=holders,
    )
    with database.write() as session:
        registered = service.register_organisation(session, new, clock)
    assert registered.brn == brn(1)
    assert registered.name == "한빛 정밀"
    assert registered.ksic_code == "C27"
    assert registered.contact_email == "ceo@hanbit.kr"
    assert registered.business_group is None
    assert registered.registered_at_ns == clock.now_ns()
    assert registered.shareholders == (
        Shareholder("Kim Minsu", 6000, is_largest=True),
        Shareholder("Parent Co", 4000, True, brn(9), 10),
    )
    with database.read() as session:
        assert queries.get_organisation(session, registered.id) == registered
        assert queries.get_organisation_by_brn(session, brn(1)) == registered
        assert queries.get_organisation(session, registered.id + 1) is None


def test_every_problem_is_listed_and_nothing_is_written(
    database: Database, clock: SimulatedClock
) -> None:
    bad = new_org(
        1,
        brn="220-81-62518",
        name=" ",
        ksic_code="V12",
        contact_email="ceo@",
        sales_3y_avg_krw=-1,
        total_assets_krw=2**63,
        employees=-5,
        founded_on=date(2026, 1, 2),
        business_group="g" * 101,
        address="a\x00b",
        shareholders=(
            Shareholder("", 6000, holder_brn="123"),
            Shareholder("B", 5000, is_largest=True),
            Shareholder("C", 0, is_largest=True),
        ),
    )
    with pytest.raises(InvalidInputError) as raised, database.write() as session:
        service.register_organisation(session, bad, clock)
    fields = [problem.field for problem in raised.value.problems]
    assert fields == [
        "brn",
        "name",
        "ksic_code",
        "contact_email",
        "sales_3y_avg_krw",
        "total_assets_krw",
        "employees",
        "founded_on",
        "business_group",
        "address",
        "shareholders[1].name",
        "shareholders[1].brn",
        "shareholders[3].share_bp",
        "shareholders",
        "shareholders",
    ]
    assert "fails its check digit (last digit should be 7)" in str(raised.value)
    assert "shares add up to 11000 basis points, over 10000" in str(raised.value)
    assert "at most one shareholder can be the largest" in str(raised.value)
    with database.read() as session:
        assert queries.list_organisations(session, limit=10) == []


def test_the_largest_shareholder_must_hold_the_most(
    database: Database, clock: SimulatedClock
) -> None:
    holders = (Shareholder("A", 2000, is_largest=True), Shareholder("B", 3000))
    with pytest.raises(InvalidInputError, match="marked largest holds less than another"):
        register(database, clock, 1, shareholders=holders)


def test_a_registered_number_cannot_register_again(
    database: Database, clock: SimulatedClock
) -> None:
    first = register(database, clock, 1)
    with pytest.raises(
        DuplicateOrganisationError, match=rf"registered already \(organisation {first.id}\)"
    ):
        register(database, clock, 1, name="Someone else")


def test_list_is_paged_and_filtered(database: Database, clock: SimulatedClock) -> None:
    made = [
        register(database, clock, n, kind=kind, region=region)
        for n, (kind, region) in enumerate(
            [
                (OrgKind.SME, Region.SEOUL),
                (OrgKind.INTEGRATOR, Region.SEOUL),
                (OrgKind.SME, Region.BUSAN),
                (OrgKind.SME, Region.SEOUL),
            ],
            start=1,
        )
    ]
    with database.read() as session:
        first = queries.list_organisations(session, limit=2)
        rest = queries.list_organisations(session, limit=2, after_id=first[-1].id)
        smes_in_seoul = queries.list_organisations(
            session, limit=10, kind=OrgKind.SME, region=Region.SEOUL
        )
        with pytest.raises(AssertionError):
            queries.list_organisations(session, limit=1001)
    assert first + rest == made
    assert [org.id for org in smes_in_seoul] == [made[0].id, made[3].id]


def test_a_researcher_may_also_hold_a_role_in_a_firm(
    database: Database, clock: SimulatedClock
) -> None:
    university = register(database, clock, 1, kind=OrgKind.UNIVERSITY)
    firm = register(database, clock, 2)
    with database.write() as session:
        researcher = service.add_person(
            session,
            name=" Lee Jiwoo ",
            email="Lee@Univ.ac.kr",
            org_id=university.id,
            role=PersonRole.RESEARCHER,
            clock=clock,
        )
        advisor = service.add_person(
            session,
            name="Lee Jiwoo",
            email="lee@univ.ac.kr",
            org_id=firm.id,
            role=PersonRole.OFFICER,
            clock=clock,
        )
    assert (researcher.name, researcher.email) == ("Lee Jiwoo", "lee@univ.ac.kr")
    assert advisor.role is PersonRole.OFFICER
    with database.read() as session:
        assert queries.list_people(session, limit=10) == [researcher, advisor]
        assert queries.list_people(session, limit=10, org_id=firm.id) == [advisor]
        assert queries.get_person(session, researcher.id) == researcher
    with pytest.raises(DuplicatePersonError), database.write() as session:
        service.add_person(
            session,
            name="X",
            email="LEE@univ.ac.kr",
            org_id=firm.id,
            role=PersonRole.STAFF,
            clock=clock,
        )


@pytest.mark.parametrize(
    ("name", "email", "field"),
    [("", "a@b.kr", "name"), ("A", "not-an-email", "email"), ("A", "a b@c.kr", "email")],
)
def test_a_person_needs_a_name_and_an_email(
    database: Database, clock: SimulatedClock, name: str, email: str, field: str
) -> None:
    firm = register(database, clock, 1)
    with pytest.raises(InvalidInputError) as raised, database.write() as session:
        service.add_person(
            session, name=name, email=email, org_id=firm.id, role=PersonRole.STAFF, clock=clock
        )
    assert [problem.field for problem in raised.value.problems] == [field]


def test_a_person_needs_an_existing_organisation(database: Database, clock: SimulatedClock) -> None:
    with (
        pytest.raises(OrganisationNotFoundError, match="no organisation 99"),
        database.write() as session,
    ):
        service.add_person(
            session, name="A", email="a@b.kr", org_id=99, role=PersonRole.STAFF, clock=clock
        )


# Certification --------------------------------------------------------------------------------


def _integrator(database: Database, clock: SimulatedClock, number: int = 50) -> int:
    return register(database, clock, number, kind=OrgKind.INTEGRATOR, ksic_code="J62").id


def test_the_certification_lifecycle_is_recorded(database: Database, clock: SimulatedClock) -> None:
    integrator = _integrator(database, clock)
    with database.write() as session:
        applied = service.apply_for_certification(session, integrator, clock)
    assert (applied.status, applied.certified_until) == (CertificationStatus.APPLIED, None)
    steps: list[Callable[[Session], Certification]] = [
        lambda s: service.certify(s, integrator, until=date(2026, 12, 31), clock=clock),
        lambda s: service.suspend(s, integrator, reason=" late reports ", clock=clock),
        lambda s: service.certify(s, integrator, until=date(2027, 6, 30), clock=clock),
        lambda s: service.renew(s, integrator, until=date(2028, 6, 30), clock=clock),
        lambda s: service.revoke(s, integrator, reason="kickbacks", clock=clock),
    ]
    for step in steps:
        clock.advance(1)
        with database.write() as session:
            step(session)
    with database.read() as session:
        final = queries.get_certification(session, integrator)
        history = queries.certification_history(session, integrator)
    assert final is not None
    assert final.status is CertificationStatus.REVOKED
    assert final.updated_at_ns == clock.now_ns()
    assert [(e.status.value, e.certified_until, e.reason) for e in history] == [
        ("applied", None, "application"),
        ("certified", date(2026, 12, 31), "certification"),
        ("suspended", date(2026, 12, 31), "late reports"),
        ("certified", date(2027, 6, 30), "certification"),
        ("certified", date(2028, 6, 30), "renewal"),
        ("revoked", None, "kickbacks"),
    ]


def test_validity_follows_status_and_expiry(database: Database, clock: SimulatedClock) -> None:
    integrator = _integrator(database, clock)
    with database.write() as session:
        service.apply_for_certification(session, integrator, clock)
        certified = service.certify(session, integrator, until=date(2026, 6, 30), clock=clock)
        suspended = service.suspend(session, integrator, reason="audit", clock=clock)
    assert certified.valid_on(date(2026, 6, 30))
    assert not certified.valid_on(date(2026, 7, 1))
    assert not suspended.valid_on(TODAY)


ILLEGAL = [
    ("certify", None, "cannot certify integrator {id}: its certification has not applied"),
    ("suspend", None, "cannot suspend integrator {id}: its certification has not applied"),
    ("renew", "applied", "cannot renew integrator {id}: its certification is applied"),
    ("suspend", "applied", "cannot suspend integrator {id}: its certification is applied"),
    (
        "apply",
        "applied",
        "cannot take an application from integrator {id}: its certification is applied",
    ),
    ("certify", "certified", "cannot certify integrator {id}: its certification is certified"),
    ("apply", "certified", "its certification is certified"),
    ("renew", "suspended", "cannot renew integrator {id}: its certification is suspended"),
    ("suspend", "suspended", "its certification is suspended"),
    ("certify", "revoked", "cannot certify integrator {id}: its certification is revoked"),
    ("renew", "revoked", "its certification is revoked"),
    ("suspend", "revoked", "its certification is revoked"),
    ("revoke", "revoked", "cannot revoke integrator {id}: its certification is revoked"),
    ("revoke", None, "its certification has not applied"),
    ("apply", "revoked", "its certification is revoked"),
]


def _bring_to(
    database: Database, clock: SimulatedClock, integrator: int, status: str | None
) -> None:
    path = {
        None: [],
        "applied": ["apply"],
        "certified": ["apply", "certify"],
        "suspended": ["apply", "certify", "suspend"],
        "revoked": ["apply", "certify", "revoke"],
    }[status]
    for action in path:
        with database.write() as session:
            _act(session, action, integrator, clock)


def _act(session: Session, action: str, integrator: int, clock: SimulatedClock) -> None:
    if action == "apply":
        service.apply_for_certification(session, integrator, clock)
    elif action in ("certify", "renew"):
        getattr(service, action)(session, integrator, until=date(2027, 12, 31), clock=clock)
    else:
        getattr(service, action)(session, integrator, reason="because", clock=clock)


@pytest.mark.parametrize(("action", "status", "message"), ILLEGAL)
def test_illegal_transitions_are_refused_and_change_nothing(
    database: Database, clock: SimulatedClock, action: str, status: str | None, message: str
) -> None:
    integrator = _integrator(database, clock)
    _bring_to(database, clock, integrator, status)
    with database.read() as session:
        before = queries.certification_history(session, integrator)
    refused = pytest.raises(CertificationTransitionError, match=message.format(id=integrator))
    with refused, database.write() as session:
        _act(session, action, integrator, clock)
    with database.read() as session:
        assert queries.certification_history(session, integrator) == before


@pytest.mark.parametrize("action", ["apply", "certify", "suspend", "revoke", "renew"])
def test_only_integrators_are_certified(
    database: Database, clock: SimulatedClock, action: str
) -> None:
    firm = register(database, clock, 1).id
    with pytest.raises(NotAnIntegratorError, match="of kind 'sme'"), database.write() as session:
        _act(session, action, firm, clock)
    with pytest.raises(OrganisationNotFoundError), database.write() as session:
        _act(session, action, firm + 100, clock)


def test_expiry_dates_must_move_forward(database: Database, clock: SimulatedClock) -> None:
    integrator = _integrator(database, clock)
    _bring_to(database, clock, integrator, "applied")
    with pytest.raises(InvalidInputError, match="must be after today"), database.write() as session:
        service.certify(session, integrator, until=TODAY, clock=clock)
    with database.write() as session:
        service.certify(session, integrator, until=date(2026, 12, 31), clock=clock)
    with (
        pytest.raises(InvalidInputError, match="after the current expiry"),
        database.write() as session,
    ):
        service.renew(session, integrator, until=date(2026, 12, 31), clock=clock)
    with (
        pytest.raises(InvalidInputError, match="reason: must not be empty"),
        database.write() as session,
    ):
        service.suspend(session, integrator, reason="  ", clock=clock)


def test_an_expired_certification_can_be_renewed(database: Database, clock: SimulatedClock) -> None:
    integrator = _integrator(database, clock)
    _bring_to(database, clock, integrator, "applied")
    with database.write() as session:
        service.certify(session, integrator, until=date(2026, 1, 2), clock=clock)
    clock.advance(10 * 86_400)
    with database.write() as session:
        renewed = service.renew(session, integrator, until=date(2026, 12, 31), clock=clock)
    assert renewed.valid_on(date(2026, 1, 11))

"""Conflicts of interest between a firm and an integrator, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.registry import (
    OrganisationNotFoundError,
    OrgKind,
    PersonRole,
    Shareholder,
    format_brn,
    queries,
    service,
)
from tests.registry_factories import brn, new_org


def _pair(
    database: Database,
    clock: SimulatedClock,
    *,
    firm: dict[str, object] | None = None,
    integrator: dict[str, object] | None = None,
) -> tuple[int, int]:
    with database.write() as session:
        firm_id = service.register_organisation(session, new_org(1, **(firm or {})), clock).id
        integrator_id = service.register_organisation(
            session,
            new_org(2, kind=OrgKind.INTEGRATOR, ksic_code="J62", **(integrator or {})),
            clock,
        ).id
    return firm_id, integrator_id


def _reasons(database: Database, firm_id: int, integrator_id: int) -> list[str]:
    with database.read() as session:
        return queries.conflict_of_interest_reasons(
            session, firm_id=firm_id, integrator_id=integrator_id
        )


def test_unrelated_organisations_have_no_conflict(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = _pair(
        database,
        clock,
        firm={"shareholders": (Shareholder("Kim", 5000, holder_brn=None),)},
        integrator={"shareholders": (Shareholder("Park", 5000),)},
    )
    assert _reasons(database, firm, integrator) == []


def test_a_shareholder_with_the_same_brn_is_shared(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = _pair(
        database,
        clock,
        firm={"shareholders": (Shareholder("Holding Co", 4000, True, brn(9)),)},
        integrator={"shareholders": (Shareholder("HOLDING CO.", 2000, True, brn(9)),)},
    )
    assert _reasons(database, firm, integrator) == [
        f"shared shareholder 'Holding Co' (BRN {format_brn(brn(9))})"
    ]


def test_different_brns_are_different_holders_despite_the_name(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = _pair(
        database,
        clock,
        firm={"shareholders": (Shareholder("Holding Co", 4000, True, brn(9)),)},
        integrator={"shareholders": (Shareholder("Holding Co", 2000, True, brn(8)),)},
    )
    assert _reasons(database, firm, integrator) == []


def test_without_a_brn_the_holder_name_decides(database: Database, clock: SimulatedClock) -> None:
    firm, integrator = _pair(
        database,
        clock,
        firm={"shareholders": (Shareholder("Kim  Minsu", 4000),)},
        integrator={"shareholders": (Shareholder("kim minsu", 2000, holder_brn=brn(7)),)},
    )
    assert _reasons(database, firm, integrator) == ["shared shareholder 'Kim  Minsu'"]


def test_an_integrator_holding_shares_in_the_firm(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = _pair(
        database,
        clock,
        firm={"shareholders": (Shareholder("Integrator", 1500, True, brn(2)),)},
        integrator={"name": "Integrator"},
    )
    assert _reasons(database, firm, integrator) == ["'Integrator' holds 15.00 % of 'Firm 1'"]


def test_a_firm_holding_shares_in_the_integrator_by_name(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = _pair(
        database,
        clock,
        firm={"name": "Hanbit Precision"},
        integrator={"shareholders": (Shareholder("HANBIT precision", 5100, True),)},
    )
    assert _reasons(database, firm, integrator) == ["'Hanbit Precision' holds 51.00 % of 'Firm 2'"]


def test_a_shared_officer_is_matched_by_email(database: Database, clock: SimulatedClock) -> None:
    firm, integrator = _pair(database, clock)
    with database.write() as session:
        for org_id, role in ((firm, PersonRole.OFFICER), (integrator, PersonRole.OFFICER)):
            service.add_person(
                session, name="Choi", email="Choi@x.kr", org_id=org_id, role=role, clock=clock
            )
        service.add_person(
            session,
            name="Yoon",
            email="yoon@x.kr",
            org_id=firm,
            role=PersonRole.OFFICER,
            clock=clock,
        )
        service.add_person(
            session,
            name="Yoon",
            email="yoon@x.kr",
            org_id=integrator,
            role=PersonRole.STAFF,
            clock=clock,
        )
    assert _reasons(database, firm, integrator) == ["shared officer choi@x.kr"]


def test_the_same_address_written_differently(database: Database, clock: SimulatedClock) -> None:
    firm, integrator = _pair(
        database,
        clock,
        firm={"address": "전라남도 해남군 산이면 솔라시도로 1, 3층"},
        integrator={"address": "전라남도 해남군 산이면  솔라시도로 1 3층"},
    )
    assert _reasons(database, firm, integrator) == [
        "same address '전라남도 해남군 산이면 솔라시도로 1, 3층'"
    ]


def test_empty_addresses_do_not_match(database: Database, clock: SimulatedClock) -> None:
    firm, integrator = _pair(database, clock, firm={"address": ""}, integrator={"address": " "})
    assert _reasons(database, firm, integrator) == []


def test_every_relation_is_listed(database: Database, clock: SimulatedClock) -> None:
    firm, integrator = _pair(
        database,
        clock,
        firm={"address": "1 Main St", "shareholders": (Shareholder("Lee", 3000),)},
        integrator={"address": "1 main st", "shareholders": (Shareholder("Lee", 3000),)},
    )
    assert _reasons(database, firm, integrator) == [
        "shared shareholder 'Lee'",
        "same address '1 Main St'",
    ]


def test_the_same_organisation_is_related_to_itself(
    database: Database, clock: SimulatedClock
) -> None:
    firm, _ = _pair(database, clock)
    assert _reasons(database, firm, firm) == ["firm and integrator are the same organisation"]


def test_unknown_organisations_are_an_error(database: Database, clock: SimulatedClock) -> None:
    firm, integrator = _pair(database, clock)
    with pytest.raises(OrganisationNotFoundError, match="no organisation 999"):
        _reasons(database, 999, integrator)
    with pytest.raises(OrganisationNotFoundError, match="no organisation 999"):
        _reasons(database, firm, 999)

"""Programme test data: terms, a programme on a database, firms and certified integrators.

The simulated clock starts on 2026-01-01 (UTC); the standard programme is open all of 2026,
grants 100 credits to every firm, lets lots live 90 days, and samples no one at random.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from ccx.clock import NS_PER_S, SimulatedClock
from ccx.db import Database
from ccx.ledger.service import seal_journal
from ccx.ledger.verify import verify_ledger
from ccx.programs import (
    Application,
    GrantRule,
    Mandate,
    NewApplication,
    NewMandate,
    NewProgramme,
    Programme,
    ProgrammeTerms,
    service,
)
from ccx.programs import mandates as mandate_service
from ccx.registry import Organisation, OrgKind
from ccx.registry import service as registry_service
from tests.registry_factories import new_org

CREDIT = 1_000_000
PROGRAMME_ID = 7
TODAY = date(2026, 1, 1)
DAY_S = 86_400


def terms(**changes: Any) -> ProgrammeTerms:
    values: dict[str, Any] = {
        "budget_micro": 1_000 * CREDIT,
        "opens_on": date(2026, 1, 1),
        "closes_on": date(2026, 12, 31),
        "grant": GrantRule(fixed_micro=100 * CREDIT),
        "lot_lifetime_days": 90,
        "firm_cap_micro": 200 * CREDIT,
        "group_cap_micro": 300 * CREDIT,
        "service_share_max_bp": 1_000,
        "price_krw_per_credit": 3_500,
        "audit_sample_bp": 0,
    }
    return ProgrammeTerms(**(values | changes))


def new_programme(programme_id: int = PROGRAMME_ID, **changes: Any) -> NewProgramme:
    return NewProgramme(programme_id, f"AI compute voucher {programme_id}", terms(**changes))


def make_programme(
    database: Database, clock: SimulatedClock, programme_id: int = PROGRAMME_ID, **changes: Any
) -> Programme:
    with database.write() as session:
        return service.create_programme(session, new_programme(programme_id, **changes), clock)


def register(database: Database, clock: SimulatedClock, number: int, **fields: Any) -> Organisation:
    with database.write() as session:
        return registry_service.register_organisation(session, new_org(number, **fields), clock)


def certified_integrator(
    database: Database, clock: SimulatedClock, number: int, **fields: Any
) -> Organisation:
    """A registered integrator, certified until the end of 2027."""
    integrator = register(database, clock, number, kind=OrgKind.INTEGRATOR, **fields)
    with database.write() as session:
        registry_service.apply_for_certification(session, integrator.id, clock)
        registry_service.certify(session, integrator.id, until=date(2027, 12, 31), clock=clock)
    return integrator


def apply(
    database: Database,
    clock: SimulatedClock,
    firm_id: int,
    key: str = "first",
    programme_id: int = PROGRAMME_ID,
    **fields: Any,
) -> Application:
    new = NewApplication(programme_id=programme_id, firm_id=firm_id, key=key, **fields)
    with database.write() as session:
        return service.apply_for_grant(session, new, clock)


def new_mandate(firm_id: int, integrator_id: int, **changes: Any) -> NewMandate:
    values: dict[str, Any] = {
        "programme_id": PROGRAMME_ID,
        "firm_id": firm_id,
        "integrator_id": integrator_id,
        "project": "defect detection model",
        "cap_micro": 50 * CREDIT,
        "valid_until": date(2026, 6, 30),
        "key": "m1",
    }
    return dataclasses.replace(NewMandate(**values), **changes)


def grant_mandate(
    database: Database, clock: SimulatedClock, firm_id: int, integrator_id: int, **changes: Any
) -> Mandate:
    with database.write() as session:
        return mandate_service.grant_mandate(
            session, new_mandate(firm_id, integrator_id, **changes), clock
        )


def advance_days(clock: SimulatedClock, days: int) -> None:
    clock.advance(ns=days * DAY_S * NS_PER_S)


@pytest.fixture
def verified_ledger(database: Database) -> Iterator[None]:
    """After the test: every scenario leaves a ledger whose chain and balances replay."""
    yield
    assert_ledger_ok(database)


def assert_ledger_ok(database: Database) -> None:
    """Seal the journal; the chain and every balance must replay."""
    with database.write() as session:
        while seal_journal(session, wait=True):
            pass
    with database.read() as session:
        report = verify_ledger(session)
    assert report.ok, report.problems

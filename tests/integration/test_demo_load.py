"""Loading a small synthetic nation through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from ccx.clock import NS_PER_S, SimulatedClock
from ccx.consortia.queries import get_consortium
from ccx.db import Database
from ccx.demo import Loaded, Nation, NationSize, Segment, Standing, build_nation, load_nation
from ccx.exchange import queries as exchange_queries
from ccx.programs.queries import get_programme
from ccx.registry import CertificationStatus, eligibility, queries
from ccx.registry.types import SizeClass

TODAY = date(2026, 1, 1)
SIZE_CLASSES = {
    Segment.MICRO: SizeClass.MICRO,
    Segment.SMALL: SizeClass.SMALL,
    Segment.MEDIUM: SizeClass.MEDIUM,
}


@pytest.fixture
def nation() -> Nation:
    return build_nation(NationSize(firms=200, devices=500), seed=3)


@pytest.fixture
def loaded(database: Database, nation: Nation, clock: SimulatedClock) -> Loaded:
    return load_nation(database, nation, clock)


def test_everything_is_registered(
    database: Database, nation: Nation, loaded: Loaded, clock: SimulatedClock
) -> None:
    assert len(loaded.firm_ids) == len(set(loaded.firm_ids)) == len(nation.firms)
    assert len(loaded.integrator_ids) == len(nation.integrators)
    assert len(loaded.university_ids) == len(nation.universities)
    assert len(loaded.person_ids) == len(nation.people)
    assert len(loaded.centre_logins) == len(nation.integrators)
    with database.read() as session:
        organisations = queries.list_organisations(session, limit=1000)
        assert len(organisations) == len(loaded.org_ids_by_brn)
        pools = [
            exchange_queries.get_pool(session, pool_id, now_ns=clock.now_ns())
            for pool_id in loaded.pool_ids
        ]
        assert sum(pool.devices for pool in pools if pool is not None) == 500
        for programme_id, new in zip(loaded.programme_ids, nation.programmes, strict=True):
            programme = get_programme(session, programme_id)
            assert programme is not None
            assert programme.terms == new.terms
        for consortium_id, plan in zip(loaded.consortium_ids, nation.consortia, strict=True):
            consortium = get_consortium(session, consortium_id)
            assert consortium is not None
            members = 1 + len(plan.sme_brns) + len(plan.integrator_brns) + 1
            assert len(consortium.members) == members


def test_the_sme_test_refuses_affiliates_and_mid_sized_firms(
    database: Database, nation: Nation, loaded: Loaded
) -> None:
    with database.read() as session:
        for plan, firm_id in zip(nation.firms, loaded.firm_ids, strict=True):
            organisation = queries.get_organisation(session, firm_id)
            assert organisation is not None
            decision = eligibility.check_sme(organisation, on=TODAY)
            assert decision.eligible == (plan.segment in SIZE_CLASSES), decision.reasons
            if plan.segment is Segment.AFFILIATE:
                assert any(
                    "business group" in reason or "largest shareholder" in reason
                    for reason in decision.reasons
                )
            if plan.segment in SIZE_CLASSES:
                size = eligibility.size_class(organisation, on=TODAY)
                assert size is SIZE_CLASSES[plan.segment]


def test_certifications_stand_as_planned(
    database: Database, nation: Nation, loaded: Loaded
) -> None:
    with database.read() as session:
        for plan, integrator_id in zip(nation.integrators, loaded.integrator_ids, strict=True):
            certification = queries.get_certification(session, integrator_id)
            assert certification is not None
            assert certification.valid_on(TODAY) == (plan.standing is Standing.CERTIFIED)
            if plan.standing is Standing.SUSPENDED:
                assert certification.status is CertificationStatus.SUSPENDED


def test_related_integrators_have_a_conflict_of_interest(
    database: Database, nation: Nation, loaded: Loaded
) -> None:
    related = [
        (loaded.org_ids_by_brn[plan.related_firm_brn], integrator_id)
        for plan, integrator_id in zip(nation.integrators, loaded.integrator_ids, strict=True)
        if plan.related_firm_brn is not None
    ]
    assert len(related) >= 2
    with database.read() as session:
        for firm_id, integrator_id in related:
            assert queries.conflict_of_interest_reasons(
                session, firm_id=firm_id, integrator_id=integrator_id
            )


def test_a_clock_on_another_day_is_refused(database: Database, nation: Nation) -> None:
    clock = SimulatedClock(SimulatedClock().now_ns() + 86_400 * NS_PER_S)
    with pytest.raises(ValueError, match="the nation starts on 2026-01-01"):
        load_nation(database, nation, clock)

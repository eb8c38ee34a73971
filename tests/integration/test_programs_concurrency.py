"""Concurrent applications and spends on PostgreSQL: budgets, caps, pools and keys hold under
races.

SQLite serialises every writer, so these races only exist on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter

import pytest

from ccx.clock import SimulatedClock
from ccx.consortia import queries as consortium_queries
from ccx.db import Database, Dialect
from ccx.programs import (
    Decision,
    NewApplication,
    RefusedError,
    Spend,
    mandates,
    queries,
    service,
)
from tests.integration.test_consortia_mandates import grant as pool_grant
from tests.integration.test_consortia_mandates import setup as pool_setup
from tests.integration.test_ledger_concurrency import race
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    apply,
    assert_ledger_ok,
    certified_integrator,
    grant_mandate,
    make_programme,
    register,
)

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def pg(backend: str, request: pytest.FixtureRequest) -> Database:
    if backend != Dialect.POSTGRESQL:
        pytest.skip("concurrent writers race only on PostgreSQL")
    database: Database = request.getfixturevalue("database")
    return database


def application(pg: Database, clock: SimulatedClock, firm_id: int, key: str) -> Decision:
    new = NewApplication(PROGRAMME_ID, firm_id, key)
    return pg.run_write(lambda s: service.apply_for_grant(s, new, clock)).decision


def test_racing_applications_never_exceed_the_budget(pg: Database, clock: SimulatedClock) -> None:
    make_programme(pg, clock, budget_micro=500 * CREDIT)
    firms = [register(pg, clock, n) for n in range(1, 13)]
    decisions = race(len(firms), lambda i: application(pg, clock, firms[i].id, "k"))
    assert Counter(decisions) == {Decision.APPROVED: 5, Decision.REFUSED: 7}
    with pg.read() as session:
        report = queries.programme_report(session, PROGRAMME_ID)
    assert report is not None
    assert (report.granted_micro, report.pool_available_micro) == (500 * CREDIT, 0)
    assert_ledger_ok(pg)


def test_racing_applications_of_one_firm_keep_its_cap_and_its_keys(
    pg: Database, clock: SimulatedClock
) -> None:
    make_programme(pg, clock, firm_cap_micro=200 * CREDIT)
    firm = register(pg, clock, 1)
    keys = [f"k{n % 6}" for n in range(16)]  # six distinct keys, each sent several times
    decisions = race(len(keys), lambda i: application(pg, clock, firm.id, keys[i]))
    with pg.read() as session:
        recorded = queries.list_applications(session, limit=100, firm_id=firm.id)
    assert len(recorded) == 6
    assert sum(a.decision is Decision.APPROVED for a in recorded) == 2
    assert Decision.APPROVED in decisions
    assert_ledger_ok(pg)


def racing_spend(
    pg: Database, clock: SimulatedClock, mandate_id: int, key: str
) -> Spend | RefusedError:
    """Spend 10 credits under the mandate; a refusal is returned, not raised."""
    try:
        return pg.run_write(
            lambda s: mandates.spend_under_mandate(
                s,
                mandate_id=mandate_id,
                amount_micro=10 * CREDIT,
                purpose="race",
                transfer_key=key,
                clock=clock,
            )
        )
    except RefusedError as error:
        return error


def test_racing_spends_keep_the_mandate_cap(pg: Database, clock: SimulatedClock) -> None:
    make_programme(pg, clock)
    firm = register(pg, clock, 1)
    apply(pg, clock, firm.id)
    integrator = certified_integrator(pg, clock, 2)
    mandate = grant_mandate(pg, clock, firm.id, integrator.id, cap_micro=50 * CREDIT)
    results = race(12, lambda i: racing_spend(pg, clock, mandate.id, f"s{i}"))
    assert sum(isinstance(result, Spend) for result in results) == 5
    with pg.read() as session:
        shown = queries.get_mandate(session, mandate.id)
    assert shown is not None
    assert shown.drawn_micro == 50 * CREDIT
    assert_ledger_ok(pg)


def test_racing_spends_from_one_pool_never_overdraw_it(pg: Database, clock: SimulatedClock) -> None:
    scene = pool_setup(pg, clock, pooled=40)
    granted = [pool_grant(pg, clock, scene, key=f"m{n}") for n in range(4)]
    results = race(12, lambda i: racing_spend(pg, clock, granted[i % 4].id, f"s{i}"))
    assert sum(isinstance(result, Spend) for result in results) == 4
    with pg.read() as session:
        pools = consortium_queries.list_pools(session, scene.consortium_id)
    assert [(pool.available_micro, pool.spent_micro) for pool in pools] == [(0, 40 * CREDIT)]
    assert_ledger_ok(pg)

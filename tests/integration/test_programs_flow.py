"""The whole path on both databases: application → grant → mandate → spend and fee → expiry →
audit → clawback, with the ledger verified at the end; and a property run of applications."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.ledger import queries as ledger_queries
from ccx.programs import (
    AuditStatus,
    Decision,
    GrantRule,
    LotStatus,
    ReasonCode,
    mandates,
    queries,
    service,
)
from ccx.programs.ledger_ids import payable_account_id
from ccx.registry import Region
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    advance_days,
    apply,
    certified_integrator,
    grant_mandate,
    make_programme,
    register,
    verified_ledger,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.usefixtures("verified_ledger")


def balances(database: Database, account_ids: list[int]) -> list[int]:
    with database.read() as session:
        accounts = ledger_queries.get_accounts(session, account_ids)
    return [accounts[account_id].balance_posted for account_id in account_ids]


def test_application_to_clawback(database: Database, clock: SimulatedClock) -> None:
    programme = make_programme(database, clock, lot_lifetime_days=30, risk_founded_within_days=60)
    firm = register(database, clock, 1, founded_on=date(2025, 12, 1))
    integrator = certified_integrator(database, clock, 2)

    first = apply(database, clock, firm.id, key="2026-01")
    advance_days(clock, 10)
    second = apply(database, clock, firm.id, key="2026-01b")
    assert first.decision is second.decision is Decision.APPROVED
    assert first.audit_status is AuditStatus.SELECTED  # founded 31 days before applying
    assert [r.code for r in first.audit_reasons] == [ReasonCode.NEWLY_FOUNDED]

    mandate = grant_mandate(
        database,
        clock,
        firm.id,
        integrator.id,
        cap_micro=150 * CREDIT,
        valid_until=date(2026, 6, 30),
    )
    with database.write() as session:
        compute = mandates.spend_under_mandate(
            session,
            mandate_id=mandate.id,
            amount_micro=120 * CREDIT,
            purpose="fine-tune a defect detector",
            transfer_key="job-1",
            clock=clock,
        )
        fee = mandates.redeem_service_fee(
            session,
            mandate_id=mandate.id,
            amount_micro=15 * CREDIT,
            transfer_key="fee-1",
            clock=clock,
        )
        hold = mandates.spend_under_mandate(
            session,
            mandate_id=mandate.id,
            amount_micro=10 * CREDIT,
            purpose="inference",
            transfer_key="job-2",
            clock=clock,
            pending=True,
            timeout_s=30 * 86_400,
        )
    assert [leg.lot_account_id for leg in compute.legs] == [
        first.lot_account_id,
        second.lot_account_id,
    ]
    assert [leg.amount_micro for leg in compute.legs] == [100 * CREDIT, 20 * CREDIT]
    assert fee.amount_krw == 15 * 3_500
    assert [leg.lot_account_id for leg in fee.legs + hold.legs] == [second.lot_account_id] * 2

    advance_days(clock, 20)  # the first lot's expiry day
    with database.write() as session:
        sweep = service.expire_lots(session, clock=clock)
    assert [(lot.account_id, lot.expired_micro) for lot in sweep.expired] == [
        (first.lot_account_id, 0)
    ]

    with database.read() as session:
        queue = queries.list_applications(
            session, limit=10, programme_id=PROGRAMME_ID, audit_status=AuditStatus.SELECTED
        )
    assert {application.id for application in queue} == {first.id, second.id}
    with database.write() as session:
        audit = service.fail_audit(
            session, application_id=first.id, note="business plan ghost-written", clock=clock
        )
    clawbacks = {c.lot_account_id: c for c in audit.clawbacks}
    assert second.lot_account_id is not None
    assert first.lot_account_id is not None
    assert clawbacks[second.lot_account_id].clawed_back_micro == 55 * CREDIT
    assert clawbacks[second.lot_account_id].spent_micro == 35 * CREDIT
    assert clawbacks[second.lot_account_id].held_micro == 10 * CREDIT
    assert clawbacks[first.lot_account_id].spent_micro == 100 * CREDIT

    with database.write() as session:
        mandates.settle_spend(session, spend_id=hold.id, post_micro=6 * CREDIT, clock=clock)
    advance_days(clock, 10)  # the second lot's expiry day
    with database.write() as session:
        sweep = service.expire_lots(session, clock=clock)
    assert [(lot.status, lot.expired_micro) for lot in sweep.expired] == [
        (LotStatus.EXPIRED, 4 * CREDIT)  # the voided rest of the hold
    ]

    accounts = programme.accounts
    pool, revenue, expired, clawback, appropriation, payable = balances(
        database,
        [
            accounts.pool,
            accounts.centre_revenue,
            accounts.expired,
            accounts.clawback,
            accounts.appropriation,
            payable_account_id(PROGRAMME_ID, integrator.id),
        ],
    )
    assert (pool, revenue, expired, clawback, payable) == (
        800 * CREDIT,
        126 * CREDIT,
        4 * CREDIT,
        55 * CREDIT,
        15 * CREDIT,
    )
    assert pool + revenue + expired + clawback + payable == -appropriation
    with database.read() as session:
        report = queries.programme_report(session, PROGRAMME_ID)
    assert report is not None
    assert (report.granted_micro, report.fees_micro, report.clawed_back_micro) == (
        200 * CREDIT,
        15 * CREDIT,
        55 * CREDIT,
    )


_programme_ids = itertools.count(100)
_firm_numbers = itertools.count(1_000)
FIRMS = st.lists(
    st.tuples(st.sampled_from([Region.SEOUL, Region.JEONNAM, Region.BUSAN]), st.booleans()),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    firms=FIRMS,
    applications=st.lists(st.integers(0, 5), max_size=15),
    budget=st.integers(50, 600),
    quotas=st.tuples(st.integers(0, 5_000), st.integers(0, 5_000)),
)
def test_granted_credits_never_exceed_the_budget(
    database: Database,
    clock: SimulatedClock,
    *,
    firms: list[tuple[Region, bool]],
    applications: list[int],
    budget: int,
    quotas: tuple[int, int],
) -> None:
    programme_id = next(_programme_ids)
    programme = make_programme(
        database,
        clock,
        programme_id,
        budget_micro=budget * CREDIT,
        grant=GrantRule(fixed_micro=50 * CREDIT),
        quota_non_capital_bp=quotas[0],
        quota_youth_bp=quotas[1],
    )
    registered = [
        register(database, clock, next(_firm_numbers), region=region, youth_led=youth)
        for region, youth in firms
    ]
    for n, pick in enumerate(applications):
        firm = registered[pick % len(registered)]
        apply(database, clock, firm.id, key=f"k{n}", programme_id=programme_id)
    with database.read() as session:
        report = queries.programme_report(session, programme_id)
    assert report is not None
    assert report.granted_micro <= budget * CREDIT
    assert report.pool_available_micro == budget * CREDIT - report.granted_micro
    [pool] = balances(database, [programme.accounts.pool])
    assert pool == report.pool_available_micro

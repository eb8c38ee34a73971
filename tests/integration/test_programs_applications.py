"""Programmes, approve-first applications, post-audit and lot expiry, on both databases."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.ledger import queries as ledger_queries
from ccx.ledger.types import AccountFlags
from ccx.programs import (
    AuditStatus,
    ConflictError,
    Decision,
    GrantRule,
    InvalidRequestError,
    LotStatus,
    NewApplication,
    NotFoundError,
    ReasonCode,
    Track,
    queries,
    service,
)
from ccx.programs.ledger_ids import application_id, programme_accounts
from ccx.registry import OrgKind, Region, Shareholder, SizeClass
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    advance_days,
    apply,
    make_programme,
    new_programme,
    register,
    verified_ledger,  # noqa: F401 - a fixture
)
from tests.registry_factories import brn

pytestmark = pytest.mark.usefixtures("verified_ledger")


def balance(database: Database, account_id: int) -> int:
    with database.read() as session:
        account = ledger_queries.get_account(session, account_id)
    assert account is not None
    return account.balance_posted


def count_rows(database: Database, table: str) -> int:
    with database.read() as session:
        return int(session.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)


def test_a_programme_has_its_ledger_accounts_and_budget(
    database: Database, clock: SimulatedClock
) -> None:
    programme = make_programme(database, clock)
    accounts = programme_accounts(PROGRAMME_ID)
    assert programme.accounts == accounts
    assert balance(database, accounts.pool) == 1_000 * CREDIT
    assert balance(database, accounts.appropriation) == -1_000 * CREDIT
    with database.read() as session:
        pool = ledger_queries.get_account(session, accounts.pool)
        report = queries.programme_report(session, PROGRAMME_ID)
    assert pool is not None
    assert pool.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    assert report is not None
    assert report.pool_available_micro == 1_000 * CREDIT
    assert report.granted_micro == 0


def test_creating_a_programme_again_is_harmless_and_other_fields_conflict(
    database: Database, clock: SimulatedClock
) -> None:
    first = make_programme(database, clock)
    assert make_programme(database, clock) == first
    with pytest.raises(ConflictError), database.write() as session:
        service.create_programme(session, new_programme(budget_micro=500 * CREDIT), clock)
    renamed = new_programme(PROGRAMME_ID + 1)
    with pytest.raises(ConflictError, match="named"), database.write() as session:
        service.create_programme(
            session, type(renamed)(renamed.id, first.name, renamed.terms), clock
        )
    assert balance(database, first.accounts.pool) == 1_000 * CREDIT


def test_invalid_terms_are_all_listed_and_nothing_is_written(
    database: Database, clock: SimulatedClock
) -> None:
    bad = new_programme(
        budget_micro=0,
        opens_on=date(2026, 2, 1),
        closes_on=date(2026, 1, 1),
        grant=GrantRule(),
        quota_non_capital_bp=6_000,
        quota_youth_bp=5_000,
        tracks=frozenset(),
        eligible_kinds=frozenset({OrgKind.LARGE}),
    )
    with pytest.raises(InvalidRequestError) as raised, database.write() as session:
        service.create_programme(session, bad, clock)
    assert len(raised.value.problems) == 6
    assert count_rows(database, "programmes") == 0
    assert count_rows(database, "ledgers") == 0


def test_an_approval_funds_a_lot_that_expires(database: Database, clock: SimulatedClock) -> None:
    programme = make_programme(database, clock)
    firm = register(database, clock, 1)
    application = apply(database, clock, firm.id)
    assert application.decision is Decision.APPROVED
    assert application.reasons == ()
    assert application.amount_micro == 100 * CREDIT
    assert application.lot_account_id is not None
    with database.read() as session:
        lot_account = ledger_queries.get_account(session, application.lot_account_id)
        [lot] = queries.list_lots(session, limit=10, programme_id=PROGRAMME_ID)
    assert lot_account is not None
    assert lot_account.owner_org_id == firm.id
    assert lot_account.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    assert lot_account.balance_posted == 100 * CREDIT
    assert lot_account.user_data_64 == (date(2026, 4, 1) - date(1970, 1, 1)).days
    assert (lot.expires_on, lot.status, lot.available_micro) == (
        date(2026, 4, 1),
        LotStatus.ACTIVE,
        100 * CREDIT,
    )
    assert balance(database, programme.accounts.pool) == 900 * CREDIT


def test_a_retried_application_grants_once(database: Database, clock: SimulatedClock) -> None:
    programme = make_programme(database, clock)
    firm = register(database, clock, 1)
    first = apply(database, clock, firm.id, key="req-1")
    clock.advance(5)
    assert apply(database, clock, firm.id, key=" req-1 ") == first
    assert balance(database, programme.accounts.pool) == 900 * CREDIT
    with pytest.raises(ConflictError), database.write() as session:
        service.apply_for_grant(
            session,
            NewApplication(PROGRAMME_ID, firm.id, "req-1", Track.CONSORTIUM),
            clock,
        )
    second = apply(database, clock, firm.id, key="req-2")
    assert second.id != first.id
    assert balance(database, programme.accounts.pool) == 800 * CREDIT


def test_a_refusal_lists_every_reason_and_grants_nothing(
    database: Database, clock: SimulatedClock
) -> None:
    programme = make_programme(
        database,
        clock,
        opens_on=date(2026, 3, 1),
        grant=GrantRule(by_size_micro={SizeClass.MICRO: 10 * CREDIT}),
    )
    large = register(
        database,
        clock,
        1,
        sales_3y_avg_krw=300_000_000_000,
        total_assets_krw=600_000_000_000,
        business_group="Samsung",
    )
    application = apply(database, clock, large.id, track=Track.CONSORTIUM)
    codes = [reason.code for reason in application.reasons]
    assert application.decision is Decision.REFUSED
    assert codes == [
        ReasonCode.NOT_AN_SME,
        ReasonCode.NOT_AN_SME,
        ReasonCode.NOT_AN_SME,
        ReasonCode.PROGRAMME_NOT_OPEN,
        ReasonCode.TRACK_NOT_OFFERED,
        ReasonCode.NO_GRANT_FOR_SIZE,
    ]
    assert application.amount_micro == 0
    assert application.lot_account_id is None
    assert application.audit_status is AuditStatus.NOT_SELECTED
    assert balance(database, programme.accounts.pool) == 1_000 * CREDIT
    with database.read() as session:
        assert queries.list_lots(session, limit=10) == []
        report = queries.programme_report(session, PROGRAMME_ID)
    assert report is not None
    assert (report.applications_approved, report.applications_refused) == (0, 1)


def test_non_applicant_kinds_are_refused(database: Database, clock: SimulatedClock) -> None:
    make_programme(database, clock)
    university = register(database, clock, 1, kind=OrgKind.UNIVERSITY)
    application = apply(database, clock, university.id)
    assert [reason.code for reason in application.reasons] == [ReasonCode.KIND_NOT_ELIGIBLE]


def test_the_firm_cap_holds_at_its_boundary(database: Database, clock: SimulatedClock) -> None:
    make_programme(database, clock, firm_cap_micro=200 * CREDIT)
    firm = register(database, clock, 1)
    assert apply(database, clock, firm.id, key="a").decision is Decision.APPROVED
    assert apply(database, clock, firm.id, key="b").decision is Decision.APPROVED  # exactly 200
    third = apply(database, clock, firm.id, key="c")
    assert [reason.code for reason in third.reasons] == [ReasonCode.FIRM_CAP]


def test_the_group_cap_counts_every_firm_of_a_parent(
    database: Database, clock: SimulatedClock
) -> None:
    make_programme(database, clock, group_cap_micro=200 * CREDIT)
    parent = Shareholder(
        "Parent Holdings",
        5_000,
        is_corporation=True,
        holder_brn=brn(900),
        is_largest=True,
        holder_total_assets_krw=10_000_000_000,
    )
    firms = [register(database, clock, n, shareholders=(parent,)) for n in (1, 2, 3)]
    decisions = [apply(database, clock, firm.id).decision for firm in firms]
    assert decisions == [Decision.APPROVED, Decision.APPROVED, Decision.REFUSED]
    with database.read() as session:
        refused = queries.get_application(
            session, application_id(PROGRAMME_ID, firms[2].id, "first")
        )
    assert refused is not None
    assert [reason.code for reason in refused.reasons] == [ReasonCode.GROUP_CAP]


def test_the_budget_is_a_hard_cap(database: Database, clock: SimulatedClock) -> None:
    programme = make_programme(database, clock, budget_micro=250 * CREDIT)
    firms = [register(database, clock, n) for n in (1, 2, 3)]
    decisions = [apply(database, clock, firm.id) for firm in firms]
    assert [d.decision for d in decisions] == [Decision.APPROVED] * 2 + [Decision.REFUSED]
    assert [reason.code for reason in decisions[2].reasons] == [ReasonCode.BUDGET_EXHAUSTED]
    assert balance(database, programme.accounts.pool) == 50 * CREDIT


def test_a_quota_reserves_budget_for_firms_outside_the_capital_region(
    database: Database, clock: SimulatedClock
) -> None:
    # 300 budget, 40 % (120) reserved outside the capital region: capital-region firms may
    # take the pool down to 120, not below.
    make_programme(database, clock, budget_micro=300 * CREDIT, quota_non_capital_bp=4_000)
    seoul = [register(database, clock, n, region=Region.SEOUL) for n in (1, 2)]
    jeonnam = register(database, clock, 3)
    assert apply(database, clock, seoul[0].id).decision is Decision.APPROVED  # pool 200 ≥ 120
    blocked = apply(database, clock, seoul[1].id)  # would leave 100 < 120
    assert [reason.code for reason in blocked.reasons] == [ReasonCode.QUOTA_RESERVED]
    assert apply(database, clock, jeonnam.id).decision is Decision.APPROVED  # pool 100
    # 100 of the 120 reserved are used; 20 stay reserved, so a capital firm can take 80 at most
    assert apply(database, clock, seoul[1].id, key="again").decision is Decision.REFUSED


def test_a_youth_quota_lets_youth_led_firms_draw_the_reserve(
    database: Database, clock: SimulatedClock
) -> None:
    make_programme(database, clock, budget_micro=200 * CREDIT, quota_youth_bp=5_000)
    older = [register(database, clock, n) for n in (1, 2)]
    young = register(database, clock, 3, youth_led=True)
    assert apply(database, clock, older[0].id).decision is Decision.APPROVED  # leaves 100
    assert apply(database, clock, older[1].id).decision is Decision.REFUSED
    assert apply(database, clock, young.id).decision is Decision.APPROVED
    with database.read() as session:
        report = queries.programme_report(session, PROGRAMME_ID)
    assert report is not None
    assert (report.granted_micro, report.granted_youth_micro) == (200 * CREDIT, 100 * CREDIT)


def test_bad_input_writes_nothing(database: Database, clock: SimulatedClock) -> None:
    make_programme(database, clock)
    firm = register(database, clock, 1)
    cases: list[tuple[NewApplication, type[Exception]]] = [
        (NewApplication(PROGRAMME_ID, firm.id, ""), InvalidRequestError),
        (NewApplication(PROGRAMME_ID, firm.id, "k" * 65), InvalidRequestError),
        (NewApplication(PROGRAMME_ID, firm.id, "bad\x00key"), InvalidRequestError),
        (NewApplication(PROGRAMME_ID + 1, firm.id, "k"), NotFoundError),
        (NewApplication(PROGRAMME_ID, firm.id + 100, "k"), NotFoundError),
    ]
    for new, error in cases:
        with pytest.raises(error), database.write() as session:
            service.apply_for_grant(session, new, clock)
    assert count_rows(database, "programme_applications") == 0
    assert count_rows(database, "programme_lots") == 0


def test_a_random_sample_is_deterministic(database: Database, clock: SimulatedClock) -> None:
    make_programme(database, clock, audit_sample_bp=10_000)
    firm = register(database, clock, 1)
    application = apply(database, clock, firm.id)
    assert application.audit_status is AuditStatus.SELECTED
    assert [r.code for r in application.audit_reasons] == [ReasonCode.RANDOM_SAMPLE]


def test_a_cluster_at_one_address_selects_all_its_approvals(
    database: Database, clock: SimulatedClock
) -> None:
    make_programme(database, clock, risk_cluster_min=3)
    firms = [
        register(database, clock, n, address="12-3 Teheran-ro, Gangnam-gu")
        if n != 2
        else register(database, clock, n, address="12 3 TEHERAN-RO  gangnam-GU")
        for n in (1, 2, 3)
    ]
    first, second = (apply(database, clock, firm.id) for firm in firms[:2])
    assert (first.audit_status, second.audit_status) == (AuditStatus.NOT_SELECTED,) * 2
    third = apply(database, clock, firms[2].id)
    assert [r.code for r in third.audit_reasons] == [ReasonCode.SHARED_ADDRESS]
    with database.read() as session:
        queue = queries.list_applications(
            session, limit=10, programme_id=PROGRAMME_ID, audit_status=AuditStatus.SELECTED
        )
    assert {application.id for application in queue} == {first.id, second.id, third.id}
    assert all("3 firms" in a.audit_reasons[0].text for a in queue)


def test_a_shared_contact_and_a_new_firm_are_selected(
    database: Database, clock: SimulatedClock
) -> None:
    make_programme(database, clock, risk_cluster_min=2, risk_founded_within_days=30)
    one = register(database, clock, 1, contact_email="agent@broker.kr")
    two = register(
        database, clock, 2, contact_email="Agent@Broker.kr", founded_on=date(2025, 12, 20)
    )
    apply(database, clock, one.id)
    second = apply(database, clock, two.id)
    assert [r.code for r in second.audit_reasons] == [
        ReasonCode.SHARED_CONTACT,
        ReasonCode.NEWLY_FOUNDED,
    ]
    assert "12 days" in second.audit_reasons[1].text


def test_a_failed_audit_claws_back_every_unspent_lot_and_bars_the_firm(
    database: Database, clock: SimulatedClock
) -> None:
    programme = make_programme(database, clock)
    firm = register(database, clock, 1)
    first = apply(database, clock, firm.id, key="a")
    apply(database, clock, firm.id, key="b")
    with database.write() as session:
        result = service.fail_audit(
            session, application_id=first.id, note="ghost-written", clock=clock
        )
    assert result.application.audit_status is AuditStatus.FAILED
    assert result.application.audit_note == "ghost-written"
    assert [c.clawed_back_micro for c in result.clawbacks] == [100 * CREDIT, 100 * CREDIT]
    assert balance(database, programme.accounts.clawback) == 200 * CREDIT
    with database.read() as session:
        lots = queries.list_lots(session, limit=10, firm_id=firm.id)
    assert {lot.status for lot in lots} == {LotStatus.CLAWED_BACK}
    with database.write() as session:
        again = service.fail_audit(session, application_id=first.id, note="", clock=clock)
    assert again.clawbacks == result.clawbacks
    barred = apply(database, clock, firm.id, key="c")
    assert ReasonCode.FAILED_AUDIT in [reason.code for reason in barred.reasons]
    with pytest.raises(ConflictError), database.write() as session:
        service.pass_audit(session, application_id=first.id, note="", clock=clock)


def test_a_passed_audit_takes_nothing(database: Database, clock: SimulatedClock) -> None:
    programme = make_programme(database, clock)
    firm = register(database, clock, 1)
    application = apply(database, clock, firm.id)
    for _ in range(2):
        with database.write() as session:
            result = service.pass_audit(
                session, application_id=application.id, note="documents checked", clock=clock
            )
        assert result.application.audit_status is AuditStatus.PASSED
        assert result.clawbacks == ()
    assert balance(database, programme.accounts.clawback) == 0
    with pytest.raises(ConflictError), database.write() as session:
        service.fail_audit(session, application_id=application.id, note="", clock=clock)


def test_audits_of_refused_or_unknown_applications_are_refused(
    database: Database, clock: SimulatedClock
) -> None:
    make_programme(database, clock)
    university = register(database, clock, 1, kind=OrgKind.UNIVERSITY)
    refused = apply(database, clock, university.id)
    with pytest.raises(ConflictError), database.write() as session:
        service.fail_audit(session, application_id=refused.id, note="", clock=clock)
    with pytest.raises(NotFoundError), database.write() as session:
        service.pass_audit(session, application_id=12345, note="", clock=clock)
    with pytest.raises(InvalidRequestError), database.write() as session:
        service.pass_audit(session, application_id=refused.id, note="x" * 501, clock=clock)


def test_expiry_sweeps_lots_to_the_expired_account_once(
    database: Database, clock: SimulatedClock
) -> None:
    programme = make_programme(database, clock, lot_lifetime_days=30)
    firms = [register(database, clock, n) for n in (1, 2)]
    apply(database, clock, firms[0].id)
    advance_days(clock, 10)
    apply(database, clock, firms[1].id)
    advance_days(clock, 20)  # the first lot's expiry day
    with database.write() as session:
        sweep = service.expire_lots(session, clock=clock)
    assert [lot.firm_id for lot in sweep.expired] == [firms[0].id]
    assert sweep.expired[0].status is LotStatus.EXPIRED
    assert sweep.expired[0].expired_micro == 100 * CREDIT
    assert (sweep.deferred, sweep.next_after_lot_id) == ((), None)
    with database.write() as session:
        assert service.expire_lots(session, clock=clock).expired == ()
    assert balance(database, programme.accounts.expired) == 100 * CREDIT
    with database.read() as session:
        closed = ledger_queries.get_account(session, sweep.expired[0].account_id)
    assert closed is not None
    assert closed.flags & AccountFlags.CLOSED
    advance_days(clock, 10)
    with database.write() as session:
        assert len(service.expire_lots(session, clock=clock).expired) == 1
    assert balance(database, programme.accounts.expired) == 200 * CREDIT


def test_expiry_pages_through_many_lots(database: Database, clock: SimulatedClock) -> None:
    make_programme(database, clock, lot_lifetime_days=1, firm_cap_micro=1_000 * CREDIT)
    firm = register(database, clock, 1)
    for n in range(5):
        apply(database, clock, firm.id, key=f"k{n}")
    advance_days(clock, 1)
    expired = 0
    after: int | None = 0
    while after is not None:
        with database.write() as session:
            sweep = service.expire_lots(session, clock=clock, after_lot_id=after, limit=2)
        expired += len(sweep.expired)
        after = sweep.next_after_lot_id
    assert expired == 5


def test_an_application_before_any_sme_rules_is_bad_input_and_writes_nothing(
    database: Database,
) -> None:
    early = SimulatedClock(start_ns=1_735_689_600 * 1_000_000_000)  # 2025-01-01, before the rules
    make_programme(database, early)
    firm = register(database, early, 1)
    with pytest.raises(InvalidRequestError, match="no SME rules were in force"):
        apply(database, early, firm.id)
    with database.read() as session:
        assert queries.list_applications(session, programme_id=PROGRAMME_ID, limit=10) == []

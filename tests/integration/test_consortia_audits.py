"""Post-audit of consortium-track grants on both databases: sampled like a firm's grants (the
anchor's signals), passed, or failed with the pool's unspent credits clawed back and the
consortium barred; the ledger verifies after each scenario."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ccx.clock import SimulatedClock
from ccx.consortia import MemberRole, NewContribution
from ccx.consortia import queries as consortium_queries
from ccx.consortia import service as consortium_service
from ccx.db import Database
from ccx.programs import (
    Application,
    AuditStatus,
    ConflictError,
    Decision,
    ReasonCode,
    Track,
    mandates,
)
from ccx.programs import queries as programme_queries
from ccx.programs import service as programme_service
from ccx.programs.ledger_ids import consortium_pool_account_id, programme_accounts
from ccx.registry import OrgKind
from tests.consortia_factories import add_member, anchor, make_consortium, sme
from tests.integration.test_programs_mandates import balance, spend
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    apply,
    certified_integrator,
    grant_mandate,
    make_programme,
    verified_ledger,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.usefixtures("verified_ledger")
BOTH_TRACKS = frozenset({Track.SME_DIRECT, Track.CONSORTIUM})
ACCOUNTS = programme_accounts(PROGRAMME_ID)


def consortium_grant(
    database: Database, clock: SimulatedClock, consortium_id: int, key: str = "g1"
) -> Application:
    with database.write() as session:
        return consortium_service.apply_for_grant(
            session, consortium_id=consortium_id, programme_id=PROGRAMME_ID, key=key, clock=clock
        )


def audit(database: Database, clock: SimulatedClock, application_id: int, outcome: str) -> Any:
    decide = programme_service.fail_audit if outcome == "fail" else programme_service.pass_audit
    with database.write() as session:
        return decide(session, application_id=application_id, note="site visit", clock=clock)


def test_a_sampled_consortium_grant_is_in_the_audit_queue_and_passes(
    database: Database, clock: SimulatedClock
) -> None:
    make_programme(database, clock, tracks=BOTH_TRACKS, audit_sample_bp=10_000)
    consortium = make_consortium(database, clock, anchor(database, clock, 1).id)
    granted = consortium_grant(database, clock, consortium.id)
    assert granted.audit_status is AuditStatus.SELECTED
    assert [r.code for r in granted.audit_reasons] == [ReasonCode.RANDOM_SAMPLE]
    with database.read() as session:
        queue = programme_queries.list_applications(
            session, limit=10, programme_id=PROGRAMME_ID, audit_status=AuditStatus.SELECTED
        )
    assert [application.id for application in queue] == [granted.id]
    for _ in range(2):
        passed = audit(database, clock, granted.id, "pass")
        assert (passed.application.audit_status, passed.clawbacks) == (AuditStatus.PASSED, ())
    assert balance(database, ACCOUNTS.clawback) == 0
    with pytest.raises(ConflictError):
        audit(database, clock, granted.id, "fail")


def test_the_risk_sample_looks_at_the_anchor(database: Database, clock: SimulatedClock) -> None:
    make_programme(
        database, clock, tracks=BOTH_TRACKS, risk_cluster_min=2, risk_founded_within_days=30
    )
    address = "5 Sanup-ro, Ulsan"
    lead = anchor(database, clock, 1, address=address, founded_on=date(2025, 12, 20))
    member = sme(database, clock, 2, address=address)
    earlier = apply(database, clock, member.id)
    assert earlier.audit_status is AuditStatus.NOT_SELECTED
    consortium = make_consortium(database, clock, lead.id)
    granted = consortium_grant(database, clock, consortium.id)
    assert [r.code for r in granted.audit_reasons] == [
        ReasonCode.SHARED_ADDRESS,
        ReasonCode.NEWLY_FOUNDED,
    ]
    with database.read() as session:
        flagged = programme_queries.get_application(session, earlier.id)
    assert flagged is not None
    assert [r.code for r in flagged.audit_reasons] == [ReasonCode.SHARED_ADDRESS]


def test_a_failed_audit_claws_back_the_unspent_pool_and_bars_the_consortium(
    database: Database, clock: SimulatedClock
) -> None:
    eligible = frozenset({OrgKind.SME, OrgKind.MID_SIZED})
    make_programme(database, clock, tracks=BOTH_TRACKS, eligible_kinds=eligible)
    lead = anchor(database, clock, 1)
    consortium = make_consortium(database, clock, lead.id)
    member = sme(database, clock, 2)
    add_member(database, clock, consortium.id, MemberRole.SME, member.id)
    apply(database, clock, member.id)
    new = NewContribution(consortium.id, PROGRAMME_ID, member.id, 20 * CREDIT, "c1")
    with database.write() as session:
        consortium_service.contribute(session, new, clock)
    granted = consortium_grant(database, clock, consortium.id)
    integrator = certified_integrator(database, clock, 3)
    mandate = grant_mandate(database, clock, lead.id, integrator.id, consortium_id=consortium.id)
    spend(database, clock, mandate.id, 30 * CREDIT, "s1")
    held = spend(database, clock, mandate.id, 10 * CREDIT, "s2", pending=True)

    failed = audit(database, clock, granted.id, "fail")
    assert failed.application.audit_status is AuditStatus.FAILED
    [pool] = failed.clawbacks
    assert pool.lot_account_id == consortium_pool_account_id(PROGRAMME_ID, consortium.id)
    assert (pool.granted_micro, pool.spent_micro, pool.held_micro, pool.clawed_back_micro) == (
        100 * CREDIT, 30 * CREDIT, 10 * CREDIT, 80 * CREDIT,
    )  # fmt: skip
    assert balance(database, ACCOUNTS.clawback) == 80 * CREDIT
    assert audit(database, clock, granted.id, "fail").clawbacks == failed.clawbacks
    assert balance(database, ACCOUNTS.clawback) == 80 * CREDIT
    with pytest.raises(ConflictError):
        audit(database, clock, granted.id, "pass")

    with database.write() as session:  # the hold can still be settled
        mandates.settle_spend(session, spend_id=held.id, post_micro=10 * CREDIT, clock=clock)
    with database.read() as session:
        [figures] = consortium_queries.list_pools(session, consortium.id)
    assert (figures.available_micro, figures.spent_micro, figures.clawed_back_micro) == (
        0, 40 * CREDIT, 80 * CREDIT,
    )  # fmt: skip

    barred = consortium_grant(database, clock, consortium.id, key="g2")
    assert [r.code for r in barred.reasons] == [ReasonCode.FAILED_AUDIT]
    assert "consortium failed an audit" in barred.reasons[0].text
    # the anchor's own track and the member's own lots are not touched
    own = apply(database, clock, lead.id, key="own")
    assert own.decision is Decision.APPROVED
    assert apply(database, clock, member.id, key="again").decision is Decision.APPROVED


def test_failing_a_second_grant_of_an_emptied_pool_takes_nothing_more(
    database: Database, clock: SimulatedClock
) -> None:
    make_programme(database, clock, tracks=BOTH_TRACKS)
    consortium = make_consortium(database, clock, anchor(database, clock, 1).id)
    first, second = (consortium_grant(database, clock, consortium.id, key) for key in ("a", "b"))
    [emptied] = audit(database, clock, first.id, "fail").clawbacks
    assert emptied.clawed_back_micro == 200 * CREDIT
    [nothing_left] = audit(database, clock, second.id, "fail").clawbacks
    assert (nothing_left.clawed_back_micro, nothing_left.spent_micro) == (0, 0)
    assert balance(database, ACCOUNTS.clawback) == 200 * CREDIT

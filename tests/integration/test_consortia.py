"""Consortia on both databases: forming, members, contributions from lots, consortium-track
grants into the pool, the shared model register; the ledger verifies after each scenario."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ccx.clock import SimulatedClock
from ccx.consortia import Contribution, MemberRole, Metric, NewContribution, NewSharedModel
from ccx.consortia import queries as consortium_queries
from ccx.consortia import service as consortium_service
from ccx.db import Database
from ccx.ledger import queries as ledger_queries
from ccx.programs import (
    AccountCode,
    Application,
    ConflictError,
    Decision,
    InvalidRequestError,
    NotFoundError,
    ReasonCode,
    RefusedError,
    Track,
)
from ccx.programs import queries as programme_queries
from ccx.programs.ledger_ids import consortium_pool_account_id
from ccx.registry import OrgKind, PersonRole
from ccx.registry import service as registry_service
from tests.consortia_factories import add_member, anchor, make_consortium, sme
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    advance_days,
    apply,
    certified_integrator,
    make_programme,
    register,
    verified_ledger,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.usefixtures("verified_ledger")
BOTH_TRACKS = frozenset({Track.SME_DIRECT, Track.CONSORTIUM})


def count(database: Database, table: str) -> int:
    with database.read() as session:
        return int(session.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)


def codes(error: RefusedError) -> list[ReasonCode]:
    return [reason.code for reason in error.reasons]


def test_a_consortium_forms_around_a_mid_sized_anchor(
    database: Database, clock: SimulatedClock
) -> None:
    lead = anchor(database, clock, 1)
    consortium = make_consortium(database, clock, lead.id, industry=" c30 ")
    assert (consortium.industry, consortium.anchor_id) == ("C30", lead.id)
    assert [(m.role, m.org_id) for m in consortium.members] == [(MemberRole.ANCHOR, lead.id)]
    with database.read() as session:
        assert consortium_queries.get_consortium(session, consortium.id) == consortium
        listed = consortium_queries.list_consortia(session, limit=10, member_org_id=lead.id)
    assert listed == [consortium]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"kind": OrgKind.SME}, ReasonCode.WRONG_KIND_FOR_ROLE),
        ({"ksic_code": "J62"}, ReasonCode.NOT_IN_INDUSTRY),
    ],
)
def test_the_wrong_anchor_is_refused(
    database: Database, clock: SimulatedClock, fields: dict[str, object], code: ReasonCode
) -> None:
    lead = anchor(database, clock, 1, **fields)
    with pytest.raises(RefusedError) as refused:
        make_consortium(database, clock, lead.id)
    assert codes(refused.value) == [code]
    assert count(database, "consortia") == 0


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"industry": "C3"}, "industry"),
        ({"industry": "Z30"}, "industry"),
        ({"regions": ()}, "at least one region"),
        ({"name": " "}, "name must not be empty"),
    ],
)
def test_bad_consortium_fields_write_nothing(
    database: Database, clock: SimulatedClock, changes: dict[str, object], problem: str
) -> None:
    lead = anchor(database, clock, 1)
    with pytest.raises(InvalidRequestError, match=problem):
        make_consortium(database, clock, lead.id, **changes)
    assert count(database, "consortia") == 0


def test_names_and_anchors_must_exist_and_be_unique(
    database: Database, clock: SimulatedClock
) -> None:
    lead = anchor(database, clock, 1)
    make_consortium(database, clock, lead.id)
    with pytest.raises(ConflictError, match="exists"):
        make_consortium(database, clock, lead.id)
    with pytest.raises(NotFoundError):
        make_consortium(database, clock, 999, name="Other")
    assert count(database, "consortia") == 1


def test_members_pass_their_role_checks(database: Database, clock: SimulatedClock) -> None:
    consortium = make_consortium(database, clock, anchor(database, clock, 1).id)
    member = sme(database, clock, 2)
    grouped = sme(database, clock, 3, business_group="Example Group")
    elsewhere = sme(database, clock, 4, ksic_code="J62")
    uncertified = register(database, clock, 5, kind=OrgKind.INTEGRATOR)
    integrator = certified_integrator(database, clock, 6)
    university = register(database, clock, 7, kind=OrgKind.UNIVERSITY, ksic_code="P85")
    with database.write() as session:
        researcher = registry_service.add_person(
            session, name="Park Jiwon", email="park@uni.kr", org_id=university.id,
            role=PersonRole.RESEARCHER, clock=clock,
        )  # fmt: skip
        staff = registry_service.add_person(
            session, name="Lee Sora", email="lee@uni.kr", org_id=university.id,
            role=PersonRole.STAFF, clock=clock,
        )  # fmt: skip

    add_member(database, clock, consortium.id, MemberRole.SME, member.id)
    add_member(database, clock, consortium.id, MemberRole.INTEGRATOR, integrator.id)
    joined = add_member(database, clock, consortium.id, MemberRole.UNIVERSITY, researcher.id)
    assert [(m.role, m.org_id, m.person_id) for m in joined.members[1:]] == [
        (MemberRole.SME, member.id, None),
        (MemberRole.INTEGRATOR, integrator.id, None),
        (MemberRole.UNIVERSITY, university.id, researcher.id),
    ]
    refusals = [
        (MemberRole.SME, grouped.id, ReasonCode.NOT_AN_SME),
        (MemberRole.SME, elsewhere.id, ReasonCode.NOT_IN_INDUSTRY),
        (MemberRole.SME, university.id, ReasonCode.WRONG_KIND_FOR_ROLE),
        (MemberRole.INTEGRATOR, uncertified.id, ReasonCode.NOT_CERTIFIED),
        (MemberRole.UNIVERSITY, staff.id, ReasonCode.NOT_A_RESEARCHER),
    ]
    for role, member_id, code in refusals:
        with pytest.raises(RefusedError) as refused:
            add_member(database, clock, consortium.id, role, member_id)
        assert codes(refused.value) == [code]
    for role, member_id in [(MemberRole.SME, member.id), (MemberRole.ANCHOR, member.id)]:
        with pytest.raises(ConflictError):
            add_member(database, clock, consortium.id, role, member_id)
    with pytest.raises(NotFoundError):
        add_member(database, clock, consortium.id, MemberRole.UNIVERSITY, 999)
    assert count(database, "consortium_members") == 4


def contribute(
    database: Database,
    clock: SimulatedClock,
    consortium_id: int,
    firm_id: int,
    credits: int,
    *,
    key: str = "c1",
) -> Contribution:
    new = NewContribution(consortium_id, PROGRAMME_ID, firm_id, credits * CREDIT, key)
    with database.write() as session:
        return consortium_service.contribute(session, new, clock)


def test_a_member_contributes_from_its_earliest_expiring_lots(
    database: Database, clock: SimulatedClock
) -> None:
    make_programme(database, clock)
    consortium = make_consortium(database, clock, anchor(database, clock, 1).id)
    member = sme(database, clock, 2)
    outsider = sme(database, clock, 3)
    add_member(database, clock, consortium.id, MemberRole.SME, member.id)
    early = apply(database, clock, member.id, key="a")
    advance_days(clock, 10)
    late = apply(database, clock, member.id, key="b")
    apply(database, clock, outsider.id)

    given = contribute(database, clock, consortium.id, member.id, 150)
    assert [(leg.lot_account_id, leg.amount_micro) for leg in given.legs] == [
        (early.lot_account_id, 100 * CREDIT),
        (late.lot_account_id, 50 * CREDIT),
    ]
    assert contribute(database, clock, consortium.id, member.id, 150) == given  # a retry
    with pytest.raises(ConflictError):
        contribute(database, clock, consortium.id, member.id, 10)
    with pytest.raises(RefusedError) as beyond:
        contribute(database, clock, consortium.id, member.id, 51, key="c2")
    assert codes(beyond.value) == [ReasonCode.INSUFFICIENT_CREDITS]
    with pytest.raises(RefusedError) as stranger:
        contribute(database, clock, consortium.id, outsider.id, 1, key="c3")
    assert codes(stranger.value) == [ReasonCode.NOT_A_MEMBER]
    with pytest.raises(InvalidRequestError):
        contribute(database, clock, consortium.id, member.id, 0, key="c4")

    pool_id = consortium_pool_account_id(PROGRAMME_ID, consortium.id)
    with database.read() as session:
        [pool] = consortium_queries.list_pools(session, consortium.id)
        account = ledger_queries.get_account(session, pool_id)
        [listed] = consortium_queries.list_contributions(
            session, consortium_id=consortium.id, limit=10
        )
    assert (pool.account_id, pool.available_micro, pool.contributed_micro) == (
        pool_id, 150 * CREDIT, 150 * CREDIT,
    )  # fmt: skip
    assert account is not None
    assert (account.code, account.owner_org_id) == (
        AccountCode.CONSORTIUM_POOL,
        consortium.anchor_id,
    )
    assert listed == given


def test_consortium_track_grants_fund_the_pool_within_the_cap(
    database: Database, clock: SimulatedClock
) -> None:
    make_programme(database, clock, tracks=BOTH_TRACKS)
    lead = anchor(database, clock, 1)
    consortium = make_consortium(database, clock, lead.id)

    def grant(key: str) -> Application:
        with database.write() as session:
            return consortium_service.apply_for_grant(
                session, consortium_id=consortium.id, programme_id=PROGRAMME_ID, key=key,
                clock=clock,
            )  # fmt: skip

    first = grant("g1")
    assert (first.decision, first.track, first.firm_id) == (
        Decision.APPROVED, Track.CONSORTIUM, lead.id,
    )  # fmt: skip
    assert first.lot_account_id == consortium_pool_account_id(PROGRAMME_ID, consortium.id)
    assert grant("g1") == first
    grant("g2")
    capped = grant("g3")
    assert [reason.code for reason in capped.reasons] == [ReasonCode.CONSORTIUM_CAP]
    # the anchor's own key space is shared with its consortia's applications
    with pytest.raises(ConflictError):
        apply(database, clock, lead.id, key="g1")
    with database.read() as session:
        [pool] = consortium_queries.list_pools(session, consortium.id)
        report = programme_queries.programme_report(session, PROGRAMME_ID)
    assert (pool.granted_micro, pool.available_micro) == (200 * CREDIT, 200 * CREDIT)
    assert report is not None
    assert report.granted_micro == 200 * CREDIT


def test_a_programme_without_the_track_refuses_consortia(
    database: Database, clock: SimulatedClock
) -> None:
    make_programme(database, clock)
    consortium = make_consortium(database, clock, anchor(database, clock, 1).id)
    with database.write() as session:
        refused = consortium_service.apply_for_grant(
            session, consortium_id=consortium.id, programme_id=PROGRAMME_ID, key="g", clock=clock
        )
    assert [reason.code for reason in refused.reasons] == [ReasonCode.TRACK_NOT_OFFERED]
    with pytest.raises(NotFoundError), database.write() as session:
        consortium_service.apply_for_grant(
            session, consortium_id=consortium.id, programme_id=99, key="g", clock=clock
        )


def test_the_shared_model_register(database: Database, clock: SimulatedClock) -> None:
    consortium = make_consortium(database, clock, anchor(database, clock, 1).id)
    new = NewSharedModel(
        consortium_id=consortium.id,
        name="weld-defect-ko",
        base_model="Qwen2.5-VL-7B",
        task="weld defect detection",
        hardware_profile="8x H100 80GB",
        licence="Apache-2.0",
        metrics=(Metric("mAP@0.5", "0.874"), Metric("images", "120000")),
    )
    with database.write() as session:
        model = consortium_service.register_model(session, new, clock)
    assert (model.name, model.metrics[0]) == ("weld-defect-ko", Metric("mAP@0.5", "0.874"))
    for broken, error in [
        (new, ConflictError),
        (
            NewSharedModel(consortium.id, "m2", "", "t", "h", "l", (Metric("f1", "high"),)),
            InvalidRequestError,
        ),
        (NewSharedModel(999, "m3", "b", "t", "h", "l"), NotFoundError),
    ]:
        with pytest.raises(error), database.write() as session:
            consortium_service.register_model(session, broken, clock)
    with database.read() as session:
        assert consortium_queries.list_models(session, consortium_id=consortium.id, limit=5) == [
            model
        ]

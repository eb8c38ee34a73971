"""Consortium mandates on both databases: the anchor lets a certified integrator spend from
the consortium's pool; spends, holds and fees draw from the pool; the ledger verifies after
each scenario."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from ccx.clock import SimulatedClock
from ccx.consortia import MemberRole, NewContribution
from ccx.consortia import service as consortium_service
from ccx.db import Database
from ccx.programs import (
    ConflictError,
    InvalidRequestError,
    Mandate,
    NotFoundError,
    ReasonCode,
    RefusedError,
    SpendStatus,
    mandates,
    queries,
)
from ccx.programs.ledger_ids import consortium_pool_account_id, payable_account_id
from ccx.registry import Shareholder
from tests.consortia_factories import add_member, anchor, make_consortium, sme
from tests.integration.test_programs_mandates import ACCOUNTS, balance, refusal_codes, spend
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    advance_days,
    apply,
    certified_integrator,
    grant_mandate,
    make_programme,
    verified_ledger,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.usefixtures("verified_ledger")


@dataclass(frozen=True, slots=True)
class Scene:
    anchor_id: int
    member_id: int
    consortium_id: int
    integrator_id: int
    pool_id: int


def setup(database: Database, clock: SimulatedClock, *, pooled: int = 100) -> Scene:
    """The standard programme; a consortium whose SME member put `pooled` credits (of its
    100-credit lot) into the pool; a certified integrator."""
    make_programme(database, clock)
    consortium = make_consortium(database, clock, anchor(database, clock, 1).id)
    member = sme(database, clock, 2)
    add_member(database, clock, consortium.id, MemberRole.SME, member.id)
    apply(database, clock, member.id)
    if pooled:
        new = NewContribution(consortium.id, PROGRAMME_ID, member.id, pooled * CREDIT, "c1")
        with database.write() as session:
            consortium_service.contribute(session, new, clock)
    integrator = certified_integrator(database, clock, 3)
    return Scene(
        consortium.anchor_id,
        member.id,
        consortium.id,
        integrator.id,
        consortium_pool_account_id(PROGRAMME_ID, consortium.id),
    )


def grant(database: Database, clock: SimulatedClock, scene: Scene, **changes: Any) -> Mandate:
    values: dict[str, Any] = {"consortium_id": scene.consortium_id} | changes
    return grant_mandate(database, clock, scene.anchor_id, scene.integrator_id, **values)


def test_the_anchor_grants_a_mandate_over_the_pool_once(
    database: Database, clock: SimulatedClock
) -> None:
    scene = setup(database, clock)
    mandate = grant(database, clock, scene)
    assert (mandate.consortium_id, mandate.firm_id, mandate.cap_micro) == (
        scene.consortium_id,
        scene.anchor_id,
        50 * CREDIT,
    )
    assert grant(database, clock, scene) == mandate
    with pytest.raises(ConflictError):
        grant(database, clock, scene, cap_micro=60 * CREDIT)
    with pytest.raises(ConflictError):  # the anchor's keys are shared with its own mandates
        grant(database, clock, scene, consortium_id=None)
    with database.read() as session:
        for_anchor = queries.list_mandates(session, limit=10, party_id=scene.anchor_id)
        for_integrator = queries.list_mandates(session, limit=10, party_id=scene.integrator_id)
    assert for_anchor == for_integrator == [mandate]


def test_only_the_anchor_grants_to_a_certified_unrelated_integrator(
    database: Database, clock: SimulatedClock
) -> None:
    scene = setup(database, clock)
    with pytest.raises(RefusedError) as member:
        grant_mandate(
            database, clock, scene.member_id, scene.integrator_id, consortium_id=scene.consortium_id
        )
    assert refusal_codes(member) == [ReasonCode.NOT_THE_ANCHOR]
    owner = Shareholder("Kim Minjun", 6_000, is_largest=True)
    related_anchor = anchor(database, clock, 4, shareholders=(owner,))
    related = certified_integrator(database, clock, 5, shareholders=(owner,))
    other = make_consortium(database, clock, related_anchor.id, name="Related")
    with pytest.raises(RefusedError) as conflicted:
        grant_mandate(database, clock, related_anchor.id, related.id, consortium_id=other.id)
    assert ReasonCode.CONFLICT_OF_INTEREST in refusal_codes(conflicted)
    assert refusal_codes(conflicted)[-1] == ReasonCode.NO_CREDITS_IN_PROGRAMME  # no pool
    advance_days(clock, 800)  # past the integrator's certification (end of 2027)
    with pytest.raises(RefusedError) as lapsed:
        grant(database, clock, scene, valid_until=date(2028, 6, 30))
    assert refusal_codes(lapsed) == [ReasonCode.NOT_CERTIFIED]
    with database.read() as session:
        assert queries.list_mandates(session, limit=10) == []


def test_bad_consortium_mandate_input_writes_nothing(
    database: Database, clock: SimulatedClock
) -> None:
    scene = setup(database, clock)
    with pytest.raises(NotFoundError):
        grant(database, clock, scene, consortium_id=999)
    with pytest.raises(InvalidRequestError):
        grant(database, clock, scene, cap_micro=0)
    with pytest.raises(InvalidRequestError):
        grant(database, clock, scene, valid_until=date(2025, 12, 31))
    with database.read() as session:
        assert queries.list_mandates(session, limit=10) == []


def test_spends_draw_from_the_pool_up_to_the_cap(database: Database, clock: SimulatedClock) -> None:
    scene = setup(database, clock, pooled=40)
    mandate = grant(database, clock, scene)
    spent = spend(database, clock, mandate.id, 30 * CREDIT, "s1")
    assert (spent.consortium_id, spent.firm_id, spent.integrator_id) == (
        scene.consortium_id,
        scene.anchor_id,
        scene.integrator_id,
    )
    assert [(leg.lot_account_id, leg.amount_micro) for leg in spent.legs] == [
        (scene.pool_id, 30 * CREDIT)
    ]
    assert spend(database, clock, mandate.id, 30 * CREDIT, "s1") == spent  # a retry
    with pytest.raises(RefusedError) as short:
        spend(database, clock, mandate.id, 11 * CREDIT, "s2")
    assert refusal_codes(short) == [ReasonCode.INSUFFICIENT_CREDITS]
    assert "pool" in short.value.reasons[0].text
    assert (balance(database, scene.pool_id), balance(database, ACCOUNTS.centre_revenue)) == (
        10 * CREDIT,
        30 * CREDIT,
    )


def test_holds_on_the_pool_count_until_settled_or_voided(
    database: Database, clock: SimulatedClock
) -> None:
    scene = setup(database, clock)
    mandate = grant(database, clock, scene, cap_micro=50 * CREDIT)
    first, second = (
        spend(database, clock, mandate.id, amount * CREDIT, key, pending=True, timeout_s=3600)
        for amount, key in ((30, "h1"), (20, "h2"))
    )
    assert (first.status, balance(database, scene.pool_id)) == (SpendStatus.HELD, 100 * CREDIT)
    with pytest.raises(RefusedError) as full:
        spend(database, clock, mandate.id, 1, "s1")
    assert refusal_codes(full) == [ReasonCode.MANDATE_CAP]
    with database.write() as session:
        mandates.settle_spend(session, spend_id=first.id, post_micro=30 * CREDIT, clock=clock)
        voided = mandates.settle_spend(session, spend_id=second.id, post_micro=0, clock=clock)
        shown = queries.get_mandate(session, mandate.id)
    assert voided.legs[0].posted_micro == 0
    assert shown is not None
    assert shown.drawn_micro == 30 * CREDIT
    assert balance(database, scene.pool_id) == 70 * CREDIT
    assert balance(database, ACCOUNTS.centre_revenue) == 30 * CREDIT


def test_the_fee_comes_from_the_pool_within_the_service_share(
    database: Database, clock: SimulatedClock
) -> None:
    scene = setup(database, clock)
    mandate = grant(database, clock, scene, cap_micro=50 * CREDIT)

    def redeem(amount: int, key: str) -> None:
        with database.write() as session:
            mandates.redeem_service_fee(
                session, mandate_id=mandate.id, amount_micro=amount, transfer_key=key, clock=clock
            )

    redeem(5 * CREDIT, "f1")
    with pytest.raises(RefusedError) as beyond:
        redeem(1, "f2")
    assert refusal_codes(beyond) == [ReasonCode.FEE_SHARE]
    payable = payable_account_id(PROGRAMME_ID, scene.integrator_id)
    assert (balance(database, payable), balance(database, scene.pool_id)) == (
        5 * CREDIT,
        95 * CREDIT,
    )


def test_a_revoked_or_lapsed_pool_mandate_spends_nothing(
    database: Database, clock: SimulatedClock
) -> None:
    scene = setup(database, clock)
    revoked = grant(database, clock, scene)
    lapsing = grant(database, clock, scene, key="m2", valid_until=date(2026, 1, 31))
    with database.write() as session:
        mandates.revoke_mandate(session, mandate_id=revoked.id, clock=clock)
    with pytest.raises(RefusedError) as stopped:
        spend(database, clock, revoked.id, CREDIT, "s1")
    assert refusal_codes(stopped) == [ReasonCode.MANDATE_REVOKED]
    spend(database, clock, lapsing.id, CREDIT, "s1")
    advance_days(clock, 31)
    with pytest.raises(RefusedError) as lapsed:
        spend(database, clock, lapsing.id, CREDIT, "s2")
    assert refusal_codes(lapsed) == [ReasonCode.MANDATE_EXPIRED]
    assert balance(database, scene.pool_id) == 99 * CREDIT

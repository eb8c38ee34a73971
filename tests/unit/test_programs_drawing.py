"""The pure rules of mandates and spends: drawing order, caps, fee share, settlement."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccx.ledger.types import PendingStatus
from ccx.programs import Mandate, Reason, ReasonCode, SpendKind
from ccx.programs.drawing import (
    SpendableLot,
    drawn_by_leg,
    fee_max_micro,
    grant_reasons,
    plan_draw,
    spend_reasons,
    split_post,
)
from ccx.registry import Certification, CertificationStatus, OrgKind
from tests.registry_factories import org

TODAY = date(2026, 3, 1)
CERTIFIED = Certification(1, CertificationStatus.CERTIFIED, date(2026, 12, 31), 0)
MANDATE = Mandate(
    id=9,
    programme_id=7,
    firm_id=2,
    integrator_id=1,
    key="m",
    project="p",
    cap_micro=100,
    valid_until=date(2026, 6, 30),
    granted_at_ns=0,
    revoked_at_ns=None,
    drawn_micro=0,
    fees_micro=0,
    fee_max_micro=10,
)


def codes(reasons: list[Reason]) -> list[ReasonCode]:
    return [reason.code for reason in reasons]


def test_earliest_expiry_first_then_lot_id() -> None:
    lots = [
        SpendableLot(5, date(2026, 5, 1), 30),
        SpendableLot(3, date(2026, 4, 1), 10),
        SpendableLot(4, date(2026, 4, 1), 0),
        SpendableLot(2, date(2026, 4, 1), 20),
    ]
    assert plan_draw(lots, 45) == [(2, 20), (3, 10), (5, 15)]
    assert plan_draw(lots, 20) == [(2, 20)]


@given(
    st.lists(
        st.tuples(st.integers(0, 1_000), st.dates(date(2026, 1, 1), date(2026, 12, 31))),
        min_size=1,
        max_size=8,
    ),
    st.data(),
)
def test_a_plan_draws_exactly_the_amount_in_expiry_order(
    lots_data: list[tuple[int, date]], data: st.DataObject
) -> None:
    lots = [SpendableLot(i + 1, day, amount) for i, (amount, day) in enumerate(lots_data)]
    total = sum(lot.available_micro for lot in lots)
    if total == 0:
        return
    amount = data.draw(st.integers(1, total))
    plan = plan_draw(lots, amount)
    by_id = {lot.account_id: lot for lot in lots}
    assert sum(take for _, take in plan) == amount
    assert all(0 < take <= by_id[lot_id].available_micro for lot_id, take in plan)
    keys = [(by_id[lot_id].expires_on, lot_id) for lot_id, _ in plan]
    assert keys == sorted(keys)
    # every lot before the last one drawn is emptied
    assert all(take == by_id[lot_id].available_micro for lot_id, take in plan[:-1])


@given(st.lists(st.integers(0, 1_000), min_size=1, max_size=6), st.data())
def test_split_post_posts_in_order(legs: list[int], data: st.DataObject) -> None:
    post = data.draw(st.integers(0, sum(legs)))
    posts = split_post(legs, post)
    assert sum(posts) == post
    assert all(0 <= p <= leg for p, leg in zip(posts, legs, strict=True))


@pytest.mark.parametrize(
    ("pending", "posted", "hold", "drawn"),
    [
        (False, 7, None, 10),
        (True, None, PendingStatus.PENDING, 10),
        (True, 4, PendingStatus.POSTED, 4),
        (True, None, PendingStatus.POSTED, 10),
        (True, None, PendingStatus.VOIDED, 0),
        (True, None, PendingStatus.EXPIRED, 0),
    ],
)
def test_what_a_leg_counts_against_the_cap(
    pending: bool, posted: int | None, hold: PendingStatus | None, drawn: int
) -> None:
    assert drawn_by_leg(10, pending=pending, posted_micro=posted, hold=hold) == drawn


def test_the_fee_share_rounds_down() -> None:
    assert fee_max_micro(999, 1_000) == 99
    assert fee_max_micro(50_000_000, 1_000) == 5_000_000


def test_a_spend_within_everything_is_allowed() -> None:
    assert (
        spend_reasons(
            MANDATE,
            kind=SpendKind.COMPUTE,
            amount_micro=100,
            available_micro=100,
            certification=CERTIFIED,
            today=TODAY,
        )
        == []
    )


def test_every_spend_reason_is_listed() -> None:
    spent = dataclasses.replace(MANDATE, revoked_at_ns=1, drawn_micro=95, fees_micro=8)
    reasons = spend_reasons(
        spent,
        kind=SpendKind.SERVICE_FEE,
        amount_micro=6,
        available_micro=5,
        certification=dataclasses.replace(CERTIFIED, status=CertificationStatus.SUSPENDED),
        today=date(2026, 7, 1),
    )
    assert codes(reasons) == [
        ReasonCode.MANDATE_REVOKED,
        ReasonCode.MANDATE_EXPIRED,
        ReasonCode.NOT_CERTIFIED,
        ReasonCode.MANDATE_CAP,
        ReasonCode.FEE_SHARE,
        ReasonCode.INSUFFICIENT_CREDITS,
    ]


@pytest.mark.parametrize(
    ("kind", "fees", "amount", "allowed"),
    [
        (SpendKind.SERVICE_FEE, 0, 10, True),
        (SpendKind.SERVICE_FEE, 0, 11, False),
        (SpendKind.SERVICE_FEE, 4, 6, True),
        (SpendKind.COMPUTE, 10, 90, True),
    ],
)
def test_the_fee_share_boundary(kind: SpendKind, fees: int, amount: int, allowed: bool) -> None:
    mandate = dataclasses.replace(MANDATE, fees_micro=fees, drawn_micro=fees)
    reasons = spend_reasons(
        mandate,
        kind=kind,
        amount_micro=amount,
        available_micro=1_000,
        certification=CERTIFIED,
        today=TODAY,
    )
    assert (reasons == []) is allowed


def test_the_last_day_of_a_mandate_and_a_certification_still_count() -> None:
    last = dataclasses.replace(CERTIFIED, certified_until=date(2026, 6, 30))
    assert (
        spend_reasons(
            MANDATE,
            kind=SpendKind.COMPUTE,
            amount_micro=1,
            available_micro=1,
            certification=last,
            today=date(2026, 6, 30),
        )
        == []
    )


def test_grant_reasons() -> None:
    integrator = org(id=1, kind=OrgKind.INTEGRATOR)
    assert grant_reasons(integrator, CERTIFIED, conflicts=[], firm_has_lots=True, today=TODAY) == []
    lapsed = dataclasses.replace(CERTIFIED, certified_until=date(2026, 2, 1))
    reasons = grant_reasons(
        org(id=1), lapsed, conflicts=["same address"], firm_has_lots=False, today=TODAY
    )
    assert codes(reasons) == [
        ReasonCode.NOT_AN_INTEGRATOR,
        ReasonCode.NOT_CERTIFIED,
        ReasonCode.CONFLICT_OF_INTEREST,
        ReasonCode.NO_CREDITS_IN_PROGRAMME,
    ]
    assert "was certified until 2026-02-01" in reasons[1].text
    unknown = grant_reasons(integrator, None, conflicts=[], firm_has_lots=True, today=TODAY)
    assert "never applied" in unknown[0].text

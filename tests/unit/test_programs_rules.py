"""The pure rules of programmes: terms, the approve-first decision, quotas and caps."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccx.programs import GrantRule, Reason, ReasonCode, Track
from ccx.programs.rules import (
    Applicant,
    Usage,
    decide,
    group_key,
    programme_problems,
    unused_reserves_micro,
)
from ccx.programs.types import credits_text, krw_for, parse_credits
from ccx.registry import OrgKind, Shareholder, SizeClass
from tests.programs_factories import CREDIT, new_programme, terms
from tests.registry_factories import brn, org

TODAY = date(2026, 3, 1)
APPLICANT = Applicant(
    kind=OrgKind.SME,
    sme_reasons=(),
    size_class=SizeClass.SMALL,
    group_key=None,
    in_capital_region=False,
    youth_led=False,
)
USAGE = Usage(
    granted_non_capital_micro=0,
    granted_youth_micro=0,
    firm_granted_micro=0,
    group_granted_micro=0,
    pool_available_micro=1_000 * CREDIT,
    firm_failed_audit=False,
)


def codes(reasons: tuple[Reason, ...]) -> list[ReasonCode]:
    return [reason.code for reason in reasons]


@pytest.mark.parametrize(
    ("text", "micro"),
    [("57000", 57_000 * CREDIT), ("0.5", 500_000), ("1,000", 1_000 * CREDIT), ("0.000001", 1)],
)
def test_credits_parse(text: str, micro: int) -> None:
    assert parse_credits(text) == micro


@pytest.mark.parametrize("text", ["", "abc", "-1", "0.0000001", "1e30", "nan", "inf"])
def test_bad_credits_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_credits(text)


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_credits_text_round_trips(micro: int) -> None:
    assert parse_credits(credits_text(micro)) == micro


def test_krw_rounds_down() -> None:
    assert krw_for(1_500_000, 3_500) == 5_250
    assert krw_for(1, 3_500) == 0


def test_good_terms_have_no_problems() -> None:
    assert programme_problems(new_programme()) == []


def test_grants_must_be_fixed_or_by_size_and_within_the_budget() -> None:
    both = new_programme(grant=GrantRule(CREDIT, {SizeClass.MICRO: CREDIT}))
    huge = new_programme(grant=GrantRule(by_size_micro={SizeClass.MICRO: 2_000 * CREDIT}))
    assert programme_problems(both) == ["give either a fixed grant or grants by size class"]
    assert programme_problems(huge) == ["a grant must be at most 1,000 credits, not 2,000"]


def test_an_eligible_firm_gets_the_grant() -> None:
    decision = decide(terms(), APPLICANT, USAGE, track=Track.SME_DIRECT, today=TODAY)
    assert decision.approved
    assert decision.amount_micro == 100 * CREDIT


def test_grant_by_size_class() -> None:
    by_size = terms(grant=GrantRule(by_size_micro={SizeClass.MICRO: 10 * CREDIT}))
    micro = dataclasses.replace(APPLICANT, size_class=SizeClass.MICRO)
    assert decide(by_size, micro, USAGE, track=Track.SME_DIRECT, today=TODAY).amount_micro == (
        10 * CREDIT
    )
    refused = decide(by_size, APPLICANT, USAGE, track=Track.SME_DIRECT, today=TODAY)
    assert codes(refused.reasons) == [ReasonCode.NO_GRANT_FOR_SIZE]
    assert refused.amount_micro == 0


def test_every_reason_is_listed() -> None:
    applicant = dataclasses.replace(
        APPLICANT,
        sme_reasons=("sales over the cap", "affiliate of a group"),
        group_key="group:X",
        in_capital_region=True,
    )
    usage = dataclasses.replace(
        USAGE,
        firm_granted_micro=150 * CREDIT,
        group_granted_micro=250 * CREDIT,
        firm_failed_audit=True,
        pool_available_micro=50 * CREDIT,
    )
    decision = decide(
        terms(),
        applicant,
        usage,
        track=Track.CONSORTIUM,
        today=date(2027, 1, 1),
    )
    assert codes(decision.reasons) == [
        ReasonCode.NOT_AN_SME,
        ReasonCode.NOT_AN_SME,
        ReasonCode.PROGRAMME_NOT_OPEN,
        ReasonCode.TRACK_NOT_OFFERED,
        ReasonCode.FAILED_AUDIT,
        ReasonCode.FIRM_CAP,
        ReasonCode.GROUP_CAP,
        ReasonCode.BUDGET_EXHAUSTED,
    ]
    assert not decision.approved


def test_the_consortium_track_is_not_for_firms() -> None:
    both = terms(tracks=frozenset(Track))
    decision = decide(both, APPLICANT, USAGE, track=Track.CONSORTIUM, today=TODAY)
    assert codes(decision.reasons) == [ReasonCode.TRACK_NOT_FOR_FIRMS]


@pytest.mark.parametrize(
    ("day", "open_"),
    [
        (date(2025, 12, 31), False),
        (date(2026, 1, 1), True),
        (date(2026, 12, 31), True),
        (date(2027, 1, 1), False),
    ],
)
def test_the_programme_is_open_from_its_first_to_its_last_day(day: date, open_: bool) -> None:
    decision = decide(terms(), APPLICANT, USAGE, track=Track.SME_DIRECT, today=day)
    assert decision.approved is open_


@pytest.mark.parametrize(("granted", "approved"), [(100 * CREDIT, True), (100 * CREDIT + 1, False)])
def test_the_firm_cap_boundary(granted: int, approved: bool) -> None:
    usage = dataclasses.replace(USAGE, firm_granted_micro=granted)
    decision = decide(terms(), APPLICANT, usage, track=Track.SME_DIRECT, today=TODAY)
    assert decision.approved is approved


@pytest.mark.parametrize(("granted", "approved"), [(200 * CREDIT, True), (200 * CREDIT + 1, False)])
def test_the_group_cap_boundary(granted: int, approved: bool) -> None:
    applicant = dataclasses.replace(APPLICANT, group_key="parent:1")
    usage = dataclasses.replace(USAGE, group_granted_micro=granted)
    decision = decide(terms(), applicant, usage, track=Track.SME_DIRECT, today=TODAY)
    assert decision.approved is approved


@pytest.mark.parametrize(("pool", "approved"), [(100 * CREDIT, True), (100 * CREDIT - 1, False)])
def test_the_budget_boundary(pool: int, approved: bool) -> None:
    usage = dataclasses.replace(USAGE, pool_available_micro=pool)
    decision = decide(terms(), APPLICANT, usage, track=Track.SME_DIRECT, today=TODAY)
    assert decision.approved is approved


@pytest.mark.parametrize(("pool", "approved"), [(500 * CREDIT, True), (500 * CREDIT - 1, False)])
def test_the_quota_boundary(pool: int, approved: bool) -> None:
    # 40 % of 1,000 reserved outside the capital region: a capital firm leaves 400 in the pool.
    quota = terms(quota_non_capital_bp=4_000)
    seoul = dataclasses.replace(APPLICANT, in_capital_region=True)
    usage = dataclasses.replace(USAGE, pool_available_micro=pool)
    decision = decide(quota, seoul, usage, track=Track.SME_DIRECT, today=TODAY)
    assert decision.approved is approved
    outside = decide(quota, APPLICANT, usage, track=Track.SME_DIRECT, today=TODAY)
    assert outside.approved


def test_reserves_shrink_as_qualifying_firms_are_granted() -> None:
    quota = terms(quota_non_capital_bp=4_000, quota_youth_bp=2_000)
    usage = dataclasses.replace(
        USAGE, granted_non_capital_micro=300 * CREDIT, granted_youth_micro=250 * CREDIT
    )
    assert unused_reserves_micro(quota, usage) == (100 * CREDIT, 0)


def test_group_key_is_the_business_group_or_the_parent() -> None:
    parent = Shareholder("Parent", 3_000, is_corporation=True, holder_brn=brn(9), is_largest=True)
    minority = dataclasses.replace(parent, share_bp=2_999)
    person = dataclasses.replace(parent, is_corporation=False)
    assert group_key(org(business_group="Hanwha")) == "group:Hanwha"
    assert group_key(org(shareholders=(parent,))) == f"parent:{brn(9)}"
    assert group_key(org(shareholders=(minority,))) is None
    assert group_key(org(shareholders=(person,))) is None


APPLICANTS = st.builds(
    Applicant,
    kind=st.just(OrgKind.SME),
    sme_reasons=st.just(()),
    size_class=st.sampled_from(SizeClass),
    group_key=st.sampled_from([None, "group:A", "group:B"]),
    in_capital_region=st.booleans(),
    youth_led=st.booleans(),
)


@settings(max_examples=200)
@given(
    budget=st.integers(min_value=1, max_value=2_000),
    non_capital_bp=st.integers(min_value=0, max_value=6_000),
    youth_bp=st.integers(min_value=0, max_value=4_000),
    grants=st.tuples(*(st.integers(min_value=1, max_value=300) for _ in SizeClass)),
    firms=st.lists(st.tuples(st.integers(min_value=0, max_value=9), APPLICANTS), max_size=60),
)
def test_a_run_of_decisions_keeps_every_cap_and_reserve(
    budget: int,
    non_capital_bp: int,
    youth_bp: int,
    grants: tuple[int, int, int],
    firms: list[tuple[int, Applicant]],
) -> None:
    rules = terms(
        budget_micro=budget * CREDIT,
        grant=GrantRule(
            by_size_micro=dict(zip(SizeClass, (g * CREDIT for g in grants), strict=True))
        ),
        firm_cap_micro=400 * CREDIT,
        group_cap_micro=700 * CREDIT,
        quota_non_capital_bp=non_capital_bp,
        quota_youth_bp=youth_bp,
    )
    by_firm: dict[int, int] = {}
    by_group: dict[str, int] = {}
    non_capital = youth = granted = 0
    for firm, applicant in firms:
        usage = Usage(
            granted_non_capital_micro=non_capital,
            granted_youth_micro=youth,
            firm_granted_micro=by_firm.get(firm, 0),
            group_granted_micro=by_group.get(applicant.group_key or "", 0),
            pool_available_micro=rules.budget_micro - granted,
            firm_failed_audit=False,
        )
        decision = decide(rules, applicant, usage, track=Track.SME_DIRECT, today=TODAY)
        amount = decision.amount_micro
        granted += amount
        by_firm[firm] = by_firm.get(firm, 0) + amount
        if applicant.group_key:
            by_group[applicant.group_key] = by_group.get(applicant.group_key, 0) + amount
        non_capital += 0 if applicant.in_capital_region else amount
        youth += amount if applicant.youth_led else 0
        after = dataclasses.replace(
            usage,
            granted_non_capital_micro=non_capital,
            granted_youth_micro=youth,
            pool_available_micro=rules.budget_micro - granted,
        )
        assert granted <= rules.budget_micro
        assert sum(unused_reserves_micro(rules, after)) <= rules.budget_micro - granted
    assert all(total <= rules.firm_cap_micro for total in by_firm.values())
    assert all(total <= rules.group_cap_micro for total in by_group.values())

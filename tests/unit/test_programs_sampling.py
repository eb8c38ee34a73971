"""Which approvals go to post-audit (pure)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from ccx.programs import ReasonCode
from ccx.programs.sampling import (
    RiskSignals,
    audit_reasons,
    contact_key,
    in_random_sample,
)
from tests.programs_factories import terms
from tests.registry_factories import org

TODAY = date(2026, 3, 1)
QUIET = RiskSignals(firms_at_address=1, firms_with_contact=1, founded_on=date(2020, 1, 1))


def test_addresses_and_contacts_are_compared_loosely() -> None:
    def key(address: str) -> str:
        return org(address=address).address_key

    assert key("12-3 Teheran-ro, Gangnam-gu") == key("12 3 TEHERAN RO gangnam gu")
    assert key("서울 강남구 테헤란로 1") == key("서울강남구테헤란로1")
    assert key("12 Teheran-ro") != key("13 Teheran-ro")
    assert contact_key(" CEO@Firm.kr ") == "ceo@firm.kr"
    assert key("") == contact_key("") == ""


@given(st.integers(1, 2**63 - 1))
def test_the_random_sample_is_stable_and_bounded(application_id: int) -> None:
    assert in_random_sample(application_id, 0) is False
    assert in_random_sample(application_id, 10_000) is True
    assert in_random_sample(application_id, 700) == in_random_sample(application_id, 700)


def test_the_random_sample_has_about_its_rate() -> None:
    selected = sum(in_random_sample(n, 1_000) for n in range(1, 20_001))
    assert 1_700 < selected < 2_300


def test_nothing_risky_selects_nothing() -> None:
    assert audit_reasons(terms(), application_id=1, signals=QUIET, today=TODAY) == ()


def test_each_risk_is_a_reason() -> None:
    risky = RiskSignals(firms_at_address=3, firms_with_contact=4, founded_on=date(2026, 2, 20))
    reasons = audit_reasons(
        terms(audit_sample_bp=10_000), application_id=1, signals=risky, today=TODAY
    )
    assert [reason.code for reason in reasons] == [
        ReasonCode.RANDOM_SAMPLE,
        ReasonCode.SHARED_ADDRESS,
        ReasonCode.SHARED_CONTACT,
        ReasonCode.NEWLY_FOUNDED,
    ]
    assert reasons[3].text == "founded 9 days before applying (under 90)"


def test_risk_thresholds_are_boundaries() -> None:
    rules = terms(risk_cluster_min=3, risk_founded_within_days=30)
    below = RiskSignals(firms_at_address=2, firms_with_contact=2, founded_on=date(2026, 1, 30))
    assert audit_reasons(rules, application_id=1, signals=below, today=TODAY) == ()
    at = RiskSignals(firms_at_address=3, firms_with_contact=3, founded_on=date(2026, 1, 31))
    assert len(audit_reasons(rules, application_id=1, signals=at, today=TODAY)) == 3

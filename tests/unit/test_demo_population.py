"""The synthetic nation's generator: deterministic, sized as asked, shaped like Korea's firms."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from ccx.demo import Nation, NationSize, Segment, Standing, build_nation
from ccx.demo.throughputs import SERVING, TRAINABLE
from ccx.registry import CAPITAL_REGION, validate_brn
from ccx.registry.eligibility import rules_in_force

SIZE = NationSize(firms=600, devices=2_000)


@pytest.fixture(scope="module")
def nation() -> Nation:
    return build_nation(SIZE, seed=11)


def test_the_same_seed_gives_the_same_nation(nation: Nation) -> None:
    assert build_nation(SIZE, seed=11) == nation
    assert build_nation(SIZE, seed=12) != nation


def test_sizes_are_respected(nation: Nation) -> None:
    assert len(nation.firms) == SIZE.firms
    assert sum(pool.devices for pool in nation.pools) == SIZE.devices
    assert all(pool.devices > 0 for pool in nation.pools)
    assert len(nation.integrators) == 8
    assert len(nation.programmes) == 2


@pytest.mark.parametrize(
    ("firms", "devices"), [(49, 500), (50_001, 500), (200, 49), (200, 200_001)]
)
def test_bad_sizes_raise(firms: int, devices: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        NationSize(firms=firms, devices=devices)


def test_registration_numbers_are_valid_and_unique(nation: Nation) -> None:
    organisations = [
        *(plan.organisation for plan in nation.firms),
        *(plan.organisation for plan in nation.integrators),
        *nation.universities,
    ]
    brns = [organisation.brn for organisation in organisations]
    assert [validate_brn(brn) for brn in brns] == brns
    assert len(set(brns)) == len(brns)


def test_size_distribution_has_the_expected_shape(nation: Nation) -> None:
    segments = Counter(plan.segment for plan in nation.firms)
    assert segments[Segment.MICRO] > segments[Segment.SMALL] > segments[Segment.MEDIUM]
    assert segments[Segment.MEDIUM] > segments[Segment.MID_SIZED] > segments[Segment.AFFILIATE]
    assert segments[Segment.AFFILIATE] >= 2
    capital = sum(plan.organisation.region in CAPITAL_REGION for plan in nation.firms)
    assert 0.4 < capital / SIZE.firms < 0.6
    youth = sum(plan.organisation.youth_led for plan in nation.firms)
    assert 0.08 < youth / SIZE.firms < 0.22


def test_sales_fit_the_segment_and_the_band(nation: Nation) -> None:
    rules = rules_in_force(date(2026, 1, 1))
    for plan in nation.firms:
        organisation = plan.organisation
        caps = rules.caps_for(organisation.ksic_code)
        assert caps is not None
        sales = organisation.sales_3y_avg_krw
        assert sales is not None
        assert organisation.total_assets_krw is not None
        if plan.segment is Segment.MID_SIZED:
            assert sales > caps.sme_cap_krw
        else:
            assert sales <= caps.sme_cap_krw
            assert organisation.total_assets_krw < rules.total_assets_cap_krw
        if plan.segment in (Segment.MICRO, Segment.SMALL):
            assert sales <= caps.small_cap_krw


def test_affiliates_are_tied_to_a_large_group(nation: Nation) -> None:
    for plan in nation.firms:
        organisation = plan.organisation
        parents = [
            holder
            for holder in organisation.shareholders
            if holder.is_corporation
            and holder.share_bp >= 3000
            and (holder.holder_total_assets_krw or 0) >= 500_000_000_000
        ]
        tied = bool(organisation.business_group or parents)
        assert tied == (plan.segment is Segment.AFFILIATE)


def test_integrators_certified_suspended_expired_and_related(nation: Nation) -> None:
    standings = Counter(plan.standing for plan in nation.integrators)
    assert standings[Standing.SUSPENDED] >= 1
    assert standings[Standing.EXPIRED] >= 1
    assert standings[Standing.CERTIFIED] > standings[Standing.SUSPENDED]
    for plan in nation.integrators:
        assert plan.certified_on < nation.start_on
        assert (plan.certified_until < nation.start_on) == (plan.standing is Standing.EXPIRED)
    related = [plan for plan in nation.integrators if plan.related_firm_brn is not None]
    assert len(related) >= 2


def test_some_addresses_are_shared_by_several_firms(nation: Nation) -> None:
    addresses = Counter(plan.organisation.address for plan in nation.firms)
    clusters = [count for count in addresses.values() if count >= 3]
    assert len(clusters) >= 2


def test_consortia_have_an_anchor_members_an_integrator_and_a_researcher(nation: Nation) -> None:
    by_brn = {plan.organisation.brn: plan for plan in nation.firms}
    assert 4 <= len(nation.consortia) <= 6
    for consortium in nation.consortia:
        anchor = by_brn[consortium.anchor_brn]
        assert anchor.segment is Segment.MID_SIZED
        assert anchor.organisation.ksic_code.startswith(consortium.industry)
        assert consortium.sme_brns
        assert all(by_brn[brn].segment is not Segment.AFFILIATE for brn in consortium.sme_brns)
        assert 1 <= len(consortium.integrator_brns) <= 2
        assert len(consortium.researcher_emails) == 1


def test_most_firms_apply_in_the_first_week(nation: Nation) -> None:
    first_week = sum(plan.applies_after_s < 7 * 86_400 for plan in nation.firms)
    assert first_week > SIZE.firms / 2
    assert all(plan.requests_every_days >= 1 for plan in nation.firms)


def test_some_models_do_more_work_per_credit_on_an_a100() -> None:
    rates = {"A100": 0.25, "H100": 1.0, "H200": 1.0, "B200": 2.25, "RNGD": 0.35}

    def per_credit(throughput_milli: int, accelerator: str) -> float:
        return throughput_milli / rates[accelerator]

    faster_on_a100 = [
        model
        for model in TRAINABLE
        if per_credit(model.a100_milli, "A100")
        > max(per_credit(1000, "H100"), per_credit(model.b200_milli, "B200"))
    ]
    assert faster_on_a100
    assert any(model.b200_milli < 1000 for model in TRAINABLE)  # newer is not always faster
    assert all(model.rngd_milli is not None for model in SERVING)
    assert all(model.rngd_milli is None for model in TRAINABLE)

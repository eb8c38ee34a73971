"""The SME test as data: every sales band at its boundary, assets, independence, versions."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ccx.registry import OrgKind, RulesNotInForceError, Shareholder, SizeClass
from ccx.registry.eligibility import (
    check_sme,
    load_rules,
    parse_rules,
    rules_in_force,
    shipped_rules,
    size_class,
)
from ccx.registry.errors import RulesFileError
from tests.registry_factories import org

ON = date(2026, 3, 1)
BILLION = 1_000_000_000
ASSETS_CAP = 500 * BILLION

# The bands of the Enforcement Decree, Annex 1, from 2025-09-01 (billion KRW), written out
# independently of the shipped rules file so that the file is checked against them.
EXPECTED_CAPS_BN = {
    **dict.fromkeys(["C17", "C24", "C28"], 180),
    **dict.fromkeys(["C14", "C15", "C32", "C30393", "C31202", "C31322"], 150),
    **dict.fromkeys(["C10", "C20", "C22", "C25", "C29", "C30", "C31", "F", "G"], 120),
    **dict.fromkeys(
        ["A", "B", "C12", "C13", "C16", "C19", "C26", "C33", "D", "E36", "H", "J"], 100
    ),
    **dict.fromkeys(["C11", "C18", "C21", "C23", "C27", "E", "N"], 80),
    **dict.fromkeys(["C34", "M", "Q", "R", "S"], 60),
    **dict.fromkeys(["I", "K", "L", "N76", "P"], 40),
}


def test_the_shipped_rules_have_exactly_the_expected_bands() -> None:
    rules = rules_in_force(ON)
    assert rules.version == "sme-2025-09-01"
    assert rules.effective_date == date(2025, 9, 1)
    caps = {prefix: caps.sme_cap_krw for prefix, caps in rules.industries.items()}
    assert caps == {prefix: cap * BILLION for prefix, cap in EXPECTED_CAPS_BN.items()}
    assert sorted(set(EXPECTED_CAPS_BN.values())) == [40, 60, 80, 100, 120, 150, 180]


@pytest.mark.parametrize(("ksic", "cap_bn"), sorted(EXPECTED_CAPS_BN.items()))
def test_sales_exactly_at_the_cap_pass_and_one_won_more_fails(ksic: str, cap_bn: int) -> None:
    cap = cap_bn * BILLION
    code = ksic if len(ksic) > 1 else f"{ksic}01"  # a division under the section
    at_cap = check_sme(org(ksic_code=code, sales_3y_avg_krw=cap), on=ON)
    assert at_cap.eligible, at_cap.reasons
    over = check_sme(org(ksic_code=code, sales_3y_avg_krw=cap + 1), on=ON)
    assert not over.eligible
    assert over.reasons == (
        f"3-year average sales {cap + 1:,} KRW exceed the cap of {cap:,} KRW for KSIC {ksic}",
    )


@pytest.mark.parametrize(
    ("code", "band"),
    [
        ("C30393", "C30393"),  # car seats: 150, not the C30 120
        ("C30391", "C30"),
        ("C3039", "C30"),
        ("C31202", "C31202"),
        ("C31322", "C31322"),
        ("E36", "E36"),
        ("E36010", "E36"),
        ("E37", "E"),
        ("N76", "N76"),
        ("N76110", "N76"),
        ("N75", "N"),
        ("J62010", "J"),
    ],
)
def test_the_longest_ksic_prefix_picks_the_band(code: str, band: str) -> None:
    caps = rules_in_force(ON).caps_for(code)
    assert caps is not None
    assert caps.ksic_prefix == band


@pytest.mark.parametrize("code", ["S94", "S94110", "O84", "T97", "U99", "C", "C35"])
def test_codes_without_a_band_are_not_eligible(code: str) -> None:
    decision = check_sme(org(ksic_code=code), on=ON)
    assert not decision.eligible
    assert decision.reasons == (f"KSIC {code} has no SME sales band (give the division, e.g. C26)",)


def test_s95_repair_is_covered_though_s94_is_not() -> None:
    assert check_sme(org(ksic_code="S95", sales_3y_avg_krw=60 * BILLION), on=ON).eligible


def test_total_assets_must_be_strictly_under_500_billion() -> None:
    assert check_sme(org(total_assets_krw=ASSETS_CAP - 1), on=ON).eligible
    at_cap = check_sme(org(total_assets_krw=ASSETS_CAP), on=ON)
    assert not at_cap.eligible
    assert at_cap.reasons == (
        "total assets 500,000,000,000 KRW are not under the cap of 500,000,000,000 KRW",
    )


def test_an_affiliate_of_a_business_group_is_not_an_sme() -> None:
    decision = check_sme(org(business_group="Samsung"), on=ON)
    assert decision.reasons == ("affiliate of business group 'Samsung'",)


PARENT = Shareholder(
    holder_name="Parent Co",
    share_bp=3000,
    is_corporation=True,
    holder_total_assets_krw=ASSETS_CAP,
    is_largest=True,
)


def _parent(**fields: Any) -> Shareholder:
    return dataclasses.replace(PARENT, **fields)


PARENT_REASON = (
    "corporation 'Parent Co' with total assets of 500,000,000,000 KRW holds 30.00 % and is the"
    " largest shareholder"
)


@pytest.mark.parametrize(
    ("holder", "reasons"),
    [
        pytest.param(_parent(), (PARENT_REASON,), id="30%-largest-corporation-500bn"),
        pytest.param(_parent(share_bp=2999), (), id="29.99%"),
        pytest.param(
            _parent(share_bp=10_000), (PARENT_REASON.replace("30.00", "100.00"),), id="100%"
        ),
        pytest.param(_parent(is_largest=False), (), id="not-the-largest"),
        pytest.param(_parent(is_corporation=False), (), id="a-person"),
        pytest.param(_parent(holder_total_assets_krw=ASSETS_CAP - 1), (), id="assets-just-under"),
    ],
)
def test_ownership_by_a_large_corporation(holder: Shareholder, reasons: tuple[str, ...]) -> None:
    decision = check_sme(org(shareholders=(holder,)), on=ON)
    assert decision.reasons == reasons
    assert decision.eligible == (not reasons)


def test_a_controlling_corporation_without_declared_assets_fails_for_missing_data() -> None:
    decision = check_sme(org(shareholders=(_parent(holder_total_assets_krw=None),)), on=ON)
    assert decision.reasons == (
        "corporation 'Parent Co' holds 30.00 % and is the largest shareholder, but its total"
        " assets are not declared",
    )


def test_missing_size_data_is_a_reason_each() -> None:
    decision = check_sme(org(sales_3y_avg_krw=None, total_assets_krw=None), on=ON)
    assert not decision.eligible
    assert decision.reasons == ("no 3-year average sales declared", "no total assets declared")


@pytest.mark.parametrize("kind", [OrgKind.UNIVERSITY, OrgKind.PUBLIC_AGENCY, OrgKind.CENTRE])
def test_organisations_that_are_not_enterprises_fail(kind: OrgKind) -> None:
    decision = check_sme(org(kind=kind), on=ON)
    assert decision.reasons == (f"an organisation of kind {kind.value!r} is not an enterprise",)


def test_every_failing_reason_is_listed_in_order() -> None:
    decision = check_sme(
        org(
            ksic_code="C30",
            sales_3y_avg_krw=130 * BILLION,
            total_assets_krw=ASSETS_CAP + 1,
            business_group="Samsung",
            shareholders=(_parent(),),
        ),
        on=ON,
    )
    assert decision.reasons == (
        "3-year average sales 130,000,000,000 KRW exceed the cap of 120,000,000,000 KRW for"
        " KSIC C30",
        "total assets 500,000,000,001 KRW are not under the cap of 500,000,000,000 KRW",
        "affiliate of business group 'Samsung'",
        PARENT_REASON,
    )
    assert decision.rules_version == "sme-2025-09-01"


def test_an_eligible_firm_has_no_reasons() -> None:
    decision = check_sme(org(), on=ON)
    assert decision.eligible
    assert decision.reasons == ()


def test_a_day_before_every_version_is_an_error() -> None:
    with pytest.raises(RulesNotInForceError, match="no SME rules were in force on 2025-08-31"):
        check_sme(org(), on=date(2025, 8, 31))
    assert check_sme(org(), on=date(2025, 9, 1)).eligible


def _version(tmp_path: Path, name: str, effective: str, cap_bn: int) -> None:
    shipped = (Path(__file__).parents[2] / "src/ccx/registry/rules/sme_2025-09-01.toml").read_text()
    text = shipped.replace("effective_date = 2025-09-01", f"effective_date = {effective}")
    text = text.replace('version = "sme-2025-09-01"', f'version = "{name}"')
    text = text.replace("sme_cap_krw = 100_000_000_000", f"sme_cap_krw = {cap_bn}_000_000_000")
    (tmp_path / f"{name}.toml").write_text(text)


def test_the_version_in_force_is_the_latest_started_on_or_before_the_day(tmp_path: Path) -> None:
    _version(tmp_path, "old", "2015-01-01", 80)
    _version(tmp_path, "new", "2025-09-01", 100)
    _version(tmp_path, "future", "2030-01-01", 110)
    (tmp_path / "notes.txt").write_text("not a rules file")
    versions = load_rules(tmp_path)
    assert [v.version for v in versions] == ["old", "new", "future"]
    assert rules_in_force(date(2025, 8, 31), versions).version == "old"
    assert rules_in_force(date(2025, 9, 1), versions).version == "new"
    assert rules_in_force(date(2029, 12, 31), versions).version == "new"
    assert rules_in_force(date(2030, 1, 1), versions).version == "future"
    assert rules_in_force(date(2031, 1, 1), versions).caps_for("J62") is not None
    with pytest.raises(RulesNotInForceError):
        rules_in_force(date(2014, 12, 31), versions)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version = ", "Invalid value"),
        ('version = "x"', "'independence' must be a dict"),
    ],
)
def test_a_malformed_rules_file_is_a_packaging_error(text: str, message: str) -> None:
    with pytest.raises(RulesFileError, match=message):
        parse_rules(text, "broken.toml")


def test_the_package_ships_one_version_with_its_sources() -> None:
    assert [rules.version for rules in shipped_rules()] == ["sme-2025-09-01"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"employees": 9, "sales_3y_avg_krw": BILLION}, SizeClass.MICRO, id="C-9"),
        pytest.param({"employees": 10, "sales_3y_avg_krw": BILLION}, SizeClass.SMALL, id="C-10"),
        pytest.param(
            {"ksic_code": "J62", "employees": 4, "sales_3y_avg_krw": BILLION},
            SizeClass.MICRO,
            id="J-4",
        ),
        pytest.param(
            {"ksic_code": "J62", "employees": 5, "sales_3y_avg_krw": BILLION},
            SizeClass.SMALL,
            id="J-5",
        ),
        pytest.param(
            {"ksic_code": "H49", "employees": 9, "sales_3y_avg_krw": BILLION},
            SizeClass.MICRO,
            id="H-9",
        ),
        # C26's small-enterprise cap is 12 billion KRW, J's 5 billion.
        pytest.param({"sales_3y_avg_krw": 12 * BILLION}, SizeClass.SMALL, id="C26-at-cap"),
        pytest.param({"sales_3y_avg_krw": 12 * BILLION + 1}, SizeClass.MEDIUM, id="C26-over"),
        pytest.param(
            {"ksic_code": "J62", "employees": 2, "sales_3y_avg_krw": 5 * BILLION + 1},
            SizeClass.MEDIUM,
            id="few-employees-but-large-sales",
        ),
        pytest.param({"sales_3y_avg_krw": None}, SizeClass.MEDIUM, id="no-sales"),
        pytest.param({"employees": None}, SizeClass.SMALL, id="no-employee-count"),
        pytest.param({"ksic_code": "S94"}, SizeClass.MEDIUM, id="no-band"),
    ],
)
def test_size_class(fields: dict[str, object], expected: SizeClass) -> None:
    assert size_class(org(**fields)) is expected
    assert size_class(org(**fields), on=ON) is expected

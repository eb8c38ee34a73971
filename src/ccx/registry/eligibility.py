"""The SME test, with its rules as data: versioned TOML files shipped in ``registry/rules``.

Each file carries an ``effective_date``; a check on a day uses the latest version in force on
that day. `check_sme` is pure: it reads only the organisation's declared data and the rules.
Not modelled: the related-firm (관계기업) sales test, which needs the related firms' sales, and
the graduation grace period, which needs the firm's history.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from ccx.registry.errors import RulesFileError, RulesNotInForceError
from ccx.registry.types import EligibilityDecision, Organisation, OrgKind, SizeClass

NOT_ENTERPRISES = frozenset({OrgKind.UNIVERSITY, OrgKind.PUBLIC_AGENCY, OrgKind.CENTRE})


@dataclass(frozen=True, slots=True)
class IndustryCaps:
    """Caps on 3-year average sales for one KSIC prefix."""

    ksic_prefix: str
    sme_cap_krw: int
    small_cap_krw: int


@dataclass(frozen=True, slots=True)
class SmeRules:
    """One version of the SME test."""

    version: str
    effective_date: date
    industries: Mapping[str, IndustryCaps]
    not_covered: frozenset[str]
    sales_cap_inclusive: bool
    total_assets_cap_krw: int
    total_assets_cap_inclusive: bool
    parent_share_bp_min: int
    parent_total_assets_krw_min: int
    micro_employees_under_default: int
    micro_employees_under: Mapping[str, int]

    def caps_for(self, ksic_code: str) -> IndustryCaps | None:
        """The caps of the longest KSIC prefix that has a band; None when not covered."""
        for length in range(len(ksic_code), 0, -1):
            prefix = ksic_code[:length]
            if prefix in self.not_covered:
                return None
            if prefix in self.industries:
                return self.industries[prefix]
        return None

    def micro_threshold(self, ksic_code: str) -> int:
        """A firm in `ksic_code` with fewer employees than this is micro (if small enough)."""
        return self.micro_employees_under.get(ksic_code[:1], self.micro_employees_under_default)


def _field(table: Mapping[str, Any], key: str, kind: type, source: str) -> Any:
    value = table.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise RulesFileError(f"{source}: {key!r} must be a {kind.__name__}")
    return value


def _industries(bands: list[Any], source: str) -> dict[str, IndustryCaps]:
    industries: dict[str, IndustryCaps] = {}
    for band in bands:
        sme_cap = _field(band, "sme_cap_krw", int, source)
        for prefix, small_cap in _field(band, "small_cap_krw", dict, source).items():
            if prefix in industries or not isinstance(small_cap, int):
                raise RulesFileError(f"{source}: KSIC prefix {prefix!r} listed twice or malformed")
            industries[prefix] = IndustryCaps(prefix, sme_cap, small_cap)
    return industries


def parse_rules(text: str, source: str) -> SmeRules:
    """One rules version from the text of its TOML file (`source` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulesFileError(f"{source}: {error}") from error
    independence = _field(data, "independence", dict, source)
    micro = _field(data, "micro_enterprise", dict, source)
    return SmeRules(
        version=_field(data, "version", str, source),
        effective_date=_field(data, "effective_date", date, source),
        industries=_industries(_field(data, "sales_band", list, source), source),
        not_covered=frozenset(_field(data, "not_covered", list, source)),
        sales_cap_inclusive=_field(data, "sales_cap_inclusive", bool, source),
        total_assets_cap_krw=_field(data, "total_assets_cap_krw", int, source),
        total_assets_cap_inclusive=_field(data, "total_assets_cap_inclusive", bool, source),
        parent_share_bp_min=_field(independence, "parent_share_bp_min", int, source),
        parent_total_assets_krw_min=_field(
            independence, "parent_total_assets_krw_min", int, source
        ),
        micro_employees_under_default=_field(micro, "employees_under_default", int, source),
        micro_employees_under=_field(micro, "employees_under", dict, source),
    )


def load_rules(directory: Traversable) -> tuple[SmeRules, ...]:
    """Every ``*.toml`` rules version in `directory`, oldest first."""
    versions = [
        parse_rules(entry.read_text(encoding="utf-8"), entry.name)
        for entry in directory.iterdir()
        if entry.name.endswith(".toml")
    ]
    return tuple(sorted(versions, key=lambda rules: rules.effective_date))


@functools.cache
def shipped_rules() -> tuple[SmeRules, ...]:
    """The rules versions shipped in the package."""
    return load_rules(resources.files("ccx.registry") / "rules")


def rules_in_force(on: date, versions: Iterable[SmeRules] | None = None) -> SmeRules:
    """The latest version with an effective date on or before `on`."""
    in_force = [rules for rules in (versions or shipped_rules()) if rules.effective_date <= on]
    if not in_force:
        raise RulesNotInForceError(f"no SME rules were in force on {on.isoformat()}")
    return max(in_force, key=lambda rules: rules.effective_date)


def _krw(amount: int) -> str:
    return f"{amount:,} KRW"


def _within(value: int, cap: int, *, inclusive: bool) -> bool:
    return value <= cap if inclusive else value < cap


def _kind_reasons(org: Organisation) -> list[str]:
    if org.kind in NOT_ENTERPRISES:
        return [f"an organisation of kind {org.kind.value!r} is not an enterprise"]
    return []


def _sales_reasons(org: Organisation, rules: SmeRules) -> list[str]:
    caps = rules.caps_for(org.ksic_code)
    if caps is None:
        return [f"KSIC {org.ksic_code} has no SME sales band (give the division, e.g. C26)"]
    if org.sales_3y_avg_krw is None:
        return ["no 3-year average sales declared"]
    if _within(org.sales_3y_avg_krw, caps.sme_cap_krw, inclusive=rules.sales_cap_inclusive):
        return []
    return [
        f"3-year average sales {_krw(org.sales_3y_avg_krw)} exceed the cap of"
        f" {_krw(caps.sme_cap_krw)} for KSIC {caps.ksic_prefix}"
    ]


def _assets_reasons(org: Organisation, rules: SmeRules) -> list[str]:
    if org.total_assets_krw is None:
        return ["no total assets declared"]
    cap = rules.total_assets_cap_krw
    if _within(org.total_assets_krw, cap, inclusive=rules.total_assets_cap_inclusive):
        return []
    return [f"total assets {_krw(org.total_assets_krw)} are not under the cap of {_krw(cap)}"]


def _independence_reasons(org: Organisation, rules: SmeRules) -> list[str]:
    reasons = []
    if org.business_group:
        reasons.append(f"affiliate of business group {org.business_group!r}")
    for holder in org.shareholders:
        if not (
            holder.is_corporation
            and holder.is_largest
            and holder.share_bp >= rules.parent_share_bp_min
        ):
            continue
        stake = f"holds {holder.share_percent} and is the largest shareholder"
        assets = holder.holder_total_assets_krw
        if assets is None:
            reasons.append(
                f"corporation {holder.holder_name!r} {stake}, but its total assets are not declared"
            )
        elif assets >= rules.parent_total_assets_krw_min:
            reasons.append(
                f"corporation {holder.holder_name!r} with total assets of {_krw(assets)} {stake}"
            )
    return reasons


def check_sme(org: Organisation, *, on: date) -> EligibilityDecision:
    """Whether `org` is an SME on `on` by its declared data, with every reason it is not."""
    rules = rules_in_force(on)
    reasons = [
        *_kind_reasons(org),
        *_sales_reasons(org, rules),
        *_assets_reasons(org, rules),
        *_independence_reasons(org, rules),
    ]
    return EligibilityDecision(
        eligible=not reasons, reasons=tuple(reasons), rules_version=rules.version
    )


def size_class(org: Organisation, *, on: date | None = None) -> SizeClass:
    """Micro, small or medium by employees and sales, under the rules in force on `on`.

    Micro: fewer employees than the industry's micro threshold (10 in mining, manufacturing,
    construction and transport, 5 elsewhere) and sales within the small-enterprise cap.
    Small: sales within the small-enterprise cap. Medium: anything else, including a firm with
    no sales declared or no band. It says nothing about whether the firm is an SME at all
    (`check_sme` does). Without `on`, the latest shipped rules apply.
    """
    rules = rules_in_force(on) if on is not None else shipped_rules()[-1]
    caps = rules.caps_for(org.ksic_code)
    sales = org.sales_3y_avg_krw
    if caps is None or sales is None:
        return SizeClass.MEDIUM
    if not _within(sales, caps.small_cap_krw, inclusive=rules.sales_cap_inclusive):
        return SizeClass.MEDIUM
    employees = org.employees
    if employees is not None and employees < rules.micro_threshold(org.ksic_code):
        return SizeClass.MICRO
    return SizeClass.SMALL

"""What the registry shows the rest of ccx: organisations, people, certification, eligibility."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


class OrgKind(enum.StrEnum):
    SME = "sme"
    MID_SIZED = "mid_sized"
    LARGE = "large"
    INTEGRATOR = "integrator"
    UNIVERSITY = "university"
    PUBLIC_AGENCY = "public_agency"
    CENTRE = "centre"


class Region(enum.StrEnum):
    """The 17 first-level divisions of Korea (ISO 3166-2:KR)."""

    SEOUL = "KR-11"
    BUSAN = "KR-26"
    DAEGU = "KR-27"
    INCHEON = "KR-28"
    GWANGJU = "KR-29"
    DAEJEON = "KR-30"
    ULSAN = "KR-31"
    SEJONG = "KR-50"
    GYEONGGI = "KR-41"
    GANGWON = "KR-42"
    CHUNGBUK = "KR-43"
    CHUNGNAM = "KR-44"
    JEONBUK = "KR-45"
    JEONNAM = "KR-46"
    GYEONGBUK = "KR-47"
    GYEONGNAM = "KR-48"
    JEJU = "KR-49"


CAPITAL_REGION = frozenset({Region.SEOUL, Region.INCHEON, Region.GYEONGGI})
"""수도권: Seoul, Incheon and Gyeonggi."""


class CertificationStatus(enum.StrEnum):
    APPLIED = "applied"
    CERTIFIED = "certified"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class SizeClass(enum.StrEnum):
    """Firm size for grant rules: micro (소상공인), small (소기업), medium (중기업)."""

    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"


class PersonRole(enum.StrEnum):
    STAFF = "staff"
    OFFICER = "officer"  # director or representative: counts for conflicts of interest
    RESEARCHER = "researcher"


@dataclass(frozen=True, slots=True)
class Shareholder:
    """A holder of shares in an organisation. Shares in basis points (10,000 = 100 %)."""

    holder_name: str
    share_bp: int
    is_corporation: bool = False
    holder_brn: str | None = None
    holder_total_assets_krw: int | None = None
    is_largest: bool = False

    @property
    def share_percent(self) -> str:
        """The share written as a percentage, e.g. "30.00 %"."""
        return f"{self.share_bp // 100}.{self.share_bp % 100:02d} %"


@dataclass(frozen=True, slots=True)
class NewOrganisation:
    kind: OrgKind
    brn: str  # Korean business registration number, 10 digits (check digit validated)
    name: str
    region: Region
    ksic_code: str  # e.g. "C30", "J62010"
    address: str = ""
    contact_email: str = ""
    sales_3y_avg_krw: int | None = None
    total_assets_krw: int | None = None
    employees: int | None = None
    founded_on: date | None = None
    youth_led: bool = False
    business_group: str | None = None  # KFTC-designated group it belongs to, if any
    shareholders: tuple[Shareholder, ...] = ()


@dataclass(frozen=True, slots=True)
class Organisation:
    id: int
    kind: OrgKind
    brn: str
    name: str
    region: Region
    ksic_code: str
    address: str
    contact_email: str
    sales_3y_avg_krw: int | None
    total_assets_krw: int | None
    employees: int | None
    founded_on: date | None
    youth_led: bool
    business_group: str | None
    shareholders: tuple[Shareholder, ...]
    registered_at_ns: int

    @property
    def in_capital_region(self) -> bool:
        return self.region in CAPITAL_REGION

    @property
    def address_key(self) -> str:
        """The address by its letters and digits only, case ignored ('' when none), so that
        '서울 강남구 테헤란로 1' and '서울강남구테헤란로1' compare equal."""
        return "".join(char for char in self.address.casefold() if char.isalnum())


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str
    email: str
    org_id: int
    role: PersonRole


@dataclass(frozen=True, slots=True)
class Certification:
    integrator_id: int
    status: CertificationStatus
    certified_until: date | None
    updated_at_ns: int

    def valid_on(self, day: date) -> bool:
        if self.status is not CertificationStatus.CERTIFIED:
            return False
        return self.certified_until is None or day <= self.certified_until


@dataclass(frozen=True, slots=True)
class CertificationEvent:
    """One change of an integrator's certification, with the reason or action behind it."""

    integrator_id: int
    status: CertificationStatus
    certified_until: date | None
    reason: str
    timestamp_ns: int


@dataclass(frozen=True, slots=True)
class EligibilityDecision:
    """The outcome of a rule check: a decision and every reason against it (none if eligible)."""

    eligible: bool
    reasons: tuple[str, ...]
    rules_version: str

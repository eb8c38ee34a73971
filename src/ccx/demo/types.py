"""The synthetic nation as plain values: what `build_nation` generates and `load_nation` loads.

Organisations refer to each other by business registration number (`*_brn`), people by email:
database ids exist only once the nation is loaded (`Loaded`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from ccx.demo.throughputs import WorkloadKind
from ccx.exchange.types import NewPool, RequestOption
from ccx.programs.types import NewProgramme
from ccx.registry.types import NewOrganisation, PersonRole, Region

FIRMS_MIN = 50
FIRMS_MAX = 50_000
DEVICES_MIN = 50
DEVICES_MAX = 200_000


@dataclass(frozen=True, slots=True)
class NationSize:
    """How big a nation to generate; ValueError when out of range."""

    firms: int = 3000
    devices: int = 15000

    def __post_init__(self) -> None:
        if not FIRMS_MIN <= self.firms <= FIRMS_MAX:
            raise ValueError(f"firms must be {FIRMS_MIN:,} to {FIRMS_MAX:,}, not {self.firms:,}")
        if not DEVICES_MIN <= self.devices <= DEVICES_MAX:
            raise ValueError(
                f"devices must be {DEVICES_MIN:,} to {DEVICES_MAX:,}, not {self.devices:,}"
            )


class Segment(enum.StrEnum):
    """What a demand firm is, by size and independence (its SME size class follows from it)."""

    MICRO = "micro"  # 소상공인: few employees, sales within the small-enterprise cap
    SMALL = "small"  # 소기업
    MEDIUM = "medium"  # 중기업: above the small-enterprise cap, within the SME cap
    MID_SIZED = "mid_sized"  # 중견기업: above its industry's SME cap
    AFFILIATE = "affiliate"  # SME-sized, but in a KFTC-designated group or under a large parent


SME_SEGMENTS = frozenset({Segment.MICRO, Segment.SMALL, Segment.MEDIUM})
"""Segments that pass the SME test."""


class Standing(enum.StrEnum):
    """An integrator's certification when the demo starts."""

    CERTIFIED = "certified"
    SUSPENDED = "suspended"
    EXPIRED = "expired"  # certified once, the certification ran out before the start


class Relation(enum.StrEnum):
    """How an integrator is related to a firm (so that it may not hold the firm's mandates)."""

    ADDRESS = "address"
    OFFICER = "officer"
    SHAREHOLDER = "shareholder"


@dataclass(frozen=True, slots=True)
class WorkloadProfile:
    """What a firm asks its integrator to run: each request is `work_device_hours` of work (at
    an H100's speed) on `devices_per_job` devices of any type in `options`."""

    kind: WorkloadKind
    workload_class: str
    devices_per_job: int
    work_device_hours: int
    options: tuple[RequestOption, ...]  # throughput per type, thousandths of an H100


@dataclass(frozen=True, slots=True)
class FirmPlan:
    """A demand firm, its workload, and when it acts."""

    organisation: NewOrganisation
    segment: Segment
    profile: WorkloadProfile
    applies_after_s: int  # after the start of the demo's first day
    requests_every_days: int


@dataclass(frozen=True, slots=True)
class IntegratorPlan:
    organisation: NewOrganisation
    standing: Standing
    certified_on: date  # registered and certified that day (before the start)
    certified_until: date  # before the start for an expired certification
    login: str  # its login at the centre
    related_firm_brn: str | None = None
    relation: Relation | None = None


@dataclass(frozen=True, slots=True)
class PersonPlan:
    org_brn: str
    name: str
    email: str
    role: PersonRole


@dataclass(frozen=True, slots=True)
class ConsortiumPlan:
    name: str
    industry: str  # KSIC section or division
    regions: tuple[Region, ...]
    anchor_brn: str  # a mid-sized firm in the industry
    sme_brns: tuple[str, ...]
    integrator_brns: tuple[str, ...]  # certified, related to no member
    researcher_emails: tuple[str, ...]  # university researchers (`Nation.people`)


@dataclass(frozen=True, slots=True)
class Nation:
    """A synthetic nation: every organisation, person, consortium, pool and programme."""

    seed: int
    size: NationSize
    start_on: date  # the demo's first day; the loading clock must be on it
    firms: tuple[FirmPlan, ...]
    integrators: tuple[IntegratorPlan, ...]
    universities: tuple[NewOrganisation, ...]
    people: tuple[PersonPlan, ...]  # integrator officers, shared officers, researchers
    consortia: tuple[ConsortiumPlan, ...]
    pools: tuple[NewPool, ...]
    programmes: tuple[NewProgramme, ...]  # the SME-direct programme, then the consortium track


@dataclass(frozen=True, slots=True)
class Loaded:
    """The ids a loaded nation got; tuples follow the order of the `Nation`'s."""

    firm_ids: tuple[int, ...]
    integrator_ids: tuple[int, ...]
    university_ids: tuple[int, ...]
    person_ids: tuple[int, ...]
    consortium_ids: tuple[int, ...]
    pool_ids: tuple[int, ...]
    programme_ids: tuple[int, ...]
    centre_logins: tuple[str, ...]  # one per integrator
    org_ids_by_brn: Mapping[str, int]

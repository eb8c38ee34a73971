"""What the consortia feature shows the rest of ccx: consortia, their members, pools,
contributions and shared models.

Amounts are integers in micro-credits (`*_micro`). A consortium's pool is an account (code
`AccountCode.CONSORTIUM_POOL`) in the ledger of each programme it takes part in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from ccx.registry.types import Region

NAME_CHARS_MAX = 100
MODEL_TEXT_CHARS_MAX = 200
METRICS_MAX = 20
REGIONS_MAX = len(Region)
MEMBERS_MAX = 500


class MemberRole(enum.StrEnum):
    ANCHOR = "anchor"  # the mid-sized market leader that leads the consortium
    SME = "sme"  # a member firm that passes the SME test
    UNIVERSITY = "university"  # a university researcher (a person)
    INTEGRATOR = "integrator"  # a certified integrator


FIRM_ROLES = frozenset({MemberRole.ANCHOR, MemberRole.SME})
"""Members that hold credits and may contribute them to the pool."""


@dataclass(frozen=True, slots=True)
class NewConsortium:
    name: str
    industry: str  # a KSIC section letter ("C") or division ("C30")
    regions: tuple[Region, ...]
    anchor_id: int


@dataclass(frozen=True, slots=True)
class Member:
    """An organisation (anchor, SME, integrator) or a university researcher (a person, with
    the university as `org_id`)."""

    role: MemberRole
    org_id: int
    person_id: int | None
    joined_at_ns: int


@dataclass(frozen=True, slots=True)
class Pool:
    """The consortium's pool in one programme."""

    programme_id: int
    account_id: int
    available_micro: int
    contributed_micro: int  # posted from members' lots
    granted_micro: int  # posted from the programme's consortium track
    spent_micro: int  # debited from the pool, not counting expiry and clawback
    expires_on: date | None  # the latest expiry of its credits; None: none can expire
    expired_micro: int  # swept to the programme's expired account
    held_micro: int  # held for spends not yet settled
    clawed_back_micro: int  # taken by failed audits of its consortium grants


@dataclass(frozen=True, slots=True)
class PoolSweep:
    """One batch of the pool expiry sweep."""

    expired: tuple[int, ...]  # pool accounts swept
    expired_micro: int  # what they held, in all
    deferred: tuple[int, ...]  # pools past expiry that still carry holds; swept once resolved
    next_after_account_id: int | None  # where the next batch starts; None after the last


@dataclass(frozen=True, slots=True)
class Consortium:
    id: int
    name: str
    industry: str
    regions: tuple[Region, ...]
    anchor_id: int
    members: tuple[Member, ...]
    created_at_ns: int

    @property
    def member_org_ids(self) -> frozenset[int]:
        """Every organisation in the consortium (researchers count by their university)."""
        return frozenset(member.org_id for member in self.members)


@dataclass(frozen=True, slots=True)
class NewContribution:
    consortium_id: int
    programme_id: int
    firm_id: int
    amount_micro: int
    key: str  # the caller's idempotency key


@dataclass(frozen=True, slots=True)
class ContributionLeg:
    transfer_id: int
    lot_account_id: int
    amount_micro: int


@dataclass(frozen=True, slots=True)
class Contribution:
    """Credits a member firm moved from its lots (earliest expiry first) into the pool, as one
    linked chain; each transfer carries the consortium (user_data_64) and the firm
    (user_data_32)."""

    id: int
    consortium_id: int
    programme_id: int
    firm_id: int
    key: str
    amount_micro: int
    legs: tuple[ContributionLeg, ...]
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    value: str  # a decimal number written as text ("0.874", "42")


@dataclass(frozen=True, slots=True)
class NewSharedModel:
    consortium_id: int
    name: str
    base_model: str
    task: str
    hardware_profile: str  # e.g. "8x H100 80GB"
    licence: str
    metrics: tuple[Metric, ...] = ()


@dataclass(frozen=True, slots=True)
class SharedModel:
    id: int
    consortium_id: int
    name: str
    base_model: str
    task: str
    hardware_profile: str
    licence: str
    metrics: tuple[Metric, ...]
    registered_at_ns: int

"""What the programmes feature shows the rest of ccx: programmes, applications, lots, mandates
and the spends made under them.

Amounts are integers in micro-credits (`*_micro`; 1 credit = 1_000_000), shares in basis points
(`*_bp`; 10,000 = 100 %), prices in whole KRW. Days are UTC calendar days.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from ccx.ledger.types import AMOUNT_MAX, MICRO_CREDITS_PER_CREDIT
from ccx.registry.types import OrgKind, SizeClass

BP_MAX = 10_000
"""100 % in basis points."""
KEY_CHARS_MAX = 64
"""Longest caller key (the idempotency key of an application, mandate or spend)."""
NAME_CHARS_MAX = 100
PROJECT_CHARS_MAX = 200
NOTE_CHARS_MAX = 500


class AccountCode(enum.IntEnum):
    """The `code` of each kind of account in a programme's ledger."""

    APPROPRIATION = 1  # the state's appropriation; goes negative by the budget
    POOL = 2  # the programme pool; cannot overdraw, so issuance has a hard cap
    FIRM_LOT = 3  # one grant in a firm's wallet, with its own expiry
    CONSORTIUM_POOL = 4  # a consortium's pooled credits in the programme
    CENTRE_REVENUE = 5  # compute consumed at the centre
    INTEGRATOR_PAYABLE = 6  # service fees owed to one integrator
    EXPIRED = 7  # what expired lots held
    CLAWBACK = 8  # what failed audits took back


class TransferCode(enum.IntEnum):
    """The `code` of each kind of transfer in a programme's ledger."""

    APPROPRIATION = 1  # appropriation → pool: the budget
    GRANT = 2  # pool → lot: an approved application
    LOT_CLOSING = 3  # lot → expired: the closing chain carries the lot's account code
    COMPUTE = 4  # lot → centre revenue: spent under a mandate (or held for it)
    SERVICE_FEE = 5  # lot → integrator payable: a fee redeemed under a mandate
    CLAWBACK = 6  # lot → clawback: a failed audit
    CONTRIBUTION = 7  # lot → consortium pool: a member firm contributes its credits
    POOL_EXPIRY = 8  # consortium pool → expired: the pool passed its expiry


class Track(enum.StrEnum):
    SME_DIRECT = "sme_direct"  # a firm applies for itself
    CONSORTIUM = "consortium"  # a consortium applies, through its anchor, for its pool


class Decision(enum.StrEnum):
    APPROVED = "approved"
    REFUSED = "refused"


class AuditStatus(enum.StrEnum):
    NOT_SELECTED = "not_selected"
    SELECTED = "selected"  # waiting for an auditor
    PASSED = "passed"
    FAILED = "failed"  # the firm's unspent credits in the programme were clawed back


class LotStatus(enum.StrEnum):
    ACTIVE = "active"
    CLAWED_BACK = "clawed_back"  # a failed audit took its available credits; no more spending
    EXPIRED = "expired"  # swept to the expired account and closed


class SpendKind(enum.StrEnum):
    COMPUTE = "compute"  # to the centre's revenue account
    SERVICE_FEE = "service_fee"  # to the integrator's payable account


class SpendStatus(enum.StrEnum):
    POSTED = "posted"  # moved at once
    HELD = "held"  # holds placed, not yet settled
    SETTLED = "settled"  # holds posted (in part or whole) and the rest voided


class ReasonCode(enum.StrEnum):
    """Why an application was refused, a mandate or spend refused, or an application audited."""

    KIND_NOT_ELIGIBLE = "kind_not_eligible"
    NOT_AN_SME = "not_an_sme"
    PROGRAMME_NOT_OPEN = "programme_not_open"
    TRACK_NOT_OFFERED = "track_not_offered"
    TRACK_NOT_FOR_FIRMS = "track_not_for_firms"
    NO_GRANT_FOR_SIZE = "no_grant_for_size"
    FAILED_AUDIT = "failed_audit"
    FIRM_CAP = "firm_cap"
    GROUP_CAP = "group_cap"
    QUOTA_RESERVED = "quota_reserved"
    BUDGET_EXHAUSTED = "budget_exhausted"
    RANDOM_SAMPLE = "random_sample"
    SHARED_ADDRESS = "shared_address"
    SHARED_CONTACT = "shared_contact"
    NEWLY_FOUNDED = "newly_founded"
    NOT_AN_INTEGRATOR = "not_an_integrator"
    NOT_CERTIFIED = "not_certified"
    CONFLICT_OF_INTEREST = "conflict_of_interest"
    NO_CREDITS_IN_PROGRAMME = "no_credits_in_programme"
    MANDATE_REVOKED = "mandate_revoked"
    MANDATE_EXPIRED = "mandate_expired"
    MANDATE_CAP = "mandate_cap"
    FEE_SHARE = "fee_share"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    HOLD_NOT_PENDING = "hold_not_pending"
    CONSORTIUM_CAP = "consortium_cap"
    NOT_A_MEMBER = "not_a_member"
    NOT_THE_ANCHOR = "not_the_anchor"
    WRONG_KIND_FOR_ROLE = "wrong_kind_for_role"
    NOT_IN_INDUSTRY = "not_in_industry"
    NOT_A_RESEARCHER = "not_a_researcher"


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    text: str


def credits_text(micro: int) -> str:
    """Micro-credits written as credits, e.g. 1_500_000 → "1.5", 57e9 → "57,000"."""
    whole, fraction = divmod(abs(micro), MICRO_CREDITS_PER_CREDIT)
    sign = "-" if micro < 0 else ""
    decimals = f"{fraction:06d}".rstrip("0")
    return f"{sign}{whole:,}" + (f".{decimals}" if decimals else "")


def parse_credits(text: str) -> int:
    """Credits written as a decimal ("57000", "0.5", "1,000") → micro-credits; ValueError if
    negative, over six decimals, or too large."""
    try:
        value = Decimal(text.strip().replace(",", "").replace("_", ""))
    except InvalidOperation as error:
        raise ValueError(f"{text!r} is not a number of credits") from error
    micro = value * MICRO_CREDITS_PER_CREDIT
    if not value.is_finite() or micro != micro.to_integral_value():
        raise ValueError(f"{text!r}: credits have at most six decimals")
    if not 0 <= micro <= AMOUNT_MAX:
        raise ValueError(f"{text!r} is out of range")
    return int(micro)


def krw_for(amount_micro: int, price_krw_per_credit: int) -> int:
    """The value in whole KRW (rounded down) of an amount at a price per credit."""
    return amount_micro * price_krw_per_credit // MICRO_CREDITS_PER_CREDIT


@dataclass(frozen=True, slots=True)
class GrantRule:
    """How much an approved application grants: `fixed_micro` to every firm, or else the
    amount for the firm's size class (a class without an amount is refused)."""

    fixed_micro: int | None = None
    by_size_micro: Mapping[SizeClass, int] = field(default_factory=dict)

    def amount_for(self, size: SizeClass) -> int | None:
        if self.fixed_micro is not None:
            return self.fixed_micro
        return self.by_size_micro.get(size)


@dataclass(frozen=True, slots=True)
class ProgrammeTerms:
    """The rules of a programme.

    Quotas reserve a share of the budget: while a quota's reserve is not used up by grants to
    firms that qualify for it (outside the capital region; youth-led), a firm that does not
    qualify may not draw the pool below the sum of the unused reserves it does not qualify for.
    """

    budget_micro: int
    opens_on: date
    closes_on: date  # the last day applications are taken
    grant: GrantRule
    lot_lifetime_days: int  # a lot expires this many days after its grant
    firm_cap_micro: int  # most one firm is granted over the programme
    group_cap_micro: int  # most one business group (or one parent) is granted
    quota_non_capital_bp: int = 0
    quota_youth_bp: int = 0
    tracks: frozenset[Track] = frozenset({Track.SME_DIRECT})
    eligible_kinds: frozenset[OrgKind] = frozenset({OrgKind.SME})
    service_share_max_bp: int = 1_000  # most of a mandate's cap an integrator takes as its fee
    price_krw_per_credit: int = 0  # for reports only
    audit_sample_bp: int = 500  # the random audit sample
    risk_cluster_min: int = 3  # this many firms at one address or contact are audited
    risk_founded_within_days: int = 90  # a firm this young when it applies is audited

    def reserve_micro(self, share_bp: int) -> int:
        return self.budget_micro * share_bp // BP_MAX


@dataclass(frozen=True, slots=True)
class NewProgramme:
    id: int  # also the id of the programme's ledger
    name: str
    terms: ProgrammeTerms


@dataclass(frozen=True, slots=True)
class ProgrammeAccounts:
    """The ids of a programme's own ledger accounts (lots and payables have their own)."""

    appropriation: int
    pool: int
    centre_revenue: int
    expired: int
    clawback: int


@dataclass(frozen=True, slots=True)
class Programme:
    id: int
    name: str
    terms: ProgrammeTerms
    accounts: ProgrammeAccounts
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class ProgrammeReport:
    """Where a programme's budget stands. Every figure in micro-credits."""

    programme: Programme
    applications_approved: int
    applications_refused: int
    granted_micro: int
    granted_non_capital_micro: int
    granted_youth_micro: int
    pool_available_micro: int
    spent_on_compute_micro: int  # posted to the centre's revenue account
    fees_micro: int  # posted to integrator payables
    expired_micro: int
    clawed_back_micro: int


@dataclass(frozen=True, slots=True)
class NewApplication:
    programme_id: int
    firm_id: int
    key: str  # the caller's idempotency key: the same key again answers the same application
    track: Track = Track.SME_DIRECT


@dataclass(frozen=True, slots=True)
class NewConsortiumApplication:
    programme_id: int
    consortium_id: int
    anchor_id: int  # the consortium's anchor applies for it
    key: str


@dataclass(frozen=True, slots=True)
class Application:
    id: int
    programme_id: int
    firm_id: int
    key: str
    track: Track
    decision: Decision
    reasons: tuple[Reason, ...]  # every reason for a refusal; empty when approved
    amount_micro: int  # granted; 0 when refused
    lot_account_id: int | None  # the lot, or for a consortium grant the consortium's pool
    decided_at_ns: int
    audit_status: AuditStatus
    audit_reasons: tuple[Reason, ...]  # why it was selected for audit
    audit_note: str
    audited_at_ns: int | None


@dataclass(frozen=True, slots=True)
class Lot:
    """One grant: a wallet account of the firm, funded from the pool, with an expiry day."""

    account_id: int
    programme_id: int
    firm_id: int
    application_id: int
    granted_micro: int
    granted_on: date
    expires_on: date  # the first day it can no longer be spent
    status: LotStatus
    available_micro: int  # may still be spent
    held_micro: int  # held for spends not yet settled
    spent_micro: int  # posted to compute and fees
    clawed_back_micro: int
    expired_micro: int


@dataclass(frozen=True, slots=True)
class LotClawback:
    """What a failed audit did to one lot: spent and held credits are flagged, not taken."""

    lot_account_id: int
    granted_micro: int
    spent_micro: int
    held_micro: int
    clawed_back_micro: int


@dataclass(frozen=True, slots=True)
class AuditResult:
    application: Application
    clawbacks: tuple[LotClawback, ...]  # empty when the audit passed


@dataclass(frozen=True, slots=True)
class LotSweep:
    """One batch of the lot expiry sweep."""

    expired: tuple[Lot, ...]
    deferred: tuple[int, ...]  # lots past expiry that still carry holds; swept once resolved
    next_after_lot_id: int | None  # where the next batch starts; None when this was the last


@dataclass(frozen=True, slots=True)
class NewMandate:
    programme_id: int
    firm_id: int
    integrator_id: int
    project: str
    cap_micro: int
    valid_until: date  # the last day it may be used
    key: str
    consortium_id: int | None = None  # draw from this consortium's pool; `firm_id` its anchor


@dataclass(frozen=True, slots=True)
class Mandate:
    """A firm's mandate over its lots, or (with `consortium_id`) its anchor's mandate over the
    consortium's pool."""

    id: int
    programme_id: int
    firm_id: int
    integrator_id: int
    key: str
    project: str
    cap_micro: int
    valid_until: date
    granted_at_ns: int
    revoked_at_ns: int | None
    drawn_micro: int  # compute and fees drawn under it, holds included until released
    fees_micro: int  # service fees redeemed
    fee_max_micro: int  # the programme's service share of the cap
    consortium_id: int | None = None


@dataclass(frozen=True, slots=True)
class SpendLeg:
    """One transfer of a spend: from one lot, or from the consortium's pool."""

    transfer_id: int
    lot_account_id: int  # the lot, or for a consortium mandate the consortium's pool
    amount_micro: int
    posted_micro: int | None  # for a hold: what was posted when it was settled


@dataclass(frozen=True, slots=True)
class Spend:
    """Credits drawn under a mandate: one transfer per lot, earliest expiry first, as one
    linked chain. Every transfer carries the mandate (user_data_64) and the integrator
    (user_data_32); the lots name the firm. Under a consortium mandate the one transfer draws
    from the consortium's pool, and `firm_id` is the consortium's anchor."""

    id: int
    mandate_id: int
    programme_id: int
    firm_id: int
    integrator_id: int
    key: str
    kind: SpendKind
    amount_micro: int
    purpose: str
    pending: bool
    timeout_s: int
    status: SpendStatus
    legs: tuple[SpendLeg, ...]
    amount_krw: int  # at the programme's price
    created_at_ns: int
    consortium_id: int | None = None

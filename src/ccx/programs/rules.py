"""The rules of programmes and applications (pure): checks on a programme's terms, and the
approve-first decision on an application, with every reason for a refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ccx.ledger.types import AMOUNT_MAX, LEDGER_MAX
from ccx.programs.types import (
    BP_MAX,
    KEY_CHARS_MAX,
    NAME_CHARS_MAX,
    NewProgramme,
    ProgrammeTerms,
    Reason,
    ReasonCode,
    Track,
    credits_text,
)
from ccx.registry.types import Organisation, OrgKind, SizeClass

APPLICANT_KINDS = frozenset({OrgKind.SME, OrgKind.MID_SIZED})
"""Kinds a programme may admit as applicants."""
LOT_LIFETIME_DAYS_MAX = 3_650
RISK_DAYS_MAX = 3_650
RISK_CLUSTER_MAX = 1_000
PRICE_KRW_MAX = 10**9
PARENT_SHARE_BP_MIN = 3_000
"""A corporation that is the largest shareholder with at least this share is the firm's parent:
its firms share one group cap."""
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def text_problems(field: str, value: str, *, chars_max: int, required: bool = True) -> list[str]:
    """Problems of a one-line text field (already trimmed by the caller)."""
    problems = []
    if required and not value:
        problems.append(f"{field} must not be empty")
    if len(value) > chars_max:
        problems.append(f"{field} has at most {chars_max} characters, not {len(value)}")
    if _CONTROL_CHARS.search(value):
        problems.append(f"{field} must not contain control characters")
    return problems


def key_problems(key: str) -> list[str]:
    return text_problems("key", key, chars_max=KEY_CHARS_MAX)


def in_range(field: str, value: int, low: int, high: int) -> list[str]:
    return [] if low <= value <= high else [f"{field} must be {low:,} to {high:,}, not {value:,}"]


def _credits_range(field: str, micro: int, high: int) -> list[str]:
    if micro <= 0:
        return [f"{field} must be more than 0 credits"]
    if micro > high:
        return [f"{field} must be at most {credits_text(high)} credits, not {credits_text(micro)}"]
    return []


def programme_problems(new: NewProgramme) -> list[str]:
    """Everything wrong with a new programme; empty when it may be created."""
    terms = new.terms
    return [
        *in_range("id", new.id, 1, LEDGER_MAX),
        *text_problems("name", new.name, chars_max=NAME_CHARS_MAX),
        *_credits_range("the budget", terms.budget_micro, AMOUNT_MAX),
        *([] if terms.opens_on <= terms.closes_on else ["the programme closes before it opens"]),
        *_grant_problems(terms),
        *in_range("lot lifetime (days)", terms.lot_lifetime_days, 1, LOT_LIFETIME_DAYS_MAX),
        *_credits_range("the firm cap", terms.firm_cap_micro, AMOUNT_MAX),
        *_credits_range("the group cap", terms.group_cap_micro, AMOUNT_MAX),
        *in_range("non-capital quota (bp)", terms.quota_non_capital_bp, 0, BP_MAX),
        *in_range("youth quota (bp)", terms.quota_youth_bp, 0, BP_MAX),
        *in_range(
            "quotas together (bp)", terms.quota_non_capital_bp + terms.quota_youth_bp, 0, BP_MAX
        ),
        *([] if terms.tracks else ["a programme offers at least one track"]),
        *_kind_problems(terms),
        *in_range("service share (bp)", terms.service_share_max_bp, 0, BP_MAX),
        *in_range("price (KRW per credit)", terms.price_krw_per_credit, 0, PRICE_KRW_MAX),
        *in_range("audit sample (bp)", terms.audit_sample_bp, 0, BP_MAX),
        *in_range("risk cluster size", terms.risk_cluster_min, 2, RISK_CLUSTER_MAX),
        *in_range("risk founding window (days)", terms.risk_founded_within_days, 0, RISK_DAYS_MAX),
    ]


def _grant_problems(terms: ProgrammeTerms) -> list[str]:
    rule = terms.grant
    if (rule.fixed_micro is None) == (not rule.by_size_micro):
        return ["give either a fixed grant or grants by size class"]
    amounts = [rule.fixed_micro] if rule.fixed_micro is not None else rule.by_size_micro.values()
    return [
        problem
        for amount in amounts
        for problem in _credits_range("a grant", amount, terms.budget_micro)
    ]


def _kind_problems(terms: ProgrammeTerms) -> list[str]:
    if not terms.eligible_kinds:
        return ["a programme admits at least one kind of applicant"]
    other = sorted(kind.value for kind in terms.eligible_kinds - APPLICANT_KINDS)
    return [f"applicants are SMEs or mid-sized firms, not {', '.join(other)}"] if other else []


def group_key(org: Organisation) -> str | None:
    """The group whose firms share one cap: the KFTC business group, else the parent (the
    largest shareholder, a corporation with a BRN holding at least 30 %), else none."""
    if org.business_group:
        return f"group:{org.business_group}"
    for holder in org.shareholders:
        if (
            holder.is_corporation
            and holder.is_largest
            and holder.holder_brn
            and holder.share_bp >= PARENT_SHARE_BP_MIN
        ):
            return f"parent:{holder.holder_brn}"
    return None


@dataclass(frozen=True, slots=True)
class Applicant:
    """What the rules need to know about the applying firm."""

    kind: OrgKind
    sme_reasons: tuple[str, ...]  # why it is not an SME (empty if it is, or was not tested)
    size_class: SizeClass
    group_key: str | None
    in_capital_region: bool
    youth_led: bool
    consortium_id: int | None = None  # set when an anchor applies for its consortium's pool

    @property
    def cap_holder(self) -> str:
        return "the firm" if self.consortium_id is None else f"consortium {self.consortium_id}"

    @property
    def track(self) -> Track:
        """The one track this applicant may apply on."""
        return Track.SME_DIRECT if self.consortium_id is None else Track.CONSORTIUM


@dataclass(frozen=True, slots=True)
class Usage:
    """What the programme has granted so far, as seen by one applicant (micro-credits)."""

    granted_non_capital_micro: int
    granted_youth_micro: int
    firm_granted_micro: int  # for a consortium applicant: granted to its pool
    group_granted_micro: int
    pool_available_micro: int
    firm_failed_audit: bool  # for a consortium applicant: an audit of a grant to its pool


@dataclass(frozen=True, slots=True)
class GrantDecision:
    amount_micro: int  # 0 when refused
    reasons: tuple[Reason, ...]

    @property
    def approved(self) -> bool:
        return not self.reasons


def unused_reserves_micro(terms: ProgrammeTerms, usage: Usage) -> tuple[int, int]:
    """The (non-capital, youth) reserves not yet granted to firms that qualify for them."""
    non_capital = terms.reserve_micro(terms.quota_non_capital_bp) - usage.granted_non_capital_micro
    youth = terms.reserve_micro(terms.quota_youth_bp) - usage.granted_youth_micro
    return max(0, non_capital), max(0, youth)


def decide(
    terms: ProgrammeTerms, applicant: Applicant, usage: Usage, *, track: Track, today: date
) -> GrantDecision:
    """Approve with the grant amount, or refuse with every reason that applies."""
    amount = terms.grant.amount_for(applicant.size_class)
    reasons = [
        *_eligibility_reasons(terms, applicant),
        *_timing_and_track_reasons(terms, track, applicant.track, today),
        *_history_reasons(usage, applicant),
    ]
    if amount is None:
        reasons.append(
            Reason(
                ReasonCode.NO_GRANT_FOR_SIZE,
                f"the programme grants nothing to {applicant.size_class.value} firms",
            )
        )
    else:
        reasons += _amount_reasons(terms, applicant, usage, amount)
    return GrantDecision(0 if reasons or amount is None else amount, tuple(reasons))


def _eligibility_reasons(terms: ProgrammeTerms, applicant: Applicant) -> list[Reason]:
    """A firm's kind and SME test; a consortium's anchor was checked when it was formed."""
    if applicant.consortium_id is not None:
        return []
    if applicant.kind not in terms.eligible_kinds:
        admitted = ", ".join(sorted(kind.value for kind in terms.eligible_kinds))
        return [
            Reason(
                ReasonCode.KIND_NOT_ELIGIBLE,
                f"organisations of kind {applicant.kind.value} may not apply"
                f" (admitted: {admitted})",
            )
        ]
    return [Reason(ReasonCode.NOT_AN_SME, text) for text in applicant.sme_reasons]


def _history_reasons(usage: Usage, applicant: Applicant) -> list[Reason]:
    if usage.firm_failed_audit:
        who = "firm" if applicant.consortium_id is None else "consortium"
        return [Reason(ReasonCode.FAILED_AUDIT, f"the {who} failed an audit in this programme")]
    return []


def _timing_and_track_reasons(
    terms: ProgrammeTerms, track: Track, own_track: Track, today: date
) -> list[Reason]:
    reasons = []
    if not terms.opens_on <= today <= terms.closes_on:
        reasons.append(
            Reason(
                ReasonCode.PROGRAMME_NOT_OPEN,
                f"the programme takes applications from {terms.opens_on} to {terms.closes_on},"
                f" not on {today}",
            )
        )
    if track not in terms.tracks:
        reasons.append(
            Reason(ReasonCode.TRACK_NOT_OFFERED, f"the programme has no {track.value} track")
        )
    elif track is not own_track:
        reasons.append(
            Reason(
                ReasonCode.TRACK_NOT_FOR_FIRMS,
                f"a firm applies on the sme_direct track, not {track.value}",
            )
        )
    return reasons


def _amount_reasons(
    terms: ProgrammeTerms, applicant: Applicant, usage: Usage, amount: int
) -> list[Reason]:
    reasons = []
    grant = credits_text(amount)
    if usage.firm_granted_micro + amount > terms.firm_cap_micro:
        reasons.append(
            Reason(
                ReasonCode.FIRM_CAP
                if applicant.consortium_id is None
                else ReasonCode.CONSORTIUM_CAP,
                f"a grant of {grant} credits would take {applicant.cap_holder} over its cap of"
                f" {credits_text(terms.firm_cap_micro)} (granted so far:"
                f" {credits_text(usage.firm_granted_micro)})",
            )
        )
    if applicant.group_key and usage.group_granted_micro + amount > terms.group_cap_micro:
        reasons.append(
            Reason(
                ReasonCode.GROUP_CAP,
                f"a grant of {grant} credits would take {applicant.group_key} over the group cap"
                f" of {credits_text(terms.group_cap_micro)} (granted so far:"
                f" {credits_text(usage.group_granted_micro)})",
            )
        )
    if amount > usage.pool_available_micro:
        reasons.append(
            Reason(
                ReasonCode.BUDGET_EXHAUSTED,
                f"the budget has {credits_text(usage.pool_available_micro)} credits left,"
                f" not {grant}",
            )
        )
    else:
        reasons += _quota_reasons(terms, applicant, usage, amount)
    return reasons


def _quota_reasons(
    terms: ProgrammeTerms, applicant: Applicant, usage: Usage, amount: int
) -> list[Reason]:
    non_capital, youth = unused_reserves_micro(terms, usage)
    kept = []
    if applicant.in_capital_region and non_capital:
        kept.append(f"{credits_text(non_capital)} for firms outside the capital region")
    if not applicant.youth_led and youth:
        kept.append(f"{credits_text(youth)} for youth-led firms")
    must_leave = (non_capital if applicant.in_capital_region else 0) + (
        0 if applicant.youth_led else youth
    )
    if usage.pool_available_micro - amount >= must_leave:
        return []
    return [
        Reason(
            ReasonCode.QUOTA_RESERVED,
            f"a grant of {credits_text(amount)} credits would leave"
            f" {credits_text(usage.pool_available_micro - amount)} in the pool, but"
            f" {' and '.join(kept)} are reserved",
        )
    ]

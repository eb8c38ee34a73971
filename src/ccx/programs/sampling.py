"""Which approved applications go to post-audit, and why (pure).

Two samples: a random one, drawn deterministically from the application id (so a retry or a
replay selects the same applications), and a risk-based one: several firms applying to one
programme from the same address or with the same contact email, or a firm founded shortly
before it applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ccx.ids import derived_id
from ccx.programs.types import BP_MAX, ProgrammeTerms, Reason, ReasonCode


def contact_key(email: str) -> str:
    """A contact email compared without surrounding spaces, case ignored ('' when none)."""
    return email.strip().casefold()


def in_random_sample(application_id: int, sample_bp: int) -> bool:
    """Whether the application falls in a random sample of `sample_bp` basis points."""
    return derived_id("programme.audit.sample", application_id) % BP_MAX < sample_bp


@dataclass(frozen=True, slots=True)
class RiskSignals:
    """What the risk sample looks at, for one application."""

    firms_at_address: int  # firms (this one included) that applied from its address
    firms_with_contact: int  # firms (this one included) that applied with its contact email
    founded_on: date | None


def audit_reasons(
    terms: ProgrammeTerms, *, application_id: int, signals: RiskSignals, today: date
) -> tuple[Reason, ...]:
    """Every reason to audit an approved application; empty when it is not selected."""
    reasons = []
    if in_random_sample(application_id, terms.audit_sample_bp):
        reasons.append(
            Reason(
                ReasonCode.RANDOM_SAMPLE,
                f"drawn in the random sample of {terms.audit_sample_bp / 100:g} %",
            )
        )
    reasons += cluster_reasons(terms, signals)
    if signals.founded_on is not None:
        age_days = (today - signals.founded_on).days
        if age_days < terms.risk_founded_within_days:
            reasons.append(
                Reason(
                    ReasonCode.NEWLY_FOUNDED,
                    f"founded {age_days} days before applying"
                    f" (under {terms.risk_founded_within_days})",
                )
            )
    return tuple(reasons)


def cluster_reasons(terms: ProgrammeTerms, signals: RiskSignals) -> list[Reason]:
    """The shared-address and shared-contact reasons (they apply to the whole cluster)."""
    reasons = []
    if signals.firms_at_address >= terms.risk_cluster_min:
        reasons.append(
            Reason(
                ReasonCode.SHARED_ADDRESS,
                f"{signals.firms_at_address} firms applied from the same address",
            )
        )
    if signals.firms_with_contact >= terms.risk_cluster_min:
        reasons.append(
            Reason(
                ReasonCode.SHARED_CONTACT,
                f"{signals.firms_with_contact} firms applied with the same contact email",
            )
        )
    return reasons

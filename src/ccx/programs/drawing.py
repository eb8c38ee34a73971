"""The rules of mandates and of spending under them (pure).

A mandate lets one certified integrator draw up to its cap from one firm's lots (or, given by
a consortium's anchor, from the consortium's pool) in one programme until its last day. Spends
draw from the firm's lots earliest expiry first. Of the
cap, at most the programme's service share (rounded down) may be redeemed as the integrator's
fee; the rest is for compute only. Holds count against the cap until they are released.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ccx.ledger.types import PendingStatus
from ccx.programs.types import BP_MAX, Mandate, Reason, ReasonCode, SpendKind, credits_text
from ccx.registry.types import Certification, CertificationStatus, Organisation, OrgKind


def fee_max_micro(cap_micro: int, service_share_max_bp: int) -> int:
    return cap_micro * service_share_max_bp // BP_MAX


def certification_reasons(
    integrator_id: int, certification: Certification | None, today: date
) -> list[Reason]:
    if certification is not None and certification.valid_on(today):
        return []
    if certification is None:
        state = "has never applied for certification"
    elif certification.status is CertificationStatus.CERTIFIED:
        state = f"was certified until {certification.certified_until}"
    else:
        state = f"is {certification.status.value}"
    return [
        Reason(
            ReasonCode.NOT_CERTIFIED,
            f"integrator {integrator_id} {state}, not certified on {today}",
        )
    ]


def grant_reasons(
    integrator: Organisation,
    certification: Certification | None,
    *,
    conflicts: Sequence[str],
    firm_has_lots: bool,
    today: date,
    no_source: str = "the firm holds no lot in this programme",
) -> list[Reason]:
    """Every reason a firm may not give this integrator a mandate; empty when it may.
    `firm_has_lots` says whether the mandate's source (the firm's lots, or the consortium's
    pool) exists in the programme; `no_source` is the reason's text when it does not."""
    reasons = []
    if integrator.kind is not OrgKind.INTEGRATOR:
        reasons.append(
            Reason(
                ReasonCode.NOT_AN_INTEGRATOR,
                f"organisation {integrator.id} is a {integrator.kind.value}, not an integrator",
            )
        )
    reasons += certification_reasons(integrator.id, certification, today)
    reasons += [Reason(ReasonCode.CONFLICT_OF_INTEREST, text) for text in conflicts]
    if not firm_has_lots:
        reasons.append(Reason(ReasonCode.NO_CREDITS_IN_PROGRAMME, no_source))
    return reasons


def spend_reasons(
    mandate: Mandate,
    *,
    kind: SpendKind,
    amount_micro: int,
    available_micro: int,
    certification: Certification | None,
    today: date,
    source: str = "the firm's spendable lots hold",
) -> list[Reason]:
    """Every reason a spend under `mandate` is refused; empty when it may go ahead. `source`
    opens the text of a shortfall (the firm's lots, or the consortium's pool)."""
    reasons = []
    if mandate.revoked_at_ns is not None:
        reasons.append(Reason(ReasonCode.MANDATE_REVOKED, f"mandate {mandate.id} was revoked"))
    if today > mandate.valid_until:
        reasons.append(
            Reason(
                ReasonCode.MANDATE_EXPIRED,
                f"mandate {mandate.id} ran until {mandate.valid_until}",
            )
        )
    reasons += certification_reasons(mandate.integrator_id, certification, today)
    if mandate.drawn_micro + amount_micro > mandate.cap_micro:
        reasons.append(
            Reason(
                ReasonCode.MANDATE_CAP,
                f"{credits_text(amount_micro)} credits would take the mandate over its cap of"
                f" {credits_text(mandate.cap_micro)} (drawn: {credits_text(mandate.drawn_micro)})",
            )
        )
    if kind is SpendKind.SERVICE_FEE and mandate.fees_micro + amount_micro > mandate.fee_max_micro:
        reasons.append(
            Reason(
                ReasonCode.FEE_SHARE,
                f"a fee of {credits_text(amount_micro)} credits would exceed the service share of"
                f" {credits_text(mandate.fee_max_micro)} (redeemed:"
                f" {credits_text(mandate.fees_micro)})",
            )
        )
    if amount_micro > available_micro:
        reasons.append(
            Reason(
                ReasonCode.INSUFFICIENT_CREDITS,
                f"{source} {credits_text(available_micro)} credits,"
                f" not {credits_text(amount_micro)}",
            )
        )
    return reasons


@dataclass(frozen=True, slots=True)
class SpendableLot:
    account_id: int
    expires_on: date
    available_micro: int


def plan_draw(lots: Sequence[SpendableLot], amount_micro: int) -> list[tuple[int, int]]:
    """(lot, amount) pairs that draw `amount_micro`, earliest expiry first (then lot id).

    The lots must hold enough (see `spend_reasons`).
    """
    assert amount_micro > 0
    plan = []
    remaining = amount_micro
    for lot in sorted(lots, key=lambda lot: (lot.expires_on, lot.account_id)):
        take = min(lot.available_micro, remaining)
        if take > 0:
            plan.append((lot.account_id, take))
            remaining -= take
        if remaining == 0:
            return plan
    raise AssertionError("plan_draw needs lots that hold the amount")


def split_post(leg_amounts: Sequence[int], post_micro: int) -> list[int]:
    """How much of each hold to post, in order, to post `post_micro` in all."""
    assert 0 <= post_micro <= sum(leg_amounts)
    posts = []
    remaining = post_micro
    for amount in leg_amounts:
        take = min(amount, remaining)
        posts.append(take)
        remaining -= take
    return posts


def drawn_by_leg(
    amount_micro: int, *, pending: bool, posted_micro: int | None, hold: PendingStatus | None
) -> int:
    """What one transfer of a spend counts against its mandate's cap.

    A direct transfer counts in full. A hold counts in full while pending, and then what was
    posted when it was settled; a hold voided or expired counts nothing. A hold posted outside
    `settle_spend` counts in full.
    """
    if not pending:
        return amount_micro
    if posted_micro is not None:
        return posted_micro
    if hold in (PendingStatus.VOIDED, PendingStatus.EXPIRED):
        return 0
    return amount_micro

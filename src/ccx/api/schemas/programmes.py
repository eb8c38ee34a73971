"""Bodies of the programme routes: programmes, applications, audits, lots, mandates, spends.

Amounts are strict JSON integers in micro-credits (`*_micro`; 1 credit = 1_000_000), shares in
basis points (`*_bp`), days as ISO dates. The rules themselves (caps, quotas, dates) are checked
by the service, which lists every problem.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

from ccx.api.schemas.ledger import Id, LedgerId, MicroCredits
from ccx.programs import (
    Application,
    AuditResult,
    GrantRule,
    Lot,
    LotClawback,
    LotSweep,
    Mandate,
    NewMandate,
    NewProgramme,
    Programme,
    ProgrammeReport,
    ProgrammeTerms,
    Reason,
    Spend,
    Track,
)
from ccx.programs.types import (
    BP_MAX,
    KEY_CHARS_MAX,
    NAME_CHARS_MAX,
    NOTE_CHARS_MAX,
    PROJECT_CHARS_MAX,
)
from ccx.registry import OrgKind, SizeClass

Bp = Annotated[int, Strict(), Field(ge=0, le=BP_MAX, description="Basis points (10000 = 100 %).")]
Days = Annotated[int, Strict(), Field(ge=0, le=100_000)]
Count = Annotated[int, Strict(), Field(ge=0, le=100_000)]
Krw = Annotated[int, Strict(), Field(ge=0, le=10**12, description="Whole KRW.")]
Key = Annotated[
    str,
    Field(
        min_length=1,
        max_length=KEY_CHARS_MAX,
        description="The caller's idempotency key: the same key again answers the same result.",
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProgrammeIn(_Body):
    id: LedgerId = Field(description="Caller-chosen programme id; also its ledger's id.")
    name: str = Field(min_length=1, max_length=NAME_CHARS_MAX)
    budget_micro: MicroCredits
    opens_on: date
    closes_on: date = Field(description="The last day applications are taken.")
    grant_fixed_micro: MicroCredits | None = Field(
        default=None, description="Every approved firm gets this; or give grant_by_size_micro."
    )
    grant_by_size_micro: dict[SizeClass, MicroCredits] = Field(
        default_factory=dict, description="Amount per size class (micro, small, medium)."
    )
    lot_lifetime_days: Days
    firm_cap_micro: MicroCredits
    group_cap_micro: MicroCredits
    quota_non_capital_bp: Bp = 0
    quota_youth_bp: Bp = 0
    tracks: list[Track] = Field(default_factory=lambda: [Track.SME_DIRECT], max_length=2)
    eligible_kinds: list[OrgKind] = Field(default_factory=lambda: [OrgKind.SME], max_length=2)
    service_share_max_bp: Bp = 1_000
    price_krw_per_credit: Krw = 0
    audit_sample_bp: Bp = 500
    risk_cluster_min: Count = 3
    risk_founded_within_days: Days = 90

    def to_new(self) -> NewProgramme:
        return NewProgramme(
            id=self.id,
            name=self.name,
            terms=ProgrammeTerms(
                budget_micro=self.budget_micro,
                opens_on=self.opens_on,
                closes_on=self.closes_on,
                grant=GrantRule(self.grant_fixed_micro, dict(self.grant_by_size_micro)),
                lot_lifetime_days=self.lot_lifetime_days,
                firm_cap_micro=self.firm_cap_micro,
                group_cap_micro=self.group_cap_micro,
                quota_non_capital_bp=self.quota_non_capital_bp,
                quota_youth_bp=self.quota_youth_bp,
                tracks=frozenset(self.tracks),
                eligible_kinds=frozenset(self.eligible_kinds),
                service_share_max_bp=self.service_share_max_bp,
                price_krw_per_credit=self.price_krw_per_credit,
                audit_sample_bp=self.audit_sample_bp,
                risk_cluster_min=self.risk_cluster_min,
                risk_founded_within_days=self.risk_founded_within_days,
            ),
        )


class ProgrammeAccountsOut(BaseModel):
    appropriation: int
    pool: int
    centre_revenue: int
    expired: int
    clawback: int


class ProgrammeOut(BaseModel):
    id: int
    name: str
    budget_micro: int
    opens_on: date
    closes_on: date
    grant_fixed_micro: int | None
    grant_by_size_micro: dict[SizeClass, int]
    lot_lifetime_days: int
    firm_cap_micro: int
    group_cap_micro: int
    quota_non_capital_bp: int
    quota_youth_bp: int
    tracks: list[Track]
    eligible_kinds: list[OrgKind]
    service_share_max_bp: int
    price_krw_per_credit: int
    audit_sample_bp: int
    risk_cluster_min: int
    risk_founded_within_days: int
    accounts: ProgrammeAccountsOut = Field(description="Ledger account ids of the programme.")
    created_at_ns: int

    @classmethod
    def of(cls, programme: Programme) -> ProgrammeOut:
        terms = programme.terms
        accounts = programme.accounts
        return cls(
            id=programme.id,
            name=programme.name,
            budget_micro=terms.budget_micro,
            opens_on=terms.opens_on,
            closes_on=terms.closes_on,
            grant_fixed_micro=terms.grant.fixed_micro,
            grant_by_size_micro=dict(terms.grant.by_size_micro),
            lot_lifetime_days=terms.lot_lifetime_days,
            firm_cap_micro=terms.firm_cap_micro,
            group_cap_micro=terms.group_cap_micro,
            quota_non_capital_bp=terms.quota_non_capital_bp,
            quota_youth_bp=terms.quota_youth_bp,
            tracks=sorted(terms.tracks),
            eligible_kinds=sorted(terms.eligible_kinds),
            service_share_max_bp=terms.service_share_max_bp,
            price_krw_per_credit=terms.price_krw_per_credit,
            audit_sample_bp=terms.audit_sample_bp,
            risk_cluster_min=terms.risk_cluster_min,
            risk_founded_within_days=terms.risk_founded_within_days,
            accounts=ProgrammeAccountsOut(
                appropriation=accounts.appropriation,
                pool=accounts.pool,
                centre_revenue=accounts.centre_revenue,
                expired=accounts.expired,
                clawback=accounts.clawback,
            ),
            created_at_ns=programme.created_at_ns,
        )


class ProgrammeReportOut(BaseModel):
    programme: ProgrammeOut
    applications_approved: int
    applications_refused: int
    granted_micro: int
    granted_non_capital_micro: int
    granted_youth_micro: int
    pool_available_micro: int = Field(description="What may still be granted.")
    spent_on_compute_micro: int
    fees_micro: int
    expired_micro: int
    clawed_back_micro: int

    @classmethod
    def of(cls, report: ProgrammeReport) -> ProgrammeReportOut:
        return cls(
            programme=ProgrammeOut.of(report.programme),
            applications_approved=report.applications_approved,
            applications_refused=report.applications_refused,
            granted_micro=report.granted_micro,
            granted_non_capital_micro=report.granted_non_capital_micro,
            granted_youth_micro=report.granted_youth_micro,
            pool_available_micro=report.pool_available_micro,
            spent_on_compute_micro=report.spent_on_compute_micro,
            fees_micro=report.fees_micro,
            expired_micro=report.expired_micro,
            clawed_back_micro=report.clawed_back_micro,
        )


class ReasonOut(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `firm_cap`.")
    text: str

    @classmethod
    def of(cls, reason: Reason) -> ReasonOut:
        return cls(code=reason.code.value, text=reason.text)


class ApplicationIn(_Body):
    key: Key
    track: Track = Track.SME_DIRECT


class ApplicationOut(BaseModel):
    id: int
    programme_id: int
    firm_id: int
    key: str
    track: Track
    decision: str = Field(description="`approved` or `refused`.")
    reasons: list[ReasonOut] = Field(description="Every reason for a refusal.")
    amount_micro: int
    lot_account_id: int | None
    decided_at_ns: int
    audit_status: str = Field(description="`not_selected`, `selected`, `passed` or `failed`.")
    audit_reasons: list[ReasonOut]
    audit_note: str
    audited_at_ns: int | None

    @classmethod
    def of(cls, application: Application) -> ApplicationOut:
        return cls(
            id=application.id,
            programme_id=application.programme_id,
            firm_id=application.firm_id,
            key=application.key,
            track=application.track,
            decision=application.decision.value,
            reasons=[ReasonOut.of(reason) for reason in application.reasons],
            amount_micro=application.amount_micro,
            lot_account_id=application.lot_account_id,
            decided_at_ns=application.decided_at_ns,
            audit_status=application.audit_status.value,
            audit_reasons=[ReasonOut.of(reason) for reason in application.audit_reasons],
            audit_note=application.audit_note,
            audited_at_ns=application.audited_at_ns,
        )


class AuditOutcome(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"


class AuditIn(_Body):
    outcome: AuditOutcome
    note: str = Field(default="", max_length=NOTE_CHARS_MAX)


class LotClawbackOut(BaseModel):
    lot_account_id: int
    granted_micro: int
    spent_micro: int = Field(description="Spent before the audit: flagged, not taken back.")
    held_micro: int = Field(description="Held for unsettled spends: flagged, not taken back.")
    clawed_back_micro: int

    @classmethod
    def of(cls, clawback: LotClawback) -> LotClawbackOut:
        return cls(
            lot_account_id=clawback.lot_account_id,
            granted_micro=clawback.granted_micro,
            spent_micro=clawback.spent_micro,
            held_micro=clawback.held_micro,
            clawed_back_micro=clawback.clawed_back_micro,
        )


class AuditResultOut(BaseModel):
    application: ApplicationOut
    clawbacks: list[LotClawbackOut]

    @classmethod
    def of(cls, result: AuditResult) -> AuditResultOut:
        return cls(
            application=ApplicationOut.of(result.application),
            clawbacks=[LotClawbackOut.of(clawback) for clawback in result.clawbacks],
        )


class LotOut(BaseModel):
    account_id: int
    programme_id: int
    firm_id: int
    application_id: int
    granted_micro: int
    granted_on: date
    expires_on: date = Field(description="The first day the lot can no longer be spent.")
    status: str = Field(description="`active`, `clawed_back` or `expired`.")
    available_micro: int
    held_micro: int
    spent_micro: int
    clawed_back_micro: int
    expired_micro: int

    @classmethod
    def of(cls, lot: Lot) -> LotOut:
        return cls(
            account_id=lot.account_id,
            programme_id=lot.programme_id,
            firm_id=lot.firm_id,
            application_id=lot.application_id,
            granted_micro=lot.granted_micro,
            granted_on=lot.granted_on,
            expires_on=lot.expires_on,
            status=lot.status.value,
            available_micro=lot.available_micro,
            held_micro=lot.held_micro,
            spent_micro=lot.spent_micro,
            clawed_back_micro=lot.clawed_back_micro,
            expired_micro=lot.expired_micro,
        )


class LotSweepIn(_Body):
    after_lot_id: int = Field(default=0, ge=0, strict=True)


class LotSweepOut(BaseModel):
    expired: list[LotOut]
    deferred: list[int] = Field(description="Lots past expiry that still carry holds.")
    next_after_lot_id: int | None = Field(
        description="Pass as after_lot_id to sweep the next batch; null when done."
    )

    @classmethod
    def of(cls, sweep: LotSweep) -> LotSweepOut:
        return cls(
            expired=[LotOut.of(lot) for lot in sweep.expired],
            deferred=list(sweep.deferred),
            next_after_lot_id=sweep.next_after_lot_id,
        )


class MandateIn(_Body):
    programme_id: LedgerId
    integrator_id: Id
    project: str = Field(min_length=1, max_length=PROJECT_CHARS_MAX)
    cap_micro: MicroCredits
    valid_until: date = Field(description="The last day the mandate may be used.")
    key: Key
    consortium_id: Id | None = Field(
        None, description="Spend from this consortium's pool (given by its anchor)."
    )

    def to_new(self, firm_id: int) -> NewMandate:
        return NewMandate(
            programme_id=self.programme_id,
            firm_id=firm_id,
            integrator_id=self.integrator_id,
            project=self.project,
            cap_micro=self.cap_micro,
            valid_until=self.valid_until,
            key=self.key,
            consortium_id=self.consortium_id,
        )


class MandateOut(BaseModel):
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
    drawn_micro: int = Field(description="Compute and fees drawn, holds included.")
    fees_micro: int
    fee_max_micro: int = Field(description="The programme's service share of the cap.")
    consortium_id: int | None = Field(
        description="The consortium whose pool it spends from (`firm_id` is its anchor)."
    )

    @classmethod
    def of(cls, mandate: Mandate) -> MandateOut:
        return cls(
            id=mandate.id,
            programme_id=mandate.programme_id,
            firm_id=mandate.firm_id,
            integrator_id=mandate.integrator_id,
            key=mandate.key,
            project=mandate.project,
            cap_micro=mandate.cap_micro,
            valid_until=mandate.valid_until,
            granted_at_ns=mandate.granted_at_ns,
            revoked_at_ns=mandate.revoked_at_ns,
            drawn_micro=mandate.drawn_micro,
            fees_micro=mandate.fees_micro,
            fee_max_micro=mandate.fee_max_micro,
            consortium_id=mandate.consortium_id,
        )


class FeeIn(_Body):
    amount_micro: MicroCredits
    key: Key


class SpendLegOut(BaseModel):
    transfer_id: int
    lot_account_id: int = Field(description="The lot, or the consortium's pool, drawn from.")
    amount_micro: int
    posted_micro: int | None


class SpendOut(BaseModel):
    id: int
    mandate_id: int
    programme_id: int
    firm_id: int
    integrator_id: int
    key: str
    kind: str = Field(description="`compute` or `service_fee`.")
    amount_micro: int
    amount_krw: int = Field(description="At the programme's price per credit, rounded down.")
    purpose: str
    pending: bool
    timeout_s: int
    status: str = Field(description="`posted`, `held` or `settled`.")
    legs: list[SpendLegOut] = Field(
        description="One transfer per lot, earliest expiry first (or one from the pool)."
    )
    created_at_ns: int
    consortium_id: int | None = Field(description="The consortium whose pool it drew from.")

    @classmethod
    def of(cls, spend: Spend) -> SpendOut:
        return cls(
            id=spend.id,
            mandate_id=spend.mandate_id,
            programme_id=spend.programme_id,
            firm_id=spend.firm_id,
            integrator_id=spend.integrator_id,
            key=spend.key,
            kind=spend.kind.value,
            amount_micro=spend.amount_micro,
            amount_krw=spend.amount_krw,
            purpose=spend.purpose,
            pending=spend.pending,
            timeout_s=spend.timeout_s,
            status=spend.status.value,
            legs=[
                SpendLegOut(
                    transfer_id=leg.transfer_id,
                    lot_account_id=leg.lot_account_id,
                    amount_micro=leg.amount_micro,
                    posted_micro=leg.posted_micro,
                )
                for leg in spend.legs
            ],
            created_at_ns=spend.created_at_ns,
            consortium_id=spend.consortium_id,
        )

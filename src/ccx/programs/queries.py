"""Programme reads. They return types, never rows; every list is bounded and keyset-paged by id.

Balances come from the programme's ledger; the tables here add rules, decisions and expiry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.ledger import queries as ledger_queries
from ccx.ledger.types import Account
from ccx.programs.drawing import drawn_by_leg, fee_max_micro
from ccx.programs.ledger_ids import programme_accounts
from ccx.programs.models import (
    ApplicationRow,
    LotRow,
    MandateRow,
    ProgrammeRow,
    SpendLegRow,
    SpendRow,
)
from ccx.programs.rules import Usage
from ccx.programs.types import (
    Application,
    AuditStatus,
    Decision,
    GrantRule,
    Lot,
    LotStatus,
    Mandate,
    Programme,
    ProgrammeReport,
    ProgrammeTerms,
    Reason,
    ReasonCode,
    Spend,
    SpendKind,
    SpendLeg,
    SpendStatus,
    Track,
    krw_for,
)
from ccx.registry.types import OrgKind, SizeClass

PAGE_SIZE_MAX = ledger_queries.PAGE_SIZE_MAX


def _values(text: str) -> list[str]:
    return [value for value in text.split(",") if value]


def terms_from_row(row: ProgrammeRow) -> ProgrammeTerms:
    by_size = {
        SizeClass.MICRO: row.grant_micro_firm_micro,
        SizeClass.SMALL: row.grant_small_firm_micro,
        SizeClass.MEDIUM: row.grant_medium_firm_micro,
    }
    return ProgrammeTerms(
        budget_micro=row.budget_micro,
        opens_on=row.opens_on,
        closes_on=row.closes_on,
        grant=GrantRule(
            fixed_micro=row.grant_fixed_micro,
            by_size_micro={size: amount for size, amount in by_size.items() if amount is not None},
        ),
        lot_lifetime_days=row.lot_lifetime_days,
        firm_cap_micro=row.firm_cap_micro,
        group_cap_micro=row.group_cap_micro,
        quota_non_capital_bp=row.quota_non_capital_bp,
        quota_youth_bp=row.quota_youth_bp,
        tracks=frozenset(Track(value) for value in _values(row.tracks)),
        eligible_kinds=frozenset(OrgKind(value) for value in _values(row.eligible_kinds)),
        service_share_max_bp=row.service_share_max_bp,
        price_krw_per_credit=row.price_krw_per_credit,
        audit_sample_bp=row.audit_sample_bp,
        risk_cluster_min=row.risk_cluster_min,
        risk_founded_within_days=row.risk_founded_within_days,
    )


def programme_from_row(row: ProgrammeRow) -> Programme:
    return Programme(
        id=row.id,
        name=row.name,
        terms=terms_from_row(row),
        accounts=programme_accounts(row.id),
        created_at_ns=row.created_at_ns,
    )


def get_programme(session: Session, programme_id: int) -> Programme | None:
    row = session.get(ProgrammeRow, programme_id)
    return None if row is None else programme_from_row(row)


def list_programmes(session: Session, *, limit: int, after_id: int = 0) -> list[Programme]:
    assert 0 < limit <= PAGE_SIZE_MAX
    rows = session.scalars(
        sa.select(ProgrammeRow)
        .where(ProgrammeRow.id > after_id)
        .order_by(ProgrammeRow.id)
        .limit(limit)
    )
    return [programme_from_row(row) for row in rows]


def _granted_sum(*conditions: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    """Σ granted over approved applications that meet `conditions` (a Decimal on PostgreSQL)."""
    approved = ApplicationRow.decision == Decision.APPROVED.value
    return sa.func.coalesce(
        sa.func.sum(
            sa.case((sa.and_(approved, *conditions), ApplicationRow.amount_micro), else_=0)
        ),
        0,
    )


def programme_report(session: Session, programme_id: int) -> ProgrammeReport | None:
    programme = get_programme(session, programme_id)
    if programme is None:
        return None
    figures = session.execute(
        sa.select(
            sa.func.count().filter(ApplicationRow.decision == Decision.APPROVED.value),
            sa.func.count().filter(ApplicationRow.decision == Decision.REFUSED.value),
            _granted_sum(),
            _granted_sum(ApplicationRow.in_capital_region.is_(False)),
            _granted_sum(ApplicationRow.youth_led.is_(True)),
        ).where(ApplicationRow.programme_id == programme_id)
    ).one()
    fees = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(SpendRow.amount_micro), 0))
        .join(MandateRow, MandateRow.id == SpendRow.mandate_id)
        .where(MandateRow.programme_id == programme_id)
        .where(SpendRow.kind == SpendKind.SERVICE_FEE.value)
    )
    ids = programme.accounts
    accounts = ledger_queries.get_accounts(
        session, [ids.pool, ids.centre_revenue, ids.expired, ids.clawback]
    )
    return ProgrammeReport(
        programme=programme,
        applications_approved=figures[0],
        applications_refused=figures[1],
        granted_micro=int(figures[2]),
        granted_non_capital_micro=int(figures[3]),
        granted_youth_micro=int(figures[4]),
        pool_available_micro=accounts[ids.pool].balance_available,
        spent_on_compute_micro=accounts[ids.centre_revenue].balance_posted,
        fees_micro=int(fees or 0),
        expired_micro=accounts[ids.expired].balance_posted,
        clawed_back_micro=accounts[ids.clawback].balance_posted,
    )


@dataclass(frozen=True, slots=True)
class ApplicationOutcomes:
    """How a programme's applications were decided and audited."""

    received: int
    approved: int
    refused: int
    refusals_by_reason: dict[str, int]  # reason code -> applications refused for it
    audits_selected: int
    audits_failed: int


def application_outcomes(session: Session, programme_id: int) -> ApplicationOutcomes:
    rows = session.execute(
        sa.select(
            ApplicationRow.decision, ApplicationRow.reasons, ApplicationRow.audit_status
        ).where(ApplicationRow.programme_id == programme_id)
    ).all()
    by_reason: dict[str, int] = {}
    for decision, reasons, _ in rows:
        if decision == Decision.REFUSED.value:
            for code in sorted({reason["code"] for reason in reasons}):
                by_reason[code] = by_reason.get(code, 0) + 1
    audited = [status for _, _, status in rows if status != AuditStatus.NOT_SELECTED.value]
    approved = sum(1 for decision, _, _ in rows if decision == Decision.APPROVED.value)
    return ApplicationOutcomes(
        received=len(rows),
        approved=approved,
        refused=len(rows) - approved,
        refusals_by_reason=dict(sorted(by_reason.items())),
        audits_selected=len(audited),
        audits_failed=sum(1 for status in audited if status == AuditStatus.FAILED.value),
    )


def grant_usage(
    session: Session,
    programme: Programme,
    *,
    firm_id: int,
    group_key: str | None,
    pool_account_id: int | None = None,
) -> Usage:
    """What the programme has granted, as the rules see it for one applicant; with
    `pool_account_id`, the applicant is a consortium and its grants (and failed audits) are
    those to that pool."""
    capped = (
        ApplicationRow.firm_id == firm_id
        if pool_account_id is None
        else ApplicationRow.lot_account_id == pool_account_id
    )
    if pool_account_id is None:
        capped = sa.and_(capped, ApplicationRow.track == Track.SME_DIRECT.value)
    # a failed audit bars its own applicant: the firm's track, or the consortium's pool
    figures = session.execute(
        sa.select(
            _granted_sum(ApplicationRow.in_capital_region.is_(False)),
            _granted_sum(ApplicationRow.youth_led.is_(True)),
            _granted_sum(capped),
            _granted_sum(ApplicationRow.group_key == group_key) if group_key else sa.literal(0),
            sa.func.count().filter(capped, ApplicationRow.audit_status == AuditStatus.FAILED.value),
        ).where(ApplicationRow.programme_id == programme.id)
    ).one()
    pool = ledger_queries.get_account(session, programme.accounts.pool)
    assert pool is not None
    return Usage(
        granted_non_capital_micro=int(figures[0]),
        granted_youth_micro=int(figures[1]),
        firm_granted_micro=int(figures[2]),
        group_granted_micro=int(figures[3]),
        pool_available_micro=pool.balance_available,
        firm_failed_audit=figures[4] > 0,
    )


def _reasons(items: Sequence[dict[str, Any]]) -> tuple[Reason, ...]:
    return tuple(Reason(ReasonCode(item["code"]), str(item["text"])) for item in items)


def application_from_row(row: ApplicationRow) -> Application:
    return Application(
        id=row.id,
        programme_id=row.programme_id,
        firm_id=row.firm_id,
        key=row.key,
        track=Track(row.track),
        decision=Decision(row.decision),
        reasons=_reasons(row.reasons),
        amount_micro=row.amount_micro,
        lot_account_id=row.lot_account_id,
        decided_at_ns=row.decided_at_ns,
        audit_status=AuditStatus(row.audit_status),
        audit_reasons=_reasons(row.audit_reasons),
        audit_note=row.audit_note,
        audited_at_ns=row.audited_at_ns,
    )


def get_application(session: Session, application_id: int) -> Application | None:
    row = session.get(ApplicationRow, application_id)
    return None if row is None else application_from_row(row)


def list_applications(
    session: Session,
    *,
    limit: int,
    after_id: int = 0,
    programme_id: int | None = None,
    firm_id: int | None = None,
    audit_status: AuditStatus | None = None,
) -> list[Application]:
    """Applications with id > after_id, in id order, optionally filtered."""
    assert 0 < limit <= PAGE_SIZE_MAX
    statement = sa.select(ApplicationRow).where(ApplicationRow.id > after_id)
    if programme_id is not None:
        statement = statement.where(ApplicationRow.programme_id == programme_id)
    if firm_id is not None:
        statement = statement.where(ApplicationRow.firm_id == firm_id)
    if audit_status is not None:
        statement = statement.where(ApplicationRow.audit_status == audit_status.value)
    rows = session.scalars(statement.order_by(ApplicationRow.id).limit(limit))
    return [application_from_row(row) for row in rows]


def lot_status(row: LotRow) -> LotStatus:
    if row.expired_at_ns is not None:
        return LotStatus.EXPIRED
    if row.clawed_back_at_ns is not None:
        return LotStatus.CLAWED_BACK
    return LotStatus.ACTIVE


def lot_from_row(row: LotRow, account: Account) -> Lot:
    return Lot(
        account_id=row.account_id,
        programme_id=row.programme_id,
        firm_id=row.firm_id,
        application_id=row.application_id,
        granted_micro=row.granted_micro,
        granted_on=row.granted_on,
        expires_on=row.expires_on,
        status=lot_status(row),
        available_micro=account.balance_available,
        held_micro=account.debits_pending,
        spent_micro=account.debits_posted - row.clawed_back_micro - row.expired_micro,
        clawed_back_micro=row.clawed_back_micro,
        expired_micro=row.expired_micro,
    )


def lots_from_rows(session: Session, rows: Sequence[LotRow]) -> list[Lot]:
    accounts = ledger_queries.get_accounts(session, [row.account_id for row in rows])
    return [lot_from_row(row, accounts[row.account_id]) for row in rows]


def list_lots(
    session: Session,
    *,
    limit: int,
    after_id: int = 0,
    programme_id: int | None = None,
    firm_id: int | None = None,
) -> list[Lot]:
    """Lots with account id > after_id, in id order, with their balances."""
    assert 0 < limit <= PAGE_SIZE_MAX
    statement = sa.select(LotRow).where(LotRow.account_id > after_id)
    if programme_id is not None:
        statement = statement.where(LotRow.programme_id == programme_id)
    if firm_id is not None:
        statement = statement.where(LotRow.firm_id == firm_id)
    rows = session.scalars(statement.order_by(LotRow.account_id).limit(limit)).all()
    return lots_from_rows(session, rows)


def _legs_by_spend(session: Session, spend_ids: Iterable[int]) -> dict[int, list[SpendLegRow]]:
    legs: dict[int, list[SpendLegRow]] = {spend_id: [] for spend_id in spend_ids}
    if legs:
        rows = session.scalars(
            sa.select(SpendLegRow)
            .where(SpendLegRow.spend_id.in_(list(legs)))
            .order_by(SpendLegRow.spend_id, SpendLegRow.position)
        )
        for row in rows:
            legs[row.spend_id].append(row)
    return legs


def _drawn_and_fees(session: Session, mandate_id: int) -> tuple[int, int]:
    """What the mandate's spends count against its cap (`drawing.drawn_by_leg`), and its
    service fees, from one read of its legs and one of their holds."""
    legs = session.execute(
        sa.select(
            SpendRow.kind,
            SpendRow.pending,
            SpendLegRow.transfer_id,
            SpendLegRow.amount_micro,
            SpendLegRow.posted_micro,
        )
        .join(SpendLegRow, SpendLegRow.spend_id == SpendRow.id)
        .where(SpendRow.mandate_id == mandate_id)
    ).all()
    holds = ledger_queries.pending_statuses(
        session, [leg.transfer_id for leg in legs if leg.pending and leg.posted_micro is None]
    )
    drawn = sum(
        drawn_by_leg(
            leg.amount_micro,
            pending=leg.pending,
            posted_micro=leg.posted_micro,
            hold=holds.get(leg.transfer_id),
        )
        for leg in legs
    )
    fees = sum(leg.amount_micro for leg in legs if leg.kind == SpendKind.SERVICE_FEE.value)
    return drawn, fees


def mandate_from_row(session: Session, row: MandateRow) -> Mandate:
    """A mandate with what has been drawn under it (reads its spends and their holds)."""
    share_bp = session.scalar(
        sa.select(ProgrammeRow.service_share_max_bp).where(ProgrammeRow.id == row.programme_id)
    )
    assert share_bp is not None
    drawn_micro, fees_micro = _drawn_and_fees(session, row.id)
    return Mandate(
        id=row.id,
        programme_id=row.programme_id,
        firm_id=row.firm_id,
        integrator_id=row.integrator_id,
        key=row.key,
        project=row.project,
        cap_micro=row.cap_micro,
        valid_until=row.valid_until,
        granted_at_ns=row.granted_at_ns,
        revoked_at_ns=row.revoked_at_ns,
        drawn_micro=drawn_micro,
        fees_micro=fees_micro,
        fee_max_micro=fee_max_micro(row.cap_micro, share_bp),
        consortium_id=row.consortium_id,
    )


def get_mandate(session: Session, mandate_id: int) -> Mandate | None:
    row = session.get(MandateRow, mandate_id)
    return None if row is None else mandate_from_row(session, row)


def list_mandates(
    session: Session,
    *,
    limit: int,
    after_id: int = 0,
    programme_id: int | None = None,
    firm_id: int | None = None,
    integrator_id: int | None = None,
    party_id: int | None = None,
    consortium_id: int | None = None,
) -> list[Mandate]:
    """Mandates with id > after_id, in id order, optionally filtered (`party_id`: mandates
    that name the organisation as firm or as integrator; `consortium_id`: mandates over the
    consortium's pool)."""
    assert 0 < limit <= PAGE_SIZE_MAX
    statement = sa.select(MandateRow).where(MandateRow.id > after_id)
    if party_id is not None:
        statement = statement.where(
            sa.or_(MandateRow.firm_id == party_id, MandateRow.integrator_id == party_id)
        )
    if programme_id is not None:
        statement = statement.where(MandateRow.programme_id == programme_id)
    if firm_id is not None:
        statement = statement.where(MandateRow.firm_id == firm_id)
    if integrator_id is not None:
        statement = statement.where(MandateRow.integrator_id == integrator_id)
    if consortium_id is not None:
        statement = statement.where(MandateRow.consortium_id == consortium_id)
    rows = session.scalars(statement.order_by(MandateRow.id).limit(limit)).all()
    return [mandate_from_row(session, row) for row in rows]


def spend_from_rows(
    session: Session, row: SpendRow, legs: Sequence[SpendLegRow], mandate: MandateRow
) -> Spend:
    price = session.scalar(
        sa.select(ProgrammeRow.price_krw_per_credit).where(ProgrammeRow.id == mandate.programme_id)
    )
    assert price is not None
    if not row.pending:
        status = SpendStatus.POSTED
    else:
        status = SpendStatus.HELD if row.settled_at_ns is None else SpendStatus.SETTLED
    return Spend(
        id=row.id,
        mandate_id=row.mandate_id,
        programme_id=mandate.programme_id,
        firm_id=mandate.firm_id,
        integrator_id=mandate.integrator_id,
        key=row.key,
        kind=SpendKind(row.kind),
        amount_micro=row.amount_micro,
        purpose=row.purpose,
        pending=row.pending,
        timeout_s=row.timeout_s,
        status=status,
        legs=tuple(
            SpendLeg(
                leg.transfer_id,
                _source_account(leg),
                leg.amount_micro,
                leg.posted_micro,
            )
            for leg in legs
        ),
        amount_krw=krw_for(row.amount_micro, price),
        created_at_ns=row.created_at_ns,
        consortium_id=mandate.consortium_id,
    )


def _source_account(leg: SpendLegRow) -> int:
    """The account a leg draws from: its lot, or the consortium's pool."""
    source = leg.lot_account_id if leg.lot_account_id is not None else leg.pool_account_id
    assert source is not None
    return source


def get_spend(session: Session, spend_id: int) -> Spend | None:
    row = session.get(SpendRow, spend_id)
    if row is None:
        return None
    mandate = session.get(MandateRow, row.mandate_id)
    assert mandate is not None
    return spend_from_rows(session, row, _legs_by_spend(session, [row.id])[row.id], mandate)


def list_spends(session: Session, *, mandate_id: int, limit: int, after_id: int = 0) -> list[Spend]:
    assert 0 < limit <= PAGE_SIZE_MAX
    mandate = session.get(MandateRow, mandate_id)
    if mandate is None:
        return []
    rows = session.scalars(
        sa.select(SpendRow)
        .where(SpendRow.mandate_id == mandate_id, SpendRow.id > after_id)
        .order_by(SpendRow.id)
        .limit(limit)
    ).all()
    legs = _legs_by_spend(session, (row.id for row in rows))
    return [spend_from_rows(session, row, legs[row.id], mandate) for row in rows]

"""Programme writes: programmes, applications, audits and lot expiry (mandates and spends are
in `ccx.programs.mandates`). Each takes a session inside an open transaction and never commits.

Each write locks at most one of: the programme row (applications to one programme are decided
one at a time), an application row (audits), a mandate row (spends), a spend row (settlement);
then the lot rows, sorted by id (or, for a consortium mandate or the audit of a consortium
grant, the consortium's pool row); then the ledger's accounts (the ledger sorts them). Always
in that order, so concurrent writers cannot deadlock. SQLite serialises every writer anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.clock import Clock
from ccx.consortia import queries as consortia_queries
from ccx.ids import derived_id
from ccx.ledger import queries as ledger_queries
from ccx.ledger import service as ledger_service
from ccx.ledger.errors import LedgerConflictError
from ccx.ledger.types import (
    AMOUNT_MAX,
    AccountFlags,
    CreateAccountResult,
    CreateTransferResult,
    NewAccount,
    NewTransfer,
    TransferFlags,
    TransferOutcome,
)
from ccx.programs import ledger_ids, rules, sampling
from ccx.programs.errors import ConflictError, InvalidRequestError, NotFoundError
from ccx.programs.models import (
    ApplicationRow,
    LotRow,
    ProgrammeRow,
)
from ccx.programs.queries import (
    application_from_row,
    grant_usage,
    lots_from_rows,
    programme_from_row,
    terms_from_row,
)
from ccx.programs.types import (
    NOTE_CHARS_MAX,
    AccountCode,
    Application,
    AuditResult,
    AuditStatus,
    Decision,
    LotClawback,
    LotSweep,
    NewApplication,
    NewConsortiumApplication,
    NewProgramme,
    Programme,
    Reason,
    ReasonCode,
    Track,
    TransferCode,
)
from ccx.registry import eligibility
from ccx.registry import queries as registry_queries
from ccx.registry.errors import RulesNotInForceError
from ccx.registry.service import utc_today
from ccx.registry.types import Organisation, OrgKind, SizeClass

ASSET_SCALE = 6
EXPIRE_BATCH_MAX = 1_000
_EPOCH = date(1970, 1, 1)
_DONE = frozenset({CreateTransferResult.OK, CreateTransferResult.EXISTS})


def require_done(outcomes: Sequence[TransferOutcome], what: str) -> None:
    """Every transfer took effect. The checks and locks before it make any failure a bug."""
    failed = [outcome for outcome in outcomes if outcome.result not in _DONE]
    assert not failed, f"{what}: {failed}"


def _reason_values(reasons: Sequence[Reason]) -> list[dict[str, Any]]:
    return [{"code": reason.code.value, "text": reason.text} for reason in reasons]


def check_problems(problems: Sequence[str]) -> None:
    if problems:
        raise InvalidRequestError(problems)


# --- programmes ----------------------------------------------------------------------------


def create_programme(session: Session, new: NewProgramme, clock: Clock) -> Programme:
    """Create a programme: its ledger, its accounts, and its budget appropriated into the pool.

    The same id and fields again answer the existing programme; other fields, ConflictError.
    """
    new = NewProgramme(new.id, new.name.strip(), new.terms)
    check_problems(rules.programme_problems(new))
    existing = session.get(ProgrammeRow, new.id)
    if existing is not None:
        if existing.name == new.name and terms_from_row(existing) == new.terms:
            return programme_from_row(existing)
        raise ConflictError(f"programme {new.id} exists with other fields")
    taken = session.scalar(sa.select(ProgrammeRow.id).where(ProgrammeRow.name == new.name))
    if taken is not None:
        raise ConflictError(f"a programme named {new.name!r} exists (id {taken})")
    try:
        ledger_service.create_ledger(
            session, ledger_id=new.id, name=new.name, asset_scale=ASSET_SCALE, clock=clock
        )
    except LedgerConflictError as error:
        raise ConflictError(str(error)) from error
    _open_accounts(session, new, clock)
    row = _programme_row(new, clock)
    session.add(row)
    session.flush()
    return programme_from_row(row)


def _open_accounts(session: Session, new: NewProgramme, clock: Clock) -> None:
    ids = ledger_ids.programme_accounts(new.id)
    accounts = [
        NewAccount(ids.appropriation, new.id, AccountCode.APPROPRIATION),
        NewAccount(ids.pool, new.id, AccountCode.POOL, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
        NewAccount(ids.centre_revenue, new.id, AccountCode.CENTRE_REVENUE),
        NewAccount(ids.expired, new.id, AccountCode.EXPIRED),
        NewAccount(ids.clawback, new.id, AccountCode.CLAWBACK),
    ]
    outcomes = ledger_service.create_accounts(session, accounts, clock)
    if any(outcome.result is not CreateAccountResult.OK for outcome in outcomes):
        raise ConflictError(f"ledger {new.id} already holds accounts of another programme")
    appropriation = NewTransfer(
        id=ledger_ids.appropriation_transfer_id(new.id),
        debit_account_id=ids.appropriation,
        credit_account_id=ids.pool,
        amount=new.terms.budget_micro,
        ledger=new.id,
        code=TransferCode.APPROPRIATION,
    )
    require_done(ledger_service.create_transfers(session, [appropriation], clock), "budget")


def _programme_row(new: NewProgramme, clock: Clock) -> ProgrammeRow:
    terms = new.terms
    by_size = terms.grant.by_size_micro
    return ProgrammeRow(
        id=new.id,
        name=new.name,
        budget_micro=terms.budget_micro,
        opens_on=terms.opens_on,
        closes_on=terms.closes_on,
        grant_fixed_micro=terms.grant.fixed_micro,
        grant_micro_firm_micro=by_size.get(SizeClass.MICRO),
        grant_small_firm_micro=by_size.get(SizeClass.SMALL),
        grant_medium_firm_micro=by_size.get(SizeClass.MEDIUM),
        lot_lifetime_days=terms.lot_lifetime_days,
        firm_cap_micro=terms.firm_cap_micro,
        group_cap_micro=terms.group_cap_micro,
        quota_non_capital_bp=terms.quota_non_capital_bp,
        quota_youth_bp=terms.quota_youth_bp,
        tracks=",".join(sorted(track.value for track in terms.tracks)),
        eligible_kinds=",".join(sorted(kind.value for kind in terms.eligible_kinds)),
        service_share_max_bp=terms.service_share_max_bp,
        price_krw_per_credit=terms.price_krw_per_credit,
        audit_sample_bp=terms.audit_sample_bp,
        risk_cluster_min=terms.risk_cluster_min,
        risk_founded_within_days=terms.risk_founded_within_days,
        created_at_ns=clock.now_ns(),
    )


def _locked_programme(session: Session, programme_id: int) -> Programme:
    row = session.get(ProgrammeRow, programme_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no programme {programme_id}")
    return programme_from_row(row)


def require_organisation(session: Session, org_id: int) -> Organisation:
    org = registry_queries.get_organisation(session, org_id)
    if org is None:
        raise NotFoundError(f"no organisation {org_id}")
    return org


# --- applications --------------------------------------------------------------------------


def apply_for_grant(session: Session, new: NewApplication, clock: Clock) -> Application:
    """Decide an application at once; an approval funds a new lot from the pool.

    A refusal is recorded with every reason and grants nothing. The same (programme, firm,
    key) again answers the recorded application.
    """
    application_id = ledger_ids.application_id(new.programme_id, new.firm_id, new.key.strip())
    return _decide_application(session, new, application_id, consortium_id=None, clock=clock)


def apply_for_consortium_grant(
    session: Session, new: NewConsortiumApplication, clock: Clock
) -> Application:
    """A consortium's anchor applies on the consortium track; an approval funds the
    consortium's pool account in the programme, which must be open already.

    The rules are a firm's, except that the anchor's kind and SME test are not asked (the
    consortium checked its anchor when it was formed), and the programme's firm cap applies to
    the consortium's pool (its grants together). The anchor's business group cap counts them.
    Consortium grants are sampled for post-audit as a firm's grants are, with the anchor's
    address, contact and founding day as the risk signals. The anchor's keys are one namespace
    over its own applications and its consortia's.
    """
    application = NewApplication(new.programme_id, new.anchor_id, new.key, Track.CONSORTIUM)
    application_id = ledger_ids.consortium_application_id(
        new.programme_id, new.consortium_id, new.key.strip()
    )
    return _decide_application(
        session, application, application_id, consortium_id=new.consortium_id, clock=clock
    )


def _decide_application(
    session: Session,
    new: NewApplication,
    application_id: int,
    *,
    consortium_id: int | None,
    clock: Clock,
) -> Application:
    key = new.key.strip()
    check_problems(rules.key_problems(key))
    programme = _locked_programme(session, new.programme_id)
    existing = _application_with_key(session, programme.id, new.firm_id, key)
    if existing is not None:
        if existing.id != application_id or existing.track != new.track.value:
            raise ConflictError(
                f"key {key!r} was used for application {existing.id} on the {existing.track} track"
            )
        return application_from_row(existing)
    firm = require_organisation(session, new.firm_id)
    today = utc_today(clock)
    applicant = _applicant(firm, today, consortium_id)
    pool = None
    if consortium_id is not None:
        pool = ledger_ids.consortium_pool_account_id(programme.id, consortium_id)
        if ledger_queries.get_account(session, pool) is None:
            raise NotFoundError(
                f"consortium {consortium_id} has no pool in programme {programme.id}"
            )
    usage = grant_usage(
        session, programme, firm_id=firm.id, group_key=applicant.group_key, pool_account_id=pool
    )
    decision = rules.decide(programme.terms, applicant, usage, track=new.track, today=today)
    row = _application_row(
        new,
        application_id=application_id,
        key=key,
        firm=firm,
        applicant=applicant,
        decision=decision,
        clock=clock,
    )
    if decision.approved:
        row.lot_account_id = (
            _open_lot(session, programme, row, today, clock)
            if pool is None
            else _fund(session, programme, row, pool, clock)
        )
    session.add(row)
    session.flush()
    if decision.approved:
        if pool is None:
            _record_lot(session, programme, row, today)
        _select_for_audit(session, programme, row, firm, today)
    return application_from_row(row)


def _application_with_key(
    session: Session, programme_id: int, firm_id: int, key: str
) -> ApplicationRow | None:
    return session.scalar(
        sa.select(ApplicationRow).where(
            ApplicationRow.programme_id == programme_id,
            ApplicationRow.firm_id == firm_id,
            ApplicationRow.key == key,
        )
    )


def _applicant(firm: Organisation, today: date, consortium_id: int | None) -> rules.Applicant:
    try:
        sme_reasons = (
            eligibility.check_sme(firm, on=today).reasons if firm.kind is OrgKind.SME else ()
        )
        size_class = eligibility.size_class(firm, on=today)
    except RulesNotInForceError as error:
        raise InvalidRequestError([f"cannot decide: {error}"]) from error
    return rules.Applicant(
        kind=firm.kind,
        sme_reasons=sme_reasons,
        size_class=size_class,
        group_key=rules.group_key(firm),
        in_capital_region=firm.in_capital_region,
        youth_led=firm.youth_led,
        consortium_id=consortium_id,
    )


def _application_row(
    new: NewApplication,
    *,
    application_id: int,
    key: str,
    firm: Organisation,
    applicant: rules.Applicant,
    decision: rules.GrantDecision,
    clock: Clock,
) -> ApplicationRow:
    return ApplicationRow(
        id=application_id,
        programme_id=new.programme_id,
        firm_id=firm.id,
        key=key,
        track=new.track.value,
        decision=(Decision.APPROVED if decision.approved else Decision.REFUSED).value,
        reasons=_reason_values(decision.reasons),
        amount_micro=decision.amount_micro,
        lot_account_id=None,
        decided_at_ns=clock.now_ns(),
        in_capital_region=applicant.in_capital_region,
        youth_led=applicant.youth_led,
        group_key=applicant.group_key,
        address_key=firm.address_key,
        contact_key=sampling.contact_key(firm.contact_email),
        audit_status=AuditStatus.NOT_SELECTED.value,
        audit_reasons=[],
        audit_note="",
        audited_at_ns=None,
    )


def _expires_on(programme: Programme, today: date) -> date:
    return today + timedelta(days=programme.terms.lot_lifetime_days)


def _open_lot(
    session: Session, programme: Programme, row: ApplicationRow, today: date, clock: Clock
) -> int:
    """A new wallet account for the grant (its expiry day, as days since 1970-01-01, in
    user_data_64), funded from the pool. Returns its id."""
    lot_id = ledger_ids.lot_account_id(row.id)
    expires_on = _expires_on(programme, today)
    lot = NewAccount(
        id=lot_id,
        ledger=programme.id,
        code=AccountCode.FIRM_LOT,
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        owner_org_id=row.firm_id,
        user_data_64=(expires_on - _EPOCH).days,
    )
    [opened] = ledger_service.create_accounts(session, [lot], clock)
    assert opened.result is CreateAccountResult.OK, opened
    return _fund(session, programme, row, lot_id, clock)


def _fund(
    session: Session, programme: Programme, row: ApplicationRow, account_id: int, clock: Clock
) -> int:
    """Move an approved grant from the programme pool to `account_id`; returns the account."""
    grant = NewTransfer(
        id=ledger_ids.grant_transfer_id(row.id),
        debit_account_id=programme.accounts.pool,
        credit_account_id=account_id,
        amount=row.amount_micro,
        ledger=programme.id,
        code=TransferCode.GRANT,
        user_data_64=row.id,
    )
    require_done(ledger_service.create_transfers(session, [grant], clock), "grant")
    return account_id


def _record_lot(session: Session, programme: Programme, row: ApplicationRow, today: date) -> None:
    assert row.lot_account_id is not None
    session.add(
        LotRow(
            account_id=row.lot_account_id,
            programme_id=programme.id,
            firm_id=row.firm_id,
            application_id=row.id,
            granted_micro=row.amount_micro,
            granted_on=today,
            expires_on=_expires_on(programme, today),
            clawed_back_at_ns=None,
            clawed_back_micro=0,
            expired_at_ns=None,
            expired_micro=0,
        )
    )
    session.flush()


def _firms_sharing(session: Session, programme_id: int, column: Any, value: str) -> int:
    if not value:
        return 0
    count = session.scalar(
        sa.select(sa.func.count(sa.distinct(ApplicationRow.firm_id))).where(
            ApplicationRow.programme_id == programme_id, column == value
        )
    )
    return int(count or 0)


def _select_for_audit(
    session: Session, programme: Programme, row: ApplicationRow, firm: Organisation, today: date
) -> None:
    """Flag an approval for post-audit when sampled; a cluster that reaches the risk size
    flags its earlier approvals too."""
    signals = sampling.RiskSignals(
        firms_at_address=_firms_sharing(
            session, programme.id, ApplicationRow.address_key, row.address_key
        ),
        firms_with_contact=_firms_sharing(
            session, programme.id, ApplicationRow.contact_key, row.contact_key
        ),
        founded_on=firm.founded_on,
    )
    reasons = sampling.audit_reasons(
        programme.terms, application_id=row.id, signals=signals, today=today
    )
    if reasons:
        _flag(row, reasons)
    for reason in sampling.cluster_reasons(programme.terms, signals):
        column = (
            ApplicationRow.address_key
            if reason.code is ReasonCode.SHARED_ADDRESS
            else ApplicationRow.contact_key
        )
        _flag_cluster(session, row, column, reason)
    session.flush()


def _flag(row: ApplicationRow, reasons: Sequence[Reason]) -> None:
    row.audit_status = AuditStatus.SELECTED.value
    row.audit_reasons = [*row.audit_reasons, *_reason_values(reasons)]


def _flag_cluster(session: Session, row: ApplicationRow, column: Any, reason: Reason) -> None:
    earlier = session.scalars(
        sa.select(ApplicationRow)
        .where(
            ApplicationRow.programme_id == row.programme_id,
            column == getattr(row, column.key),
            ApplicationRow.id != row.id,
            ApplicationRow.decision == Decision.APPROVED.value,
            ApplicationRow.audit_status.in_(
                [AuditStatus.NOT_SELECTED.value, AuditStatus.SELECTED.value]
            ),
        )
        .order_by(ApplicationRow.id)
    )
    for other in earlier:
        if all(item["code"] != reason.code.value for item in other.audit_reasons):
            _flag(other, [reason])


# --- audits --------------------------------------------------------------------------------


def _audited_row(session: Session, application_id: int, note: str) -> ApplicationRow:
    check_problems(rules.text_problems("note", note, chars_max=NOTE_CHARS_MAX, required=False))
    row = session.get(ApplicationRow, application_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no application {application_id}")
    if row.decision != Decision.APPROVED.value:
        raise ConflictError(f"application {application_id} was refused: there is nothing to audit")
    return row


def _decide_audit(row: ApplicationRow, status: AuditStatus, note: str, clock: Clock) -> bool:
    """Record the audit outcome; False when it was recorded before (a retry)."""
    if row.audit_status == status.value:
        return False
    if row.audit_status in (AuditStatus.PASSED.value, AuditStatus.FAILED.value):
        raise ConflictError(f"application {row.id} has {row.audit_status} its audit already")
    row.audit_status = status.value
    row.audit_note = note
    row.audited_at_ns = clock.now_ns()
    return True


def pass_audit(session: Session, *, application_id: int, note: str, clock: Clock) -> AuditResult:
    """Close an audit with no finding (any approved application may be audited)."""
    note = note.strip()
    row = _audited_row(session, application_id, note)
    _decide_audit(row, AuditStatus.PASSED, note, clock)
    session.flush()
    return AuditResult(application_from_row(row), ())


def fail_audit(session: Session, *, application_id: int, note: str, clock: Clock) -> AuditResult:
    """Record a failed audit and claw back the unspent credits of every lot the firm holds in
    the programme (balancing debits to the clawback account); for a consortium grant, of the
    consortium's pool. Spent and held credits are not taken: the result reports them. A retry
    answers the same report."""
    note = note.strip()
    row = _audited_row(session, application_id, note)
    first_time = _decide_audit(row, AuditStatus.FAILED, note, clock)
    session.flush()
    if row.track == Track.CONSORTIUM.value:
        return AuditResult(
            application_from_row(row), (_claw_back_pool(session, row, first_time, clock),)
        )
    lots = locked_lots(session, programme_id=row.programme_id, firm_id=row.firm_id)
    if first_time:
        _claw_back(session, row, lots, clock)
    return AuditResult(
        application_from_row(row),
        tuple(
            LotClawback(
                lot_account_id=lot.account_id,
                granted_micro=lot.granted_micro,
                spent_micro=lot.spent_micro,
                held_micro=lot.held_micro,
                clawed_back_micro=lot.clawed_back_micro,
            )
            for lot in lots_from_rows(session, lots)
        ),
    )


def locked_lots(
    session: Session, *, programme_id: int, firm_id: int, spendable_on: date | None = None
) -> list[LotRow]:
    """The firm's lots in the programme, locked in id order; only the ones that may be spent
    on `spendable_on` when it is given."""
    statement = sa.select(LotRow).where(
        LotRow.programme_id == programme_id, LotRow.firm_id == firm_id
    )
    if spendable_on is not None:
        statement = statement.where(
            LotRow.expires_on > spendable_on,
            LotRow.expired_at_ns.is_(None),
            LotRow.clawed_back_at_ns.is_(None),
        )
    return list(session.scalars(statement.order_by(LotRow.account_id).with_for_update()))


def _claw_back(
    session: Session, application: ApplicationRow, lots: Sequence[LotRow], clock: Clock
) -> None:
    clawback = ledger_ids.programme_accounts(application.programme_id).clawback
    open_lots = [lot for lot in lots if lot.expired_at_ns is None and lot.clawed_back_at_ns is None]
    transfers = [
        NewTransfer(
            id=ledger_ids.clawback_transfer_id(lot.account_id),
            debit_account_id=lot.account_id,
            credit_account_id=clawback,
            amount=AMOUNT_MAX,
            ledger=application.programme_id,
            code=TransferCode.CLAWBACK,
            flags=TransferFlags.BALANCING_DEBIT,
            user_data_64=application.id,
        )
        for lot in open_lots
    ]
    require_done(ledger_service.create_transfers(session, transfers, clock), "clawback")
    for lot, transfer in zip(open_lots, transfers, strict=True):
        taken = ledger_queries.get_transfer(session, transfer.id)
        assert taken is not None
        lot.clawed_back_at_ns = clock.now_ns()
        lot.clawed_back_micro = taken.amount
    session.flush()


def _claw_back_pool(
    session: Session, application: ApplicationRow, first_time: bool, clock: Clock
) -> LotClawback:
    """Claw back what the consortium's pool holds less its open holds (a balancing debit to
    the clawback account, its id derived from the audited application), the pool row locked
    first; report the pool's grants, spends and holds."""
    assert application.lot_account_id is not None
    pool_account = ledger_queries.get_account(session, application.lot_account_id)
    assert pool_account is not None
    consortium_id = pool_account.user_data_64
    consortia_queries.locked_pool_account(
        session, consortium_id=consortium_id, programme_id=application.programme_id
    )
    transfer_id = ledger_ids.pool_clawback_transfer_id(application.id)
    if first_time:
        clawback = NewTransfer(
            id=transfer_id,
            debit_account_id=pool_account.id,
            credit_account_id=ledger_ids.programme_accounts(application.programme_id).clawback,
            amount=AMOUNT_MAX,
            ledger=application.programme_id,
            code=TransferCode.CLAWBACK,
            flags=TransferFlags.BALANCING_DEBIT,
            user_data_64=application.id,
        )
        require_done(ledger_service.create_transfers(session, [clawback], clock), "clawback")
    taken = ledger_queries.get_transfer(session, transfer_id)
    assert taken is not None
    [pool] = (
        pool
        for pool in consortia_queries.list_pools(session, consortium_id)
        if pool.programme_id == application.programme_id
    )
    return LotClawback(
        lot_account_id=pool.account_id,
        granted_micro=pool.granted_micro,
        spent_micro=pool.spent_micro,
        held_micro=pool.held_micro,
        clawed_back_micro=taken.amount,
    )


# --- lot expiry ----------------------------------------------------------------------------


def expire_lots(
    session: Session, *, clock: Clock, after_lot_id: int = 0, limit: int = EXPIRE_BATCH_MAX
) -> LotSweep:
    """Sweep up to `limit` lots past their expiry (lot id > after_lot_id, in id order) to the
    programme's expired account and close them. A lot that still carries holds is deferred:
    the sweep takes it once its holds are posted, voided or expired. Idempotent."""
    assert 0 < limit <= EXPIRE_BATCH_MAX
    rows = list(
        session.scalars(
            sa.select(LotRow)
            .where(
                LotRow.account_id > after_lot_id,
                LotRow.expires_on <= utc_today(clock),
                LotRow.expired_at_ns.is_(None),
            )
            .order_by(LotRow.account_id)
            .limit(limit)
            .with_for_update()
        )
    )
    accounts = ledger_queries.get_accounts(session, [row.account_id for row in rows])
    expired: list[LotRow] = []
    deferred: list[int] = []
    for row in rows:
        if accounts[row.account_id].debits_pending:
            deferred.append(row.account_id)
            continue
        _close_lot(session, row, clock)
        expired.append(row)
    session.flush()
    return LotSweep(
        expired=tuple(lots_from_rows(session, expired)),
        deferred=tuple(deferred),
        next_after_lot_id=rows[-1].account_id if len(rows) == limit else None,
    )


def _close_lot(session: Session, row: LotRow, clock: Clock) -> None:
    outcomes = ledger_service.close_account(
        session,
        account_id=row.account_id,
        sweep_to_account_id=ledger_ids.programme_accounts(row.programme_id).expired,
        clock=clock,
    )
    require_done(outcomes, f"closing lot {row.account_id}")
    sweep = ledger_queries.get_transfer(
        session, derived_id(ledger_service.CLOSE_SWEEP, row.account_id, 1)
    )
    assert sweep is not None
    row.expired_at_ns = clock.now_ns()
    row.expired_micro = sweep.amount

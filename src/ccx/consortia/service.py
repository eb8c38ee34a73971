"""Consortium writes. Each takes a session inside an open transaction and never commits.

Errors are the programmes feature's (`ccx.programs.errors`): bad input raises
InvalidRequestError, an unknown id NotFoundError, a repeated member, name or key with other
fields ConflictError, and a refusal by the rules RefusedError with every reason. Locks follow
the order of `ccx.programs.service`: the consortium row, then lots, then the pool row, then
the programme row and ledger accounts. An audit of a consortium grant
(`programs.service.fail_audit`) takes the application row, then the pool row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.clock import NS_PER_S, Clock
from ccx.consortia import rules
from ccx.consortia.models import ConsortiumRow, ContributionRow, MemberRow, PoolRow, SharedModelRow
from ccx.consortia.queries import contribution_from_row, get_consortium, model_from_row
from ccx.consortia.types import (
    FIRM_ROLES,
    MEMBERS_MAX,
    Consortium,
    Contribution,
    MemberRole,
    Metric,
    NewConsortium,
    NewContribution,
    NewSharedModel,
    PoolSweep,
    SharedModel,
)
from ccx.ledger import queries as ledger_queries
from ccx.ledger import service as ledger_service
from ccx.ledger.types import (
    AMOUNT_MAX,
    USER_DATA_32_MAX,
    AccountFlags,
    CreateAccountResult,
    NewAccount,
    NewTransfer,
    TransferFlags,
)
from ccx.programs import drawing, ledger_ids
from ccx.programs import rules as programme_rules
from ccx.programs import service as programme_service
from ccx.programs.errors import ConflictError, NotFoundError, RefusedError
from ccx.programs.mandates import spendable_lots
from ccx.programs.queries import get_programme
from ccx.programs.types import (
    AccountCode,
    Application,
    NewConsortiumApplication,
    Reason,
    ReasonCode,
    TransferCode,
    credits_text,
)
from ccx.registry import eligibility
from ccx.registry import queries as registry_queries
from ccx.registry.service import utc_today
from ccx.registry.types import Organisation, Person

check_problems = programme_service.check_problems


def create_consortium(session: Session, new: NewConsortium, clock: Clock) -> Consortium:
    """Form a consortium around its anchor, a mid-sized firm in the consortium's industry."""
    new = NewConsortium(
        new.name.strip(), new.industry.strip().upper(), tuple(new.regions), new.anchor_id
    )
    check_problems(rules.consortium_problems(new))
    taken = session.scalar(sa.select(ConsortiumRow.id).where(ConsortiumRow.name == new.name))
    if taken is not None:
        raise ConflictError(f"a consortium named {new.name!r} exists (id {taken})")
    anchor = programme_service.require_organisation(session, new.anchor_id)
    _check_member(session, MemberRole.ANCHOR, anchor, None, industry=new.industry, clock=clock)
    row = ConsortiumRow(
        name=new.name,
        industry=new.industry,
        regions=",".join(sorted(region.value for region in new.regions)),
        anchor_id=anchor.id,
        created_at_ns=clock.now_ns(),
    )
    session.add(row)
    session.flush()
    _add_member_row(
        session, row.id, role=MemberRole.ANCHOR, org_id=anchor.id, person_id=None, clock=clock
    )
    return _consortium(session, row.id)


def _consortium(session: Session, consortium_id: int) -> Consortium:
    consortium = get_consortium(session, consortium_id)
    if consortium is None:
        raise NotFoundError(f"no consortium {consortium_id}")
    return consortium


def _locked_consortium(session: Session, consortium_id: int) -> Consortium:
    if session.get(ConsortiumRow, consortium_id, with_for_update=True) is None:
        raise NotFoundError(f"no consortium {consortium_id}")
    return _consortium(session, consortium_id)


def _check_member(
    session: Session,
    role: MemberRole,
    org: Organisation,
    person: Person | None,
    *,
    industry: str,
    clock: Clock,
) -> None:
    today = utc_today(clock)
    reasons = rules.member_reasons(
        role,
        org,
        industry=industry,
        person=person,
        sme=eligibility.check_sme(org, on=today) if role is MemberRole.SME else None,
        certification=registry_queries.get_certification(session, org.id),
        today=today,
    )
    if reasons:
        raise RefusedError(f"{role.value} member", reasons)


def _add_member_row(
    session: Session,
    consortium_id: int,
    *,
    role: MemberRole,
    org_id: int,
    person_id: int | None,
    clock: Clock,
) -> None:
    session.add(
        MemberRow(
            consortium_id=consortium_id,
            role=role.value,
            org_id=org_id,
            person_id=person_id,
            joined_at_ns=clock.now_ns(),
        )
    )
    session.flush()


def add_member(
    session: Session,
    *,
    consortium_id: int,
    role: MemberRole,
    member_id: int,
    clock: Clock,
) -> Consortium:
    """Add a member: `member_id` is an organisation (sme, integrator) or, for the university
    role, a researcher (a person of a university). SMEs must pass the SME test today and be in
    the consortium's industry; integrators must be certified today. The anchor is set when the
    consortium is formed."""
    consortium = _locked_consortium(session, consortium_id)
    if role is MemberRole.ANCHOR:
        raise ConflictError(f"consortium {consortium_id} has its anchor already")
    person = None
    if role is MemberRole.UNIVERSITY:
        person = registry_queries.get_person(session, member_id)
        if person is None:
            raise NotFoundError(f"no person {member_id}")
    org = programme_service.require_organisation(
        session, member_id if person is None else person.org_id
    )
    if any(
        (member.person_id, member.org_id) == (member_id if person else None, org.id)
        for member in consortium.members
    ):
        raise ConflictError(f"{'person' if person else 'organisation'} {member_id} is a member")
    if len(consortium.members) >= MEMBERS_MAX:
        raise ConflictError(f"a consortium has at most {MEMBERS_MAX} members")
    _check_member(session, role, org, person, industry=consortium.industry, clock=clock)
    person_id = None if person is None else person.id
    _add_member_row(
        session, consortium_id, role=role, org_id=org.id, person_id=person_id, clock=clock
    )
    return _consortium(session, consortium_id)


def open_pool(session: Session, consortium: Consortium, programme_id: int, clock: Clock) -> int:
    """The consortium's pool account in the programme's ledger, opened if new: it cannot
    overdraw and belongs to the anchor (who, with read-all roles, sees it in the ledger)."""
    if get_programme(session, programme_id) is None:
        raise NotFoundError(f"no programme {programme_id}")
    account_id = ledger_ids.consortium_pool_account_id(programme_id, consortium.id)
    if session.get(PoolRow, (consortium.id, programme_id)) is not None:
        return account_id
    account = NewAccount(
        id=account_id,
        ledger=programme_id,
        code=AccountCode.CONSORTIUM_POOL,
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        owner_org_id=consortium.anchor_id,
        user_data_64=consortium.id,
    )
    [opened] = ledger_service.create_accounts(session, [account], clock)
    assert opened.result is CreateAccountResult.OK, opened
    session.add(
        PoolRow(
            consortium_id=consortium.id,
            programme_id=programme_id,
            account_id=account_id,
            opened_at_ns=clock.now_ns(),
        )
    )
    session.flush()
    return account_id


def apply_for_grant(
    session: Session, *, consortium_id: int, programme_id: int, key: str, clock: Clock
) -> Application:
    """The consortium, through its anchor, applies on the programme's consortium track; an
    approval funds its pool (see `programs.service.apply_for_consortium_grant`)."""
    consortium = _locked_consortium(session, consortium_id)
    check_problems(programme_rules.key_problems(key.strip()))
    open_pool(session, consortium, programme_id, clock)
    pool = _locked_pool(session, consortium.id, programme_id)
    new = NewConsortiumApplication(programme_id, consortium.id, consortium.anchor_id, key)
    application = programme_service.apply_for_consortium_grant(session, new, clock)
    if application.lot_account_id is not None:
        programme = get_programme(session, programme_id)
        assert programme is not None
        decided_on = datetime.fromtimestamp(application.decided_at_ns // NS_PER_S, UTC).date()
        lifetime = timedelta(days=programme.terms.lot_lifetime_days)
        _extend_expiry(session, pool, decided_on + lifetime, clock)
    return application


def _locked_pool(session: Session, consortium_id: int, programme_id: int) -> PoolRow:
    row = session.get(PoolRow, (consortium_id, programme_id), with_for_update=True)
    assert row is not None, (consortium_id, programme_id)
    return row


def _extend_expiry(session: Session, pool: PoolRow, expires_on: date, clock: Clock) -> None:
    """Credits put into the pool keep it until `expires_on`: the pool expires with the latest
    of its credits. A pool past its expiry is swept first (unless holds are outstanding), so new
    credits do not revive expired ones."""
    if pool.expires_on is not None and pool.expires_on <= utc_today(clock):
        _sweep_pool(session, pool, clock)
    if pool.expires_on is None or pool.expires_on < expires_on:
        pool.expires_on = expires_on
    session.flush()


def _sweep_pool(session: Session, pool: PoolRow, clock: Clock) -> bool:
    """Move what a pool past its expiry holds to the programme's expired account and clear its
    expiry; False (nothing moved) while holds on it are outstanding."""
    assert pool.expires_on is not None
    account = ledger_queries.get_accounts(session, [pool.account_id])[pool.account_id]
    if account.debits_pending:
        return False
    amount = account.balance_available
    if amount:
        sweep = NewTransfer(
            id=ledger_ids.pool_expiry_transfer_id(pool.account_id, pool.expires_on.toordinal()),
            debit_account_id=pool.account_id,
            credit_account_id=ledger_ids.programme_accounts(pool.programme_id).expired,
            amount=amount,
            ledger=pool.programme_id,
            code=TransferCode.POOL_EXPIRY,
            user_data_64=pool.consortium_id,
        )
        programme_service.require_done(
            ledger_service.create_transfers(session, [sweep], clock), "pool expiry"
        )
    pool.expired_micro += amount
    pool.expires_on = None
    return True


def expire_pools(
    session: Session,
    *,
    clock: Clock,
    after_account_id: int = 0,
    limit: int = programme_service.EXPIRE_BATCH_MAX,
) -> PoolSweep:
    """Sweep up to `limit` pools past their expiry (pool account id > after_account_id, in id
    order) to their programme's expired account, as `programs.service.expire_lots` sweeps lots;
    the pools stay open for new credits. A pool that still carries holds is deferred until they
    resolve. Idempotent."""
    assert 0 < limit <= programme_service.EXPIRE_BATCH_MAX
    rows = list(
        session.scalars(
            sa.select(PoolRow)
            .where(
                PoolRow.account_id > after_account_id,
                PoolRow.expires_on <= utc_today(clock),
            )
            .order_by(PoolRow.account_id)
            .limit(limit)
            .with_for_update()
        )
    )
    before = {row.account_id: row.expired_micro for row in rows}
    swept = [row for row in rows if _sweep_pool(session, row, clock)]
    session.flush()
    return PoolSweep(
        expired=tuple(row.account_id for row in swept),
        expired_micro=sum(row.expired_micro - before[row.account_id] for row in swept),
        deferred=tuple(row.account_id for row in rows if row not in swept),
        next_after_account_id=rows[-1].account_id if len(rows) == limit else None,
    )


def _contribution_problems(new: NewContribution) -> list[str]:
    problems = programme_rules.key_problems(new.key)
    if not 0 < new.amount_micro <= AMOUNT_MAX:
        problems.append(f"the amount must be 1 to {AMOUNT_MAX:,} micro-credits")
    return problems


def contribute(session: Session, new: NewContribution, clock: Clock) -> Contribution:
    """A member firm (the anchor or an SME) moves credits from its lots in the programme,
    earliest expiry first, into the consortium's pool, as one linked chain. The only transfer
    of credits away from a firm that is not spending. The same key again answers the recorded
    contribution; another amount under it is a ConflictError."""
    new = NewContribution(
        new.consortium_id, new.programme_id, new.firm_id, new.amount_micro, new.key.strip()
    )
    check_problems(_contribution_problems(new))
    consortium = _locked_consortium(session, new.consortium_id)
    pool = open_pool(session, consortium, new.programme_id, clock)
    if not any(
        member.org_id == new.firm_id and member.role in FIRM_ROLES for member in consortium.members
    ):
        raise RefusedError(
            "contribution",
            [Reason(ReasonCode.NOT_A_MEMBER, f"firm {new.firm_id} is not a member firm")],
        )
    today = utc_today(clock)
    lots = spendable_lots(session, programme_id=new.programme_id, firm_id=new.firm_id, today=today)
    contribution_id = ledger_ids.contribution_id(
        new.programme_id, new.consortium_id, new.firm_id, new.key
    )
    existing = session.get(ContributionRow, contribution_id)
    if existing is not None:
        if existing.amount_micro != new.amount_micro:
            raise ConflictError(f"contribution {new.key!r} was made with another amount")
        return contribution_from_row(existing)
    available = sum(lot.available_micro for lot in lots)
    if new.amount_micro > available:
        raise RefusedError(
            "contribution",
            [
                Reason(
                    ReasonCode.INSUFFICIENT_CREDITS,
                    f"the firm's spendable lots hold {credits_text(available)} credits,"
                    f" not {credits_text(new.amount_micro)}",
                )
            ],
        )
    plan = drawing.plan_draw(lots, new.amount_micro)
    expiries = {lot.account_id: lot.expires_on for lot in lots}
    _extend_expiry(
        session,
        _locked_pool(session, new.consortium_id, new.programme_id),
        max(expiries[lot_id] for lot_id, _ in plan),
        clock,
    )
    row = ContributionRow(
        id=contribution_id,
        consortium_id=new.consortium_id,
        programme_id=new.programme_id,
        firm_id=new.firm_id,
        key=new.key,
        amount_micro=new.amount_micro,
        legs=_move_to_pool(
            session, new, contribution_id=contribution_id, plan=plan, pool=pool, clock=clock
        ),
        created_at_ns=clock.now_ns(),
    )
    session.add(row)
    session.flush()
    return contribution_from_row(row)


def _move_to_pool(
    session: Session,
    new: NewContribution,
    *,
    contribution_id: int,
    plan: list[tuple[int, int]],
    pool: int,
    clock: Clock,
) -> list[dict[str, int]]:
    """The contribution's linked chain, one transfer per lot; returns its legs."""
    assert new.firm_id <= USER_DATA_32_MAX
    transfers = [
        NewTransfer(
            id=ledger_ids.contribution_transfer_id(contribution_id, lot_id),
            debit_account_id=lot_id,
            credit_account_id=pool,
            amount=amount,
            ledger=new.programme_id,
            code=TransferCode.CONTRIBUTION,
            flags=TransferFlags.LINKED if position < len(plan) - 1 else TransferFlags.NONE,
            user_data_64=new.consortium_id,
            user_data_32=new.firm_id,
        )
        for position, (lot_id, amount) in enumerate(plan)
    ]
    programme_service.require_done(
        ledger_service.create_transfers(session, transfers, clock), "contribution"
    )
    return [
        {"transfer_id": t.id, "lot_account_id": t.debit_account_id, "amount_micro": t.amount}
        for t in transfers
    ]


def register_model(session: Session, new: NewSharedModel, clock: Clock) -> SharedModel:
    """Enter a model the consortium shares in its register; names are unique per consortium."""
    new = NewSharedModel(
        consortium_id=new.consortium_id,
        name=new.name.strip(),
        base_model=new.base_model.strip(),
        task=new.task.strip(),
        hardware_profile=new.hardware_profile.strip(),
        licence=new.licence.strip(),
        metrics=tuple(Metric(m.name.strip(), m.value.strip()) for m in new.metrics),
    )
    check_problems(rules.model_problems(new))
    _locked_consortium(session, new.consortium_id)
    taken = session.scalar(
        sa.select(SharedModelRow.id).where(
            SharedModelRow.consortium_id == new.consortium_id, SharedModelRow.name == new.name
        )
    )
    if taken is not None:
        raise ConflictError(f"consortium {new.consortium_id} has a model named {new.name!r}")
    row = SharedModelRow(
        consortium_id=new.consortium_id,
        name=new.name,
        base_model=new.base_model,
        task=new.task,
        hardware_profile=new.hardware_profile,
        licence=new.licence,
        metrics=[{"name": m.name, "value": m.value} for m in new.metrics],
        registered_at_ns=clock.now_ns(),
    )
    session.add(row)
    session.flush()
    return model_from_row(row)

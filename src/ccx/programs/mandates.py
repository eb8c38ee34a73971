"""Mandate writes: grant and revoke mandates, spend and redeem fees under them, settle holds.

Each takes a session inside an open transaction and never commits; locks follow the order
given in `ccx.programs.service`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.clock import Clock
from ccx.consortia import queries as consortia_queries
from ccx.ledger import queries as ledger_queries
from ccx.ledger import service as ledger_service
from ccx.ledger.types import (
    AMOUNT_MAX,
    TIMEOUT_S_MAX,
    USER_DATA_32_MAX,
    CreateAccountResult,
    NewAccount,
    NewTransfer,
    PendingStatus,
    TransferFlags,
)
from ccx.programs import drawing, ledger_ids, rules
from ccx.programs.errors import ConflictError, NotFoundError, RefusedError
from ccx.programs.models import LotRow, MandateRow, SpendLegRow, SpendRow
from ccx.programs.queries import get_programme, get_spend, mandate_from_row
from ccx.programs.service import (
    check_problems,
    locked_lots,
    require_done,
    require_organisation,
)
from ccx.programs.types import (
    PROJECT_CHARS_MAX,
    AccountCode,
    Mandate,
    NewMandate,
    Reason,
    ReasonCode,
    Spend,
    SpendKind,
    TransferCode,
)
from ccx.registry import queries as registry_queries
from ccx.registry.service import utc_today


def _mandate_problems(new: NewMandate, today: date) -> list[str]:
    problems = [
        *rules.key_problems(new.key),
        *rules.text_problems("project", new.project, chars_max=PROJECT_CHARS_MAX),
    ]
    if not 0 < new.cap_micro <= AMOUNT_MAX:
        problems.append(f"the cap must be 1 to {AMOUNT_MAX:,} micro-credits")
    if new.valid_until < today:
        problems.append(f"the mandate would end on {new.valid_until}, before today ({today})")
    if new.firm_id == new.integrator_id:
        problems.append("a firm cannot give itself a mandate")
    return problems


def grant_mandate(session: Session, new: NewMandate, clock: Clock) -> Mandate:
    """A firm lets a certified, unrelated integrator spend up to `cap_micro` of its lots in
    the programme for a project until `valid_until`; with `consortium_id`, the consortium's
    anchor lets it spend from the consortium's pool. Refusals list every reason; the same
    (programme, firm, key) again answers the existing mandate (an anchor's keys are shared by
    its own and its consortia's mandates)."""
    new = NewMandate(
        programme_id=new.programme_id,
        firm_id=new.firm_id,
        integrator_id=new.integrator_id,
        project=new.project.strip(),
        cap_micro=new.cap_micro,
        valid_until=new.valid_until,
        key=new.key.strip(),
        consortium_id=new.consortium_id,
    )
    today = utc_today(clock)
    check_problems(_mandate_problems(new, today))
    if get_programme(session, new.programme_id) is None:
        raise NotFoundError(f"no programme {new.programme_id}")
    require_organisation(session, new.firm_id)
    anchor_reasons = _anchor_reasons(session, new)
    integrator = require_organisation(session, new.integrator_id)
    mandate_id = ledger_ids.mandate_id(new.programme_id, new.firm_id, new.key)
    existing = session.get(MandateRow, mandate_id)
    if existing is not None:
        return _same_mandate(session, existing, new)
    reasons = anchor_reasons + drawing.grant_reasons(
        integrator,
        registry_queries.get_certification(session, integrator.id),
        conflicts=registry_queries.conflict_of_interest_reasons(
            session, firm_id=new.firm_id, integrator_id=integrator.id
        ),
        firm_has_lots=_has_source(session, new),
        today=today,
        no_source=(
            "the firm holds no lot in this programme"
            if new.consortium_id is None
            else f"consortium {new.consortium_id} has no pool in this programme"
        ),
    )
    if reasons:
        raise RefusedError("mandate", reasons)
    row = MandateRow(
        id=mandate_id,
        programme_id=new.programme_id,
        firm_id=new.firm_id,
        integrator_id=new.integrator_id,
        consortium_id=new.consortium_id,
        key=new.key,
        project=new.project,
        cap_micro=new.cap_micro,
        valid_until=new.valid_until,
        granted_at_ns=clock.now_ns(),
        revoked_at_ns=None,
    )
    session.add(row)
    session.flush()
    return mandate_from_row(session, row)


def _same_mandate(session: Session, row: MandateRow, new: NewMandate) -> Mandate:
    stored = (row.integrator_id, row.project, row.cap_micro, row.valid_until, row.consortium_id)
    if stored != (
        new.integrator_id,
        new.project,
        new.cap_micro,
        new.valid_until,
        new.consortium_id,
    ):
        raise ConflictError(f"mandate {new.key!r} of firm {new.firm_id} exists with other fields")
    return mandate_from_row(session, row)


def _anchor_reasons(session: Session, new: NewMandate) -> list[Reason]:
    """For a consortium mandate: the consortium exists and the firm giving it is its anchor."""
    if new.consortium_id is None:
        return []
    consortium = consortia_queries.get_consortium(session, new.consortium_id)
    if consortium is None:
        raise NotFoundError(f"no consortium {new.consortium_id}")
    if consortium.anchor_id == new.firm_id:
        return []
    return [
        Reason(
            ReasonCode.NOT_THE_ANCHOR,
            f"firm {new.firm_id} is not the anchor of consortium {consortium.id}"
            f" (organisation {consortium.anchor_id} is)",
        )
    ]


def _has_source(session: Session, new: NewMandate) -> bool:
    """The firm holds a lot in the programme, or the consortium has a pool there."""
    if new.consortium_id is not None:
        pool = ledger_ids.consortium_pool_account_id(new.programme_id, new.consortium_id)
        return ledger_queries.get_account(session, pool) is not None
    found = session.scalar(
        sa.select(LotRow.account_id)
        .where(LotRow.programme_id == new.programme_id, LotRow.firm_id == new.firm_id)
        .limit(1)
    )
    return found is not None


def _locked_mandate(session: Session, mandate_id: int) -> MandateRow:
    row = session.get(MandateRow, mandate_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no mandate {mandate_id}")
    return row


def revoke_mandate(session: Session, *, mandate_id: int, clock: Clock) -> Mandate:
    """Revoke a mandate: no further spends. Holds placed under it can still be settled.
    Revoking again changes nothing."""
    row = _locked_mandate(session, mandate_id)
    if row.revoked_at_ns is None:
        row.revoked_at_ns = clock.now_ns()
        session.flush()
    return mandate_from_row(session, row)


@dataclass(frozen=True, slots=True)
class _Draw:
    """One spend request, as checked and stored."""

    kind: SpendKind
    amount_micro: int
    purpose: str
    key: str
    pending: bool
    timeout_s: int

    def problems(self) -> list[str]:
        problems = [
            *rules.key_problems(self.key),
            *rules.text_problems("purpose", self.purpose, chars_max=PROJECT_CHARS_MAX),
        ]
        if not 0 < self.amount_micro <= AMOUNT_MAX:
            problems.append(f"the amount must be 1 to {AMOUNT_MAX:,} micro-credits")
        if not 0 <= self.timeout_s <= TIMEOUT_S_MAX:
            problems.append(f"the timeout must be 0 to {TIMEOUT_S_MAX:,} seconds")
        if self.timeout_s and not self.pending:
            problems.append("a timeout is only for holds")
        return problems

    def matches(self, row: SpendRow) -> bool:
        stored = (row.kind, row.amount_micro, row.purpose, row.pending, row.timeout_s)
        return stored == (
            self.kind.value,
            self.amount_micro,
            self.purpose,
            self.pending,
            self.timeout_s,
        )


def spend_under_mandate(
    session: Session,
    *,
    mandate_id: int,
    amount_micro: int,
    purpose: str,
    transfer_key: str,
    clock: Clock,
    pending: bool = False,
    timeout_s: int = 0,
) -> Spend:
    """Draw credits for compute from the firm's lots to the centre's revenue account, earliest
    expiry first, as one linked chain (under a consortium mandate: from the consortium's
    pool); `pending` places holds (to be settled with `settle_spend`) that expire after
    `timeout_s` (0: never). Refusals list every reason; the same key again answers the
    recorded spend."""
    request = _Draw(
        SpendKind.COMPUTE, amount_micro, purpose.strip(), transfer_key.strip(), pending, timeout_s
    )
    return _draw(session, mandate_id, request, clock)


def redeem_service_fee(
    session: Session, *, mandate_id: int, amount_micro: int, transfer_key: str, clock: Clock
) -> Spend:
    """Move the integrator's fee from the firm's lots (or the consortium's pool) to its payable
    account in the programme, within the programme's service share of the mandate's cap (and
    within the cap)."""
    request = _Draw(
        SpendKind.SERVICE_FEE, amount_micro, "service fee", transfer_key.strip(), False, 0
    )
    return _draw(session, mandate_id, request, clock)


def _draw(session: Session, mandate_id: int, request: _Draw, clock: Clock) -> Spend:
    check_problems(request.problems())
    row = _locked_mandate(session, mandate_id)
    spend_id = ledger_ids.spend_id(mandate_id, request.key)
    existing = session.get(SpendRow, spend_id)
    if existing is not None:
        if not request.matches(existing):
            raise ConflictError(
                f"spend {request.key!r} under mandate {mandate_id} has other fields"
            )
        return _spend(session, spend_id)
    today = utc_today(clock)
    spendable = _sources(session, row, today)
    reasons = drawing.spend_reasons(
        mandate_from_row(session, row),
        kind=request.kind,
        amount_micro=request.amount_micro,
        available_micro=sum(lot.available_micro for lot in spendable),
        certification=registry_queries.get_certification(session, row.integrator_id),
        today=today,
        source=(
            "the firm's spendable lots hold"
            if row.consortium_id is None
            else "the consortium's pool holds"
        ),
    )
    if reasons:
        raise RefusedError("spend", reasons)
    spend = SpendRow(
        id=spend_id,
        mandate_id=mandate_id,
        key=request.key,
        kind=request.kind.value,
        amount_micro=request.amount_micro,
        purpose=request.purpose,
        pending=request.pending,
        timeout_s=request.timeout_s,
        created_at_ns=clock.now_ns(),
        settled_at_ns=None,
    )
    session.add(spend)
    session.flush()
    plan = drawing.plan_draw(spendable, request.amount_micro)
    destination = _destination(session, row, request.kind, clock)
    _move(session, row, spend, plan=plan, destination=destination, clock=clock)
    return _spend(session, spend_id)


def spendable_lots(
    session: Session, *, programme_id: int, firm_id: int, today: date
) -> list[drawing.SpendableLot]:
    """The firm's lots in the programme that may be spent today, locked, with what they hold."""
    lots = locked_lots(session, programme_id=programme_id, firm_id=firm_id, spendable_on=today)
    accounts = ledger_queries.get_accounts(session, [lot.account_id for lot in lots])
    return [
        drawing.SpendableLot(
            lot.account_id, lot.expires_on, accounts[lot.account_id].balance_available
        )
        for lot in lots
    ]


def spendable_micro(session: Session, *, mandate_id: int, today: date) -> int:
    """What a spend under the mandate could draw today from its source (the firm's spendable
    lots or the consortium's pool), holds taken out; the source is locked."""
    row = session.get(MandateRow, mandate_id)
    if row is None:
        raise NotFoundError(f"no mandate {mandate_id}")
    return sum(lot.available_micro for lot in _sources(session, row, today))


def _sources(session: Session, mandate: MandateRow, today: date) -> list[drawing.SpendableLot]:
    """What a spend under the mandate draws from: the firm's spendable lots, or the
    consortium's pool (as one lot with the pool's expiry: nothing is spendable from its expiry
    day on); locked either way."""
    if mandate.consortium_id is None:
        return spendable_lots(
            session, programme_id=mandate.programme_id, firm_id=mandate.firm_id, today=today
        )
    pool, expires_on = consortia_queries.locked_pool_account(
        session, consortium_id=mandate.consortium_id, programme_id=mandate.programme_id
    )
    account = ledger_queries.get_accounts(session, [pool])[pool]
    if expires_on is not None and expires_on <= today:
        return [drawing.SpendableLot(pool, expires_on, 0)]
    return [drawing.SpendableLot(pool, expires_on or date.max, account.balance_available)]


def _destination(session: Session, mandate: MandateRow, kind: SpendKind, clock: Clock) -> int:
    """The centre's revenue account, or the integrator's payable account (opened if new)."""
    if kind is SpendKind.COMPUTE:
        return ledger_ids.programme_accounts(mandate.programme_id).centre_revenue
    payable = NewAccount(
        id=ledger_ids.payable_account_id(mandate.programme_id, mandate.integrator_id),
        ledger=mandate.programme_id,
        code=AccountCode.INTEGRATOR_PAYABLE,
        owner_org_id=mandate.integrator_id,
    )
    [outcome] = ledger_service.create_accounts(session, [payable], clock)
    assert outcome.result in (CreateAccountResult.OK, CreateAccountResult.EXISTS), outcome
    return payable.id


def _move(
    session: Session,
    mandate: MandateRow,
    spend: SpendRow,
    *,
    plan: Sequence[tuple[int, int]],
    destination: int,
    clock: Clock,
) -> None:
    """The spend's chain of transfers, one per lot (or the pool) in `plan`, and its legs."""
    assert mandate.integrator_id <= USER_DATA_32_MAX
    code = TransferCode.COMPUTE if spend.kind == SpendKind.COMPUTE else TransferCode.SERVICE_FEE
    spend_id, pending, timeout_s = spend.id, spend.pending, spend.timeout_s
    from_pool = mandate.consortium_id is not None
    transfers = [
        NewTransfer(
            id=ledger_ids.spend_transfer_id(spend_id, lot_id),
            debit_account_id=lot_id,
            credit_account_id=destination,
            amount=amount,
            ledger=mandate.programme_id,
            code=code,
            flags=(TransferFlags.LINKED if position < len(plan) - 1 else TransferFlags.NONE)
            | (TransferFlags.PENDING if pending else TransferFlags.NONE),
            timeout_s=timeout_s,
            user_data_64=mandate.id,
            user_data_32=mandate.integrator_id,
        )
        for position, (lot_id, amount) in enumerate(plan)
    ]
    require_done(ledger_service.create_transfers(session, transfers, clock), "spend")
    session.add_all(
        SpendLegRow(
            transfer_id=transfer.id,
            spend_id=spend_id,
            position=position,
            lot_account_id=None if from_pool else transfer.debit_account_id,
            pool_account_id=transfer.debit_account_id if from_pool else None,
            amount_micro=transfer.amount,
            posted_micro=None if pending else transfer.amount,
        )
        for position, transfer in enumerate(transfers)
    )
    session.flush()


def settle_spend(session: Session, *, spend_id: int, post_micro: int, clock: Clock) -> Spend:
    """Settle a held spend: post `post_micro` of its holds (earliest expiry first) and void
    the rest, as one linked chain. Settling again with the same amount changes nothing."""
    row = session.get(SpendRow, spend_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no spend {spend_id}")
    if not row.pending:
        raise ConflictError(f"spend {spend_id} was posted at once: there is nothing to settle")
    legs = list(
        session.scalars(
            sa.select(SpendLegRow)
            .where(SpendLegRow.spend_id == spend_id)
            .order_by(SpendLegRow.position)
        )
    )
    if row.settled_at_ns is not None:
        if sum(leg.posted_micro or 0 for leg in legs) != post_micro:
            raise ConflictError(f"spend {spend_id} was settled with another amount")
        return _spend(session, spend_id)
    check_problems(
        []
        if 0 <= post_micro <= row.amount_micro
        else [f"post 0 to {row.amount_micro:,} micro-credits (the amount held)"]
    )
    _check_holds_pending(session, legs, clock.now_ns())
    posts = drawing.split_post([leg.amount_micro for leg in legs], post_micro)
    transfers = [
        NewTransfer(
            id=ledger_ids.settle_transfer_id(leg.transfer_id),
            debit_account_id=0,
            credit_account_id=0,
            amount=post,
            ledger=0,
            code=0,
            flags=(
                TransferFlags.POST_PENDING_TRANSFER if post else TransferFlags.VOID_PENDING_TRANSFER
            )
            | (TransferFlags.LINKED if position < len(legs) - 1 else TransferFlags.NONE),
            pending_id=leg.transfer_id,
        )
        for position, (leg, post) in enumerate(zip(legs, posts, strict=True))
    ]
    require_done(ledger_service.create_transfers(session, transfers, clock), "settlement")
    for leg, post in zip(legs, posts, strict=True):
        leg.posted_micro = post
    row.settled_at_ns = clock.now_ns()
    session.flush()
    return _spend(session, spend_id)


def _check_holds_pending(session: Session, legs: Sequence[SpendLegRow], now_ns: int) -> None:
    """Every hold can still be posted or voided (not resolved, not timed out)."""
    reasons = []
    for leg in legs:
        state = ledger_queries.get_pending_state(session, leg.transfer_id)
        assert state is not None
        timed_out = state.expires_at_ns is not None and state.expires_at_ns <= now_ns
        if state.status is not PendingStatus.PENDING or timed_out:
            status = "expired" if timed_out else state.status.value
            reasons.append(
                Reason(ReasonCode.HOLD_NOT_PENDING, f"hold {leg.transfer_id} is {status}")
            )
    if reasons:
        raise RefusedError("settlement", reasons)


def _spend(session: Session, spend_id: int) -> Spend:
    spend = get_spend(session, spend_id)
    assert spend is not None
    return spend

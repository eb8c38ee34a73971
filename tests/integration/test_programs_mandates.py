"""Mandates, spends, holds and service fees, on both databases."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.ledger import queries as ledger_queries
from ccx.ledger.service import expire_pending_transfers
from ccx.ledger.types import TransferFlags
from ccx.programs import (
    ConflictError,
    InvalidRequestError,
    LotStatus,
    NotFoundError,
    ReasonCode,
    RefusedError,
    Spend,
    SpendKind,
    SpendStatus,
    TransferCode,
    mandates,
    queries,
    service,
)
from ccx.programs.ledger_ids import payable_account_id, programme_accounts
from ccx.registry import Organisation, OrgKind, Shareholder
from ccx.registry import service as registry_service
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    advance_days,
    apply,
    certified_integrator,
    grant_mandate,
    make_programme,
    register,
    verified_ledger,  # noqa: F401 - a fixture
)

ACCOUNTS = programme_accounts(PROGRAMME_ID)


pytestmark = pytest.mark.usefixtures("verified_ledger")


def setup(database: Database, clock: SimulatedClock) -> tuple[Organisation, Organisation]:
    """The standard programme, a firm holding one 100-credit lot, a certified integrator."""
    make_programme(database, clock)
    firm = register(database, clock, 1)
    apply(database, clock, firm.id)
    return firm, certified_integrator(database, clock, 2)


def balance(database: Database, account_id: int) -> int:
    with database.read() as session:
        account = ledger_queries.get_account(session, account_id)
    assert account is not None
    return account.balance_posted


def refusal_codes(raised: pytest.ExceptionInfo[RefusedError]) -> list[ReasonCode]:
    return [reason.code for reason in raised.value.reasons]


def spend(
    database: Database,
    clock: SimulatedClock,
    mandate_id: int,
    amount: int,
    key: str,
    *,
    pending: bool = False,
    timeout_s: int = 0,
) -> Spend:
    with database.write() as session:
        return mandates.spend_under_mandate(
            session,
            mandate_id=mandate_id,
            amount_micro=amount,
            purpose="fine-tuning",
            transfer_key=key,
            clock=clock,
            pending=pending,
            timeout_s=timeout_s,
        )


def test_a_mandate_is_granted_once_and_listed_for_both_parties(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = setup(database, clock)
    mandate = grant_mandate(database, clock, firm.id, integrator.id)
    assert (mandate.cap_micro, mandate.drawn_micro, mandate.fee_max_micro) == (
        50 * CREDIT,
        0,
        5 * CREDIT,
    )
    assert grant_mandate(database, clock, firm.id, integrator.id) == mandate
    with pytest.raises(ConflictError):
        grant_mandate(database, clock, firm.id, integrator.id, cap_micro=60 * CREDIT)
    with database.read() as session:
        for_firm = queries.list_mandates(session, limit=10, firm_id=firm.id)
        for_integrator = queries.list_mandates(session, limit=10, party_id=integrator.id)
    assert for_firm == for_integrator == [mandate]


@pytest.mark.parametrize("state", ["never_applied", "applied", "suspended", "lapsed", "revoked"])
def test_only_an_integrator_certified_today_takes_a_mandate(
    database: Database, clock: SimulatedClock, state: str
) -> None:
    make_programme(database, clock)
    firm = register(database, clock, 1)
    apply(database, clock, firm.id)
    integrator = register(database, clock, 2, kind=OrgKind.INTEGRATOR)
    with database.write() as session:
        if state != "never_applied":
            registry_service.apply_for_certification(session, integrator.id, clock)
        if state in ("suspended", "lapsed", "revoked"):
            registry_service.certify(session, integrator.id, until=date(2026, 1, 31), clock=clock)
        if state == "suspended":
            registry_service.suspend(session, integrator.id, reason="audit", clock=clock)
        if state == "revoked":
            registry_service.revoke(session, integrator.id, reason="fraud", clock=clock)
    if state == "lapsed":
        advance_days(clock, 31)
    with pytest.raises(RefusedError) as raised:
        grant_mandate(database, clock, firm.id, integrator.id)
    assert refusal_codes(raised) == [ReasonCode.NOT_CERTIFIED]


def test_a_related_or_wrong_party_is_refused_with_every_reason(
    database: Database, clock: SimulatedClock
) -> None:
    make_programme(database, clock)
    owner = Shareholder("Kim Minjun", 6_000, is_largest=True)
    firm = register(database, clock, 1, address="7 Haebyeon-ro", shareholders=(owner,))
    related = certified_integrator(
        database, clock, 2, address="7 haebyeon-ro", shareholders=(owner,)
    )
    with pytest.raises(RefusedError) as raised:
        grant_mandate(database, clock, firm.id, related.id)
    assert refusal_codes(raised) == [
        ReasonCode.CONFLICT_OF_INTEREST,
        ReasonCode.CONFLICT_OF_INTEREST,
        ReasonCode.NO_CREDITS_IN_PROGRAMME,
    ]
    other_firm = register(database, clock, 3)
    with pytest.raises(RefusedError) as raised:
        grant_mandate(database, clock, firm.id, other_firm.id)
    assert refusal_codes(raised)[:2] == [ReasonCode.NOT_AN_INTEGRATOR, ReasonCode.NOT_CERTIFIED]
    with database.read() as session:
        assert queries.list_mandates(session, limit=10) == []


def test_bad_mandate_input_writes_nothing(database: Database, clock: SimulatedClock) -> None:
    firm, integrator = setup(database, clock)
    invalid: list[dict[str, Any]] = [
        {"cap_micro": 0},
        {"project": "  "},
        {"key": ""},
        {"valid_until": date(2025, 12, 31)},
    ]
    for changes in invalid:
        with pytest.raises(InvalidRequestError):
            grant_mandate(database, clock, firm.id, integrator.id, **changes)
    with pytest.raises(InvalidRequestError, match="itself"):
        grant_mandate(database, clock, firm.id, firm.id)
    with pytest.raises(NotFoundError):
        grant_mandate(database, clock, firm.id, integrator.id, programme_id=99)
    with pytest.raises(NotFoundError):
        grant_mandate(database, clock, firm.id, 999)
    with database.read() as session:
        assert queries.list_mandates(session, limit=10) == []


def test_spending_draws_earliest_expiry_first_as_one_chain(
    database: Database, clock: SimulatedClock
) -> None:
    make_programme(database, clock, firm_cap_micro=1_000 * CREDIT)
    firm = register(database, clock, 1)
    integrator = certified_integrator(database, clock, 2)
    apply(database, clock, firm.id, key="a")  # expires 2026-04-01
    advance_days(clock, 5)
    apply(database, clock, firm.id, key="b")  # expires 2026-04-06
    advance_days(clock, 1)
    apply(database, clock, firm.id, key="c")  # expires 2026-04-07
    mandate = grant_mandate(database, clock, firm.id, integrator.id, cap_micro=300 * CREDIT)
    with database.read() as session:
        lots = sorted(queries.list_lots(session, limit=10), key=lambda lot: lot.expires_on)
    spend(database, clock, mandate.id, 30 * CREDIT, "s1")
    result = spend(database, clock, mandate.id, 120 * CREDIT, "s2")
    assert [(leg.lot_account_id, leg.amount_micro) for leg in result.legs] == [
        (lots[0].account_id, 70 * CREDIT),
        (lots[1].account_id, 50 * CREDIT),
    ]
    with database.read() as session:
        transfers = [ledger_queries.get_transfer(session, leg.transfer_id) for leg in result.legs]
    assert [t.flags & TransferFlags.LINKED for t in transfers if t] == [TransferFlags.LINKED, 0]
    assert {(t.user_data_64, t.user_data_32, t.code) for t in transfers if t} == {
        (mandate.id, integrator.id, TransferCode.COMPUTE)
    }
    assert balance(database, ACCOUNTS.centre_revenue) == 150 * CREDIT
    with database.read() as session:
        available = [lot.available_micro for lot in queries.list_lots(session, limit=10)]
    assert sorted(available) == [0, 50 * CREDIT, 100 * CREDIT]


def test_a_spend_retry_draws_once_and_a_changed_retry_conflicts(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = setup(database, clock)
    mandate = grant_mandate(database, clock, firm.id, integrator.id)
    first = spend(database, clock, mandate.id, 10 * CREDIT, "s1")
    assert spend(database, clock, mandate.id, 10 * CREDIT, " s1 ") == first
    with pytest.raises(ConflictError):
        spend(database, clock, mandate.id, 11 * CREDIT, "s1")
    assert balance(database, ACCOUNTS.centre_revenue) == 10 * CREDIT


def test_a_spend_is_refused_beyond_the_cap_the_credits_or_the_mandate(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = setup(database, clock)
    mandate = grant_mandate(database, clock, firm.id, integrator.id, cap_micro=150 * CREDIT)
    spend(database, clock, mandate.id, 100 * CREDIT, "all")  # the whole lot, within the cap
    with pytest.raises(RefusedError) as raised:
        spend(database, clock, mandate.id, 1, "more")
    assert refusal_codes(raised) == [ReasonCode.INSUFFICIENT_CREDITS]
    small = grant_mandate(database, clock, firm.id, integrator.id, cap_micro=CREDIT, key="m2")
    apply(database, clock, firm.id, key="second")
    spend(database, clock, small.id, CREDIT, "exact")  # exactly the cap
    with pytest.raises(RefusedError) as raised:
        spend(database, clock, small.id, 1, "over")
    assert refusal_codes(raised) == [ReasonCode.MANDATE_CAP]


def test_a_revoked_or_lapsed_mandate_or_suspended_integrator_spends_nothing(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = setup(database, clock)
    lapsing = grant_mandate(database, clock, firm.id, integrator.id, valid_until=date(2026, 1, 10))
    revoked = grant_mandate(database, clock, firm.id, integrator.id, key="m2")
    with database.write() as session:
        mandates.revoke_mandate(session, mandate_id=revoked.id, clock=clock)
        again = mandates.revoke_mandate(session, mandate_id=revoked.id, clock=clock)
    assert again.revoked_at_ns is not None
    with pytest.raises(RefusedError) as raised:
        spend(database, clock, revoked.id, CREDIT, "s")
    assert refusal_codes(raised) == [ReasonCode.MANDATE_REVOKED]
    advance_days(clock, 10)  # 2026-01-11, past the last day
    with pytest.raises(RefusedError) as raised:
        spend(database, clock, lapsing.id, CREDIT, "s")
    assert refusal_codes(raised) == [ReasonCode.MANDATE_EXPIRED]
    live = grant_mandate(database, clock, firm.id, integrator.id, key="m3")
    with database.write() as session:
        registry_service.suspend(session, integrator.id, reason="inquiry", clock=clock)
    with pytest.raises(RefusedError) as raised:
        spend(database, clock, live.id, CREDIT, "s")
    assert refusal_codes(raised) == [ReasonCode.NOT_CERTIFIED]
    assert balance(database, ACCOUNTS.centre_revenue) == 0


def test_expired_and_clawed_back_lots_are_not_spent(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = setup(database, clock)
    mandate = grant_mandate(database, clock, firm.id, integrator.id, valid_until=date(2026, 12, 31))
    advance_days(clock, 90)  # the lot's expiry day, before the sweep
    with pytest.raises(RefusedError) as raised:
        spend(database, clock, mandate.id, CREDIT, "late")
    assert refusal_codes(raised) == [ReasonCode.INSUFFICIENT_CREDITS]


def test_the_fee_is_capped_by_the_service_share_and_reported_in_krw(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = setup(database, clock)
    mandate = grant_mandate(database, clock, firm.id, integrator.id, cap_micro=50 * CREDIT)
    with database.write() as session:
        fee = mandates.redeem_service_fee(
            session, mandate_id=mandate.id, amount_micro=3 * CREDIT, transfer_key="f1", clock=clock
        )
    assert (fee.kind, fee.status, fee.amount_krw) == (
        SpendKind.SERVICE_FEE,
        SpendStatus.POSTED,
        10_500,
    )
    payable = payable_account_id(PROGRAMME_ID, integrator.id)
    with database.read() as session:
        account = ledger_queries.get_account(session, payable)
    assert account is not None
    assert (account.owner_org_id, account.balance_posted) == (integrator.id, 3 * CREDIT)
    with pytest.raises(RefusedError) as raised, database.write() as session:
        mandates.redeem_service_fee(
            session,
            mandate_id=mandate.id,
            amount_micro=2 * CREDIT + 1,
            transfer_key="f2",
            clock=clock,
        )
    assert refusal_codes(raised) == [ReasonCode.FEE_SHARE]
    with database.write() as session:
        mandates.redeem_service_fee(
            session, mandate_id=mandate.id, amount_micro=2 * CREDIT, transfer_key="f2", clock=clock
        )
        shown = queries.get_mandate(session, mandate.id)
    assert shown is not None
    assert (shown.fees_micro, shown.drawn_micro) == (5 * CREDIT, 5 * CREDIT)


def test_holds_count_against_the_cap_until_settled(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = setup(database, clock)
    mandate = grant_mandate(database, clock, firm.id, integrator.id, cap_micro=50 * CREDIT)
    held = spend(database, clock, mandate.id, 40 * CREDIT, "h1", pending=True, timeout_s=3600)
    assert held.status is SpendStatus.HELD
    with pytest.raises(RefusedError) as raised:
        spend(database, clock, mandate.id, 20 * CREDIT, "h2")
    assert refusal_codes(raised) == [ReasonCode.MANDATE_CAP]
    with database.write() as session:
        settled = mandates.settle_spend(
            session, spend_id=held.id, post_micro=25 * CREDIT, clock=clock
        )
        again = mandates.settle_spend(
            session, spend_id=held.id, post_micro=25 * CREDIT, clock=clock
        )
    assert settled == again
    assert settled.status is SpendStatus.SETTLED
    assert [leg.posted_micro for leg in settled.legs] == [25 * CREDIT]
    with pytest.raises(ConflictError), database.write() as session:
        mandates.settle_spend(session, spend_id=settled.id, post_micro=CREDIT, clock=clock)
    with database.read() as session:
        shown = queries.get_mandate(session, mandate.id)
    assert shown is not None
    assert shown.drawn_micro == 25 * CREDIT
    spend(database, clock, mandate.id, 20 * CREDIT, "h2")
    assert balance(database, ACCOUNTS.centre_revenue) == 45 * CREDIT


def test_a_hold_that_times_out_gives_its_room_back_and_cannot_be_settled(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = setup(database, clock)
    mandate = grant_mandate(database, clock, firm.id, integrator.id)
    held = spend(database, clock, mandate.id, 50 * CREDIT, "h", pending=True, timeout_s=60)
    clock.advance(61)
    with pytest.raises(RefusedError) as raised, database.write() as session:
        mandates.settle_spend(session, spend_id=held.id, post_micro=0, clock=clock)
    assert refusal_codes(raised) == [ReasonCode.HOLD_NOT_PENDING]
    with database.write() as session:
        assert expire_pending_transfers(session, clock) == 1
        shown = queries.get_mandate(session, mandate.id)
    assert shown is not None
    assert shown.drawn_micro == 0
    spend(database, clock, mandate.id, 50 * CREDIT, "again")


def test_a_lot_with_a_hold_is_swept_once_the_hold_resolves(
    database: Database, clock: SimulatedClock
) -> None:
    firm, integrator = setup(database, clock)
    mandate = grant_mandate(database, clock, firm.id, integrator.id, valid_until=date(2026, 12, 31))
    held = spend(database, clock, mandate.id, 10 * CREDIT, "h", pending=True)
    advance_days(clock, 90)
    with database.write() as session:
        sweep = service.expire_lots(session, clock=clock)
    assert sweep.expired == ()
    assert len(sweep.deferred) == 1
    with database.write() as session:
        mandates.settle_spend(session, spend_id=held.id, post_micro=4 * CREDIT, clock=clock)
        sweep = service.expire_lots(session, clock=clock)
    assert [lot.expired_micro for lot in sweep.expired] == [96 * CREDIT]
    assert [lot.spent_micro for lot in sweep.expired] == [4 * CREDIT]


def test_settling_input_is_checked(database: Database, clock: SimulatedClock) -> None:
    firm, integrator = setup(database, clock)
    mandate = grant_mandate(database, clock, firm.id, integrator.id)
    direct = spend(database, clock, mandate.id, CREDIT, "d")
    held = spend(database, clock, mandate.id, CREDIT, "h", pending=True)
    with pytest.raises(ConflictError), database.write() as session:
        mandates.settle_spend(session, spend_id=direct.id, post_micro=0, clock=clock)
    with pytest.raises(InvalidRequestError), database.write() as session:
        mandates.settle_spend(session, spend_id=held.id, post_micro=CREDIT + 1, clock=clock)
    with pytest.raises(NotFoundError), database.write() as session:
        mandates.settle_spend(session, spend_id=1, post_micro=0, clock=clock)


def test_bad_spend_input_writes_nothing(database: Database, clock: SimulatedClock) -> None:
    firm, integrator = setup(database, clock)
    mandate = grant_mandate(database, clock, firm.id, integrator.id)
    for amount, key, pending, timeout_s in [
        (0, "k", False, 0),
        (CREDIT, "", False, 0),
        (CREDIT, "k", False, 5),
        (CREDIT, "k", True, -1),
    ]:
        with pytest.raises(InvalidRequestError):
            spend(database, clock, mandate.id, amount, key, pending=pending, timeout_s=timeout_s)
    with pytest.raises(NotFoundError):
        spend(database, clock, 42, CREDIT, "k")
    with database.read() as session:
        count = session.scalar(sa.text("SELECT count(*) FROM mandate_spends"))
    assert count == 0


def test_credits_never_move_between_firms(database: Database, clock: SimulatedClock) -> None:
    firm, integrator = setup(database, clock)
    other = register(database, clock, 3)
    apply(database, clock, other.id)
    mandate = grant_mandate(database, clock, firm.id, integrator.id, cap_micro=200 * CREDIT)
    result = spend(database, clock, mandate.id, 100 * CREDIT, "all")
    with database.read() as session:
        lots = {lot.account_id: lot for lot in queries.list_lots(session, limit=10)}
        destinations = {
            t.credit_account_id
            for leg in result.legs
            if (t := ledger_queries.get_transfer(session, leg.transfer_id)) is not None
        }
    assert destinations == {ACCOUNTS.centre_revenue}
    assert {lots[leg.lot_account_id].firm_id for leg in result.legs} == {firm.id}
    assert {lot.status for lot in lots.values()} == {LotStatus.ACTIVE}

"""The ledger's pure core on hand-built states: every result code, precedence, holds, chains.

A property test at the end runs random batches through the core and through the independent
model in `tests.ledger_model` and requires the same results, balances and stored transfers.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccx.clock import NS_PER_S
from ccx.ledger import core
from ccx.ledger.types import (
    AMOUNT_MAX,
    TIMEOUT_S_MAX,
    TRANSIENT_FAILURES,
    Account,
    AccountFlags,
    CreateAccountResult,
    NewAccount,
    NewTransfer,
    PendingState,
    PendingStatus,
    Transfer,
    TransferFlags,
)
from ccx.ledger.types import CreateTransferResult as R
from tests.ledger_model import LedgerModel, ModelAccount

F = TransferFlags
A = AccountFlags
CA = CreateAccountResult
LEDGER = 7
OTHER_LEDGER = 8
CODE = 3
NOW = 1_700_000_000 * NS_PER_S
DEBITS_LIMITED = A.DEBITS_MUST_NOT_EXCEED_CREDITS
CREDITS_LIMITED = A.CREDITS_MUST_NOT_EXCEED_DEBITS


def account(
    account_id: int,
    *,
    flags: AccountFlags = A.NONE,
    ledger: int = LEDGER,
    debits_pending: int = 0,
    debits_posted: int = 0,
    credits_pending: int = 0,
    credits_posted: int = 0,
) -> Account:
    return Account(
        id=account_id,
        ledger=ledger,
        code=CODE,
        flags=flags,
        owner_org_id=None,
        user_data_64=0,
        user_data_32=0,
        debits_pending=debits_pending,
        debits_posted=debits_posted,
        credits_pending=credits_pending,
        credits_posted=credits_posted,
        timestamp_ns=1,
    )


def state_of(*accounts: Account) -> core.LedgerState:
    return core.LedgerState(
        accounts={a.id: a for a in accounts}, transfers={}, pendings={}, failed={}
    )


def transfer(
    transfer_id: int,
    debit: int = 1,
    credit: int = 2,
    amount: int = 10,
    *,
    flags: TransferFlags = F.NONE,
    ledger: int = LEDGER,
    code: int = CODE,
    pending_id: int = 0,
    timeout_s: int = 0,
    user_data_64: int = 0,
) -> NewTransfer:
    return NewTransfer(
        id=transfer_id,
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount,
        ledger=ledger,
        code=code,
        flags=flags,
        pending_id=pending_id,
        timeout_s=timeout_s,
        user_data_64=user_data_64,
    )


def resolve(
    transfer_id: int,
    pending_id: int,
    amount: int = AMOUNT_MAX,
    *,
    void: bool = False,
    debit: int = 0,
    credit: int = 0,
    ledger: int = 0,
    code: int = 0,
    timeout_s: int = 0,
    flags: TransferFlags = F.NONE,
) -> NewTransfer:
    """A post (or void) of a hold; zero accounts, ledger and code come from the hold."""
    flags |= F.VOID_PENDING_TRANSFER if void else F.POST_PENDING_TRANSFER
    return NewTransfer(
        id=transfer_id,
        debit_account_id=debit,
        credit_account_id=credit,
        amount=0 if void and amount == AMOUNT_MAX else amount,
        ledger=ledger,
        code=code,
        flags=flags,
        pending_id=pending_id,
        timeout_s=timeout_s,
    )


def apply(state: core.LedgerState, *batch: NewTransfer, now_ns: int = NOW) -> list[R]:
    effects = core.apply_transfers(list(batch), state, now_ns)
    assert [o.index for o in effects.outcomes] == list(range(len(batch)))
    assert [o.id for o in effects.outcomes] == [t.id for t in batch]
    return [o.result for o in effects.outcomes]


def counters(state: core.LedgerState, account_id: int) -> tuple[int, int, int, int]:
    a = state.accounts[account_id]
    return (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)


def funded() -> core.LedgerState:
    """Account 1 (may not overdraw) holds 100; 2 is open; 3 may not take more than it gave."""
    return state_of(
        account(1, flags=DEBITS_LIMITED, credits_posted=100),
        account(2, debits_posted=100),
        account(3, flags=CREDITS_LIMITED, debits_posted=40),
        account(9, ledger=OTHER_LEDGER),
    )


# Plain transfers, holds and their resolution


def test_a_plain_transfer_moves_posted_balances_and_records_the_transfer() -> None:
    state = funded()
    effects = core.apply_transfers([transfer(10, 1, 2, 30, user_data_64=5)], state, NOW)
    assert [o.result for o in effects.outcomes] == [R.OK]
    assert counters(state, 1) == (0, 30, 0, 100)
    assert counters(state, 2) == (0, 100, 0, 30)
    assert effects.created == [Transfer(10, 1, 2, 30, LEDGER, CODE, F.NONE, 0, 0, 5, 0, NOW)]
    assert state.transfers[10] == effects.created[0]
    assert set(effects.accounts_changed) == {1, 2}
    assert effects.accounts_changed[1] == state.accounts[1]
    assert effects.failed_new == {}
    assert effects.pendings_changed == {}


def test_events_get_consecutive_timestamps_even_when_some_fail() -> None:
    state = funded()
    effects = core.apply_transfers(
        [transfer(10, 1, 2, 1), transfer(11, 1, 2, 1000), transfer(12, 1, 2, 1)], state, NOW
    )
    assert [o.result for o in effects.outcomes] == [R.OK, R.EXCEEDS_CREDITS, R.OK]
    assert [t.timestamp_ns for t in effects.created] == [NOW, NOW + 2]


def test_a_hold_reserves_and_a_full_post_moves_the_whole_amount() -> None:
    state = funded()
    assert apply(state, transfer(10, 1, 2, 60, flags=F.PENDING, timeout_s=5)) == [R.OK]
    assert counters(state, 1) == (60, 0, 0, 100)
    assert counters(state, 2) == (0, 100, 60, 0)
    assert state.pendings[10] == PendingState(10, PendingStatus.PENDING, NOW + 5 * NS_PER_S)
    # The hold counts against the limit: only 40 more can leave account 1.
    assert apply(state, transfer(11, 1, 2, 41)) == [R.EXCEEDS_CREDITS]
    assert apply(state, resolve(12, 10)) == [R.OK]
    assert counters(state, 1) == (0, 60, 0, 100)
    assert counters(state, 2) == (0, 100, 0, 60)
    assert state.transfers[12].amount == 60
    assert state.transfers[12].debit_account_id == 1
    assert state.transfers[12].credit_account_id == 2
    assert state.transfers[12].ledger == LEDGER
    assert state.transfers[12].code == CODE
    assert state.pendings[10].status is PendingStatus.POSTED


def test_a_hold_without_timeout_never_expires() -> None:
    state = funded()
    apply(state, transfer(10, 1, 2, 60, flags=F.PENDING))
    assert state.pendings[10].expires_at_ns is None
    assert apply(state, resolve(11, 10), now_ns=NOW + 10**6 * NS_PER_S) == [R.OK]


def test_a_partial_post_returns_the_remainder_to_both_accounts() -> None:
    state = funded()
    apply(state, transfer(10, 1, 2, 60, flags=F.PENDING))
    assert apply(state, resolve(11, 10, 25)) == [R.OK]
    assert counters(state, 1) == (0, 25, 0, 100)
    assert counters(state, 2) == (0, 100, 0, 25)
    assert state.transfers[11].amount == 25
    # The remainder is available again.
    assert apply(state, transfer(12, 1, 2, 75)) == [R.OK]
    assert apply(state, transfer(13, 1, 2, 1)) == [R.EXCEEDS_CREDITS]


def test_a_post_of_zero_releases_the_hold_and_posts_nothing() -> None:
    state = funded()
    apply(state, transfer(10, 1, 2, 60, flags=F.PENDING))
    assert apply(state, resolve(11, 10, 0)) == [R.OK]
    assert counters(state, 1) == (0, 0, 0, 100)
    assert state.pendings[10].status is PendingStatus.POSTED


@pytest.mark.parametrize("amount", [0, 60])
def test_a_void_restores_the_balances_from_before_the_hold(amount: int) -> None:
    state = funded()
    before = {i: counters(state, i) for i in (1, 2)}
    apply(state, transfer(10, 1, 2, 60, flags=F.PENDING))
    assert apply(state, resolve(11, 10, amount, void=True)) == [R.OK]
    assert {i: counters(state, i) for i in (1, 2)} == before
    assert state.transfers[11].amount == 60
    assert state.pendings[10].status is PendingStatus.VOIDED


def test_a_hold_expires_exactly_at_its_timeout() -> None:
    state = funded()
    apply(state, transfer(10, 1, 2, 60, flags=F.PENDING, timeout_s=5))
    apply(state, transfer(11, 1, 2, 1, flags=F.PENDING, timeout_s=5))
    expires = NOW + 5 * NS_PER_S
    # Event i of a batch is at now + i: the hold made at NOW is due at `expires`.
    assert apply(state, resolve(12, 10), now_ns=expires - 1) == [R.OK]
    assert apply(state, resolve(13, 11), now_ns=expires) == [R.PENDING_TRANSFER_EXPIRED]
    assert apply(state, resolve(14, 11, void=True), now_ns=expires + 1) == [
        R.PENDING_TRANSFER_EXPIRED
    ]


def test_expire_hold_returns_the_amount() -> None:
    state = funded()
    apply(state, transfer(10, 1, 2, 60, flags=F.PENDING, timeout_s=5))
    debit, credit = core.expire_hold(state.accounts, state.transfers[10])
    assert (debit.id, credit.id) == (1, 2)
    assert (debit.debits_pending, debit.debits_posted, debit.credits_posted) == (0, 0, 100)
    assert (credit.credits_pending, credit.credits_posted) == (0, 0)


# Balancing transfers


def test_balancing_debit_moves_at_most_the_available_balance() -> None:
    state = funded()
    apply(state, transfer(10, 1, 2, 30, flags=F.PENDING))
    assert apply(state, transfer(11, 1, 2, 1000, flags=F.BALANCING_DEBIT)) == [R.OK]
    assert state.transfers[11].amount == 70
    assert counters(state, 1) == (30, 70, 0, 100)
    # Nothing is left: a second sweep moves zero and succeeds.
    assert apply(state, transfer(12, 1, 2, 1000, flags=F.BALANCING_DEBIT)) == [R.OK]
    assert state.transfers[12].amount == 0


def test_balancing_debit_moves_less_than_asked_only_when_needed() -> None:
    state = funded()
    assert apply(state, transfer(10, 1, 2, 20, flags=F.BALANCING_DEBIT)) == [R.OK]
    assert state.transfers[10].amount == 20


def test_balancing_debit_of_an_overdrawn_unlimited_account_moves_nothing() -> None:
    state = funded()  # account 2 has debits 100 > credits 0
    assert apply(state, transfer(10, 2, 1, 50, flags=F.BALANCING_DEBIT)) == [R.OK]
    assert state.transfers[10].amount == 0
    assert counters(state, 2) == (0, 100, 0, 0)


def test_balancing_credit_clamps_to_what_the_credit_account_may_take() -> None:
    state = funded()  # account 3 may take at most 40
    assert apply(state, transfer(10, 2, 3, 25, flags=F.PENDING)) == [R.OK]
    assert apply(state, transfer(11, 2, 3, 1000, flags=F.BALANCING_CREDIT)) == [R.OK]
    assert state.transfers[11].amount == 15
    assert counters(state, 3) == (0, 40, 25, 15)


def test_both_balancing_flags_take_the_smaller_bound() -> None:
    state = funded()
    assert apply(state, transfer(10, 1, 3, 1000, flags=F.BALANCING_DEBIT | F.BALANCING_CREDIT)) == [
        R.OK
    ]
    assert state.transfers[10].amount == 40


def test_a_pending_balancing_transfer_holds_the_clamped_amount() -> None:
    state = funded()
    assert apply(state, transfer(10, 1, 2, 500, flags=F.PENDING | F.BALANCING_DEBIT)) == [R.OK]
    assert state.transfers[10].amount == 100
    assert counters(state, 1) == (100, 0, 0, 100)


# Closing


def test_a_closing_hold_closes_and_its_void_reopens() -> None:
    state = funded()
    assert apply(state, transfer(10, 1, 2, 0, flags=F.PENDING | F.CLOSING_DEBIT)) == [R.OK]
    assert state.accounts[1].flags == DEBITS_LIMITED | A.CLOSED
    assert not state.accounts[2].flags & A.CLOSED
    assert apply(state, transfer(11, 1, 2, 1), transfer(12, 2, 1, 1)) == [
        R.DEBIT_ACCOUNT_ALREADY_CLOSED,
        R.CREDIT_ACCOUNT_ALREADY_CLOSED,
    ]
    # A closing hold cannot be posted: posting needs open accounts.
    assert apply(state, resolve(13, 10)) == [R.DEBIT_ACCOUNT_ALREADY_CLOSED]
    assert apply(state, resolve(14, 10, void=True)) == [R.OK]
    assert state.accounts[1].flags == DEBITS_LIMITED
    assert apply(state, transfer(15, 1, 2, 1)) == [R.OK]


def test_closing_credit_closes_the_credit_account() -> None:
    state = funded()
    assert apply(state, transfer(10, 2, 1, 5, flags=F.PENDING | F.CLOSING_CREDIT)) == [R.OK]
    assert state.accounts[1].flags & A.CLOSED
    assert not state.accounts[2].flags & A.CLOSED
    assert apply(state, resolve(11, 10)) == [R.CREDIT_ACCOUNT_ALREADY_CLOSED]


def test_a_closed_account_still_lets_older_holds_be_voided_but_not_posted() -> None:
    state = funded()
    apply(state, transfer(10, 1, 2, 30, flags=F.PENDING))
    apply(state, transfer(11, 1, 2, 0, flags=F.PENDING | F.CLOSING_DEBIT))
    assert apply(state, resolve(12, 10)) == [R.DEBIT_ACCOUNT_ALREADY_CLOSED]
    assert apply(state, resolve(13, 10, void=True)) == [R.OK]
    assert counters(state, 1) == (0, 0, 0, 100)
    # Voiding an ordinary hold does not reopen the account.
    assert state.accounts[1].flags & A.CLOSED


def test_an_expired_closing_hold_reopens_the_account() -> None:
    state = funded()
    apply(state, transfer(10, 1, 2, 0, flags=F.PENDING | F.CLOSING_DEBIT, timeout_s=1))
    debit, _ = core.expire_hold(state.accounts, state.transfers[10])
    assert debit.flags == DEBITS_LIMITED


def test_closing_both_sides_closes_both_and_a_void_reopens_both() -> None:
    state = funded()
    flags = F.PENDING | F.CLOSING_DEBIT | F.CLOSING_CREDIT
    assert apply(state, transfer(10, 1, 2, 0, flags=flags)) == [R.OK]
    assert state.accounts[1].flags & A.CLOSED
    assert state.accounts[2].flags & A.CLOSED
    assert apply(state, resolve(11, 10, void=True)) == [R.OK]
    assert not state.accounts[1].flags & A.CLOSED
    assert not state.accounts[2].flags & A.CLOSED


# Linked chains


def test_a_linked_chain_that_succeeds_applies_every_event() -> None:
    state = funded()
    assert apply(
        state,
        transfer(10, 1, 2, 30, flags=F.LINKED),
        transfer(11, 2, 3, 20, flags=F.LINKED),
        transfer(12, 3, 1, 10),
    ) == [R.OK, R.OK, R.OK]
    assert counters(state, 1) == (0, 30, 0, 110)
    assert counters(state, 3) == (0, 50, 0, 20)


def test_a_failing_chain_leaves_the_state_untouched() -> None:
    state = funded()
    apply(state, transfer(5, 1, 2, 10, flags=F.PENDING))
    before = copy.deepcopy(state)
    effects = core.apply_transfers(
        [
            transfer(10, 1, 2, 30, flags=F.LINKED),
            resolve(11, 5, 4, flags=F.LINKED),
            transfer(12, 2, 3, 10, flags=F.LINKED | F.PENDING | F.CLOSING_CREDIT),
            transfer(13, 2, 1, 1000, flags=F.LINKED),
            transfer(14, 2, 3, 1),  # account 3 was closed by event 12
        ],
        state,
        NOW,
    )
    assert [o.result for o in effects.outcomes] == [
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_FAILED,
        R.CREDIT_ACCOUNT_ALREADY_CLOSED,
    ]
    assert dict(state.accounts) == dict(before.accounts)
    assert dict(state.transfers) == dict(before.transfers)
    assert dict(state.pendings) == dict(before.pendings)
    assert effects.created == []
    assert effects.accounts_changed == {}
    assert effects.pendings_changed == {}
    assert dict(state.failed) == {14: R.CREDIT_ACCOUNT_ALREADY_CLOSED}
    assert effects.failed_new == {14: R.CREDIT_ACCOUNT_ALREADY_CLOSED}
    assert apply(state, resolve(15, 5)) == [R.OK]


def test_a_failed_chain_does_not_affect_independent_events_around_it() -> None:
    state = funded()
    assert apply(
        state,
        transfer(10, 1, 2, 5),
        transfer(11, 1, 2, 5, flags=F.LINKED),
        transfer(12, 1, 2, 500),
        transfer(13, 1, 2, 7),
    ) == [R.OK, R.LINKED_EVENT_FAILED, R.EXCEEDS_CREDITS, R.OK]
    assert counters(state, 1) == (0, 12, 0, 100)


def test_only_the_first_failure_in_a_chain_is_reported() -> None:
    state = funded()
    assert apply(
        state,
        transfer(10, 1, 2, 500, flags=F.LINKED),  # fails first
        transfer(11, 1, 99, 5),  # would fail too (credit account not found)
    ) == [R.EXCEEDS_CREDITS, R.LINKED_EVENT_FAILED]
    assert set(state.failed) == {10}


def test_a_chain_still_open_at_the_end_of_the_batch_fails() -> None:
    state = funded()
    assert apply(state, transfer(10, 1, 2, 5), transfer(11, 1, 2, 5, flags=F.LINKED)) == [
        R.OK,
        R.LINKED_EVENT_CHAIN_OPEN,
    ]
    assert apply(
        state, transfer(12, 1, 2, 5, flags=F.LINKED), transfer(13, 1, 2, 5, flags=F.LINKED)
    ) == [
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_CHAIN_OPEN,
    ]
    assert counters(state, 1) == (0, 5, 0, 100)


def test_an_open_chain_reports_chain_open_even_after_an_earlier_failure() -> None:
    state = funded()
    assert apply(
        state,
        transfer(10, 1, 2, 500, flags=F.LINKED),
        transfer(11, 1, 2, 5, flags=F.LINKED),
        transfer(12, 1, 2, 5, flags=F.LINKED),
    ) == [R.EXCEEDS_CREDITS, R.LINKED_EVENT_FAILED, R.LINKED_EVENT_CHAIN_OPEN]


def test_events_in_a_chain_see_the_effects_of_earlier_ones() -> None:
    state = funded()
    assert apply(
        state,
        transfer(10, 2, 1, 50, flags=F.LINKED),  # account 1 now has 150
        transfer(11, 1, 2, 120, flags=F.LINKED | F.PENDING),
        resolve(12, 11, 100),
    ) == [R.OK, R.OK, R.OK]
    assert counters(state, 1) == (0, 100, 0, 150)


def test_a_hold_made_in_a_failed_chain_cannot_be_resolved() -> None:
    state = funded()
    assert apply(
        state, transfer(10, 1, 2, 5, flags=F.LINKED | F.PENDING), transfer(11, 1, 2, 500)
    ) == [R.LINKED_EVENT_FAILED, R.EXCEEDS_CREDITS]
    assert apply(state, resolve(12, 10)) == [R.PENDING_TRANSFER_NOT_FOUND]
    assert 10 not in state.pendings


# Idempotency


def test_a_retry_with_the_same_body_answers_exists_and_changes_nothing() -> None:
    state = funded()
    first = transfer(10, 1, 2, 30)
    assert apply(state, first) == [R.OK]
    before = dict(state.accounts)
    effects = core.apply_transfers([first, first], state, NOW + 1)
    assert [o.result for o in effects.outcomes] == [R.EXISTS, R.EXISTS]
    assert effects.created == []
    assert dict(state.accounts) == before
    assert state.transfers[10].timestamp_ns == NOW


@pytest.mark.parametrize(
    "retry",
    [
        transfer(10, 1, 2, 31),
        transfer(10, 3, 2, 30),
        transfer(10, 1, 3, 30),
        transfer(10, 1, 2, 30, code=CODE + 1),
        transfer(10, 1, 2, 30, ledger=OTHER_LEDGER),
        transfer(10, 1, 2, 30, flags=F.PENDING),
        transfer(10, 1, 2, 30, flags=F.BALANCING_DEBIT),
        transfer(10, 1, 2, 30, user_data_64=1),
        transfer(10, 1, 2, 30, timeout_s=1),
        transfer(10, 1, 2, 30, pending_id=5),
        dataclasses.replace(transfer(10, 1, 2, 30), user_data_32=1),
    ],
)
def test_a_retry_with_a_different_body_answers_exists_with_different_fields(
    retry: NewTransfer,
) -> None:
    state = funded()
    assert apply(state, transfer(10, 1, 2, 30)) == [R.OK]
    assert apply(state, retry) == [R.EXISTS_WITH_DIFFERENT_FIELDS]
    assert counters(state, 1) == (0, 30, 0, 100)


def test_an_id_that_failed_on_the_ledger_state_keeps_failing() -> None:
    state = funded()
    first = transfer(10, 1, 2, 500)
    assert apply(state, first) == [R.EXCEEDS_CREDITS]
    assert state.failed == {10: R.EXCEEDS_CREDITS}
    apply(state, transfer(11, 2, 1, 1000))  # now there would be enough
    assert apply(state, first) == [R.ID_ALREADY_FAILED]
    assert apply(state, transfer(10, 1, 2, 1)) == [R.ID_ALREADY_FAILED]
    assert counters(state, 1) == (0, 0, 0, 1100)


@pytest.mark.parametrize("result", sorted(TRANSIENT_FAILURES))
def test_every_transient_failure_is_remembered(result: R) -> None:
    state = funded()
    state.accounts[6] = account(6, flags=A.CLOSED)
    event = {
        R.DEBIT_ACCOUNT_NOT_FOUND: transfer(10, 98, 1),
        R.CREDIT_ACCOUNT_NOT_FOUND: transfer(10, 1, 98),
        R.PENDING_TRANSFER_NOT_FOUND: resolve(10, 97),
        R.DEBIT_ACCOUNT_ALREADY_CLOSED: transfer(10, 6, 1),
        R.CREDIT_ACCOUNT_ALREADY_CLOSED: transfer(10, 1, 6),
        R.EXCEEDS_CREDITS: transfer(10, 1, 2, 101),
        R.EXCEEDS_DEBITS: transfer(10, 2, 3, 41),
    }[result]
    effects = core.apply_transfers([event], state, NOW)
    assert [o.result for o in effects.outcomes] == [result]
    assert effects.failed_new == {10: result}
    assert apply(state, event) == [R.ID_ALREADY_FAILED]


def test_a_failure_that_depends_only_on_the_body_is_not_remembered() -> None:
    state = funded()
    apply(state, transfer(5, 1, 2, 10, flags=F.PENDING))
    assert apply(state, resolve(10, 5, 11)) == [R.EXCEEDS_PENDING_TRANSFER_AMOUNT]
    assert state.failed == {}
    assert apply(state, resolve(10, 5, 10)) == [R.OK]


def test_post_and_void_retries_compare_zero_fields_as_inherited() -> None:
    state = funded()
    apply(state, transfer(5, 1, 2, 10, flags=F.PENDING), transfer(6, 1, 2, 20, flags=F.PENDING))
    assert apply(state, resolve(10, 5), resolve(11, 6, void=True)) == [R.OK, R.OK]
    assert (
        apply(
            state,
            resolve(10, 5),
            resolve(10, 5, 10, debit=1, credit=2, ledger=LEDGER, code=CODE),
            resolve(10, 5, 10),
            resolve(11, 6, void=True),
            resolve(11, 6, 20, void=True, debit=1),
        )
        == [R.EXISTS] * 5
    )
    assert (
        apply(
            state,
            resolve(10, 5, 9),
            resolve(10, 5, debit=3),
            resolve(10, 5, code=CODE + 1),
            resolve(10, 6),
            resolve(10, 5, void=True),
            resolve(11, 6, 19, void=True),
            resolve(11, 6, void=True, ledger=OTHER_LEDGER),
        )
        == [R.EXISTS_WITH_DIFFERENT_FIELDS] * 7
    )


def test_a_partial_post_retried_as_a_full_post_has_different_fields() -> None:
    state = funded()
    apply(state, transfer(5, 1, 2, 10, flags=F.PENDING))
    assert apply(state, resolve(10, 5, 4)) == [R.OK]
    assert apply(state, resolve(10, 5, 4)) == [R.EXISTS]
    assert apply(state, resolve(10, 5)) == [R.EXISTS_WITH_DIFFERENT_FIELDS]
    assert apply(state, resolve(10, 5, 10)) == [R.EXISTS_WITH_DIFFERENT_FIELDS]


def test_a_balancing_retry_matches_when_its_bound_covers_the_recorded_amount() -> None:
    state = funded()
    assert apply(state, transfer(10, 1, 2, 1000, flags=F.BALANCING_DEBIT)) == [R.OK]
    assert state.transfers[10].amount == 100
    assert (
        apply(
            state,
            transfer(10, 1, 2, 1000, flags=F.BALANCING_DEBIT),
            transfer(10, 1, 2, 100, flags=F.BALANCING_DEBIT),
            transfer(10, 1, 2, AMOUNT_MAX, flags=F.BALANCING_DEBIT),
        )
        == [R.EXISTS] * 3
    )
    assert apply(state, transfer(10, 1, 2, 99, flags=F.BALANCING_DEBIT)) == [
        R.EXISTS_WITH_DIFFERENT_FIELDS
    ]


def test_a_duplicate_id_within_one_batch_is_created_once() -> None:
    state = funded()
    assert apply(state, transfer(10, 1, 2, 5), transfer(10, 1, 2, 5), transfer(10, 1, 2, 6)) == [
        R.OK,
        R.EXISTS,
        R.EXISTS_WITH_DIFFERENT_FIELDS,
    ]
    assert counters(state, 1) == (0, 5, 0, 100)


def test_exists_counts_as_success_inside_a_chain() -> None:
    state = funded()
    chain = [transfer(10, 1, 2, 1, flags=F.LINKED), transfer(11, 1, 2, 2)]
    assert apply(state, *chain) == [R.OK, R.OK]
    assert apply(state, *chain) == [R.EXISTS, R.EXISTS]
    assert apply(state, chain[0], transfer(12, 1, 2, 4)) == [R.EXISTS, R.OK]
    assert counters(state, 1) == (0, 7, 0, 100)


# Every result code, one case each


def _hold_state() -> core.LedgerState:
    state = funded()
    state.accounts[4] = account(4, flags=CREDITS_LIMITED, debits_posted=5)
    state.accounts[5] = account(5, debits_posted=AMOUNT_MAX - 3, credits_posted=AMOUNT_MAX - 3)
    apply(
        state,
        transfer(50, 1, 2, 10, flags=F.PENDING, timeout_s=10),  # open hold
        transfer(51, 1, 2, 10, flags=F.PENDING),  # posted below
        transfer(52, 1, 2, 10, flags=F.PENDING),  # voided below
        transfer(53, 1, 2, 10, flags=F.PENDING, timeout_s=1),  # expires
        transfer(54, 1, 2, 1),  # not a hold
        transfer(55, 1, 2, 0, flags=F.PENDING),  # open hold; account 1 closed below
        transfer(56, 2, 1, 0, flags=F.PENDING),  # open hold; account 1 closed below
        resolve(57, 51),
        resolve(58, 52, void=True),
        transfer(59, 1, 2, 0, flags=F.PENDING | F.CLOSING_DEBIT),
    )
    return state


LATER = NOW + 2 * NS_PER_S  # hold 53 has expired, hold 50 has not
CASES: list[tuple[str, NewTransfer, R]] = [
    ("plain", transfer(100, 2, 3, 1), R.OK),
    ("id zero", transfer(0, 2, 3, 1), R.ID_MUST_NOT_BE_ZERO),
    ("known id, other body", transfer(54, 1, 2, 2), R.EXISTS_WITH_DIFFERENT_FIELDS),
    ("known id, same body", transfer(54, 1, 2, 1), R.EXISTS),
    (
        "post and void",
        resolve(100, 50, flags=F.VOID_PENDING_TRANSFER),
        R.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
    ),
    ("post and pending", resolve(100, 50, flags=F.PENDING), R.FLAGS_ARE_MUTUALLY_EXCLUSIVE),
    (
        "void and balancing",
        resolve(100, 50, void=True, flags=F.BALANCING_DEBIT),
        R.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
    ),
    ("post and closing", resolve(100, 50, flags=F.CLOSING_CREDIT), R.FLAGS_ARE_MUTUALLY_EXCLUSIVE),
    ("debit zero", transfer(100, 0, 3), R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO),
    ("credit zero", transfer(100, 2, 0), R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO),
    ("same accounts", transfer(100, 2, 2), R.ACCOUNTS_MUST_BE_DIFFERENT),
    ("pending id on plain", transfer(100, 2, 3, pending_id=50), R.PENDING_ID_MUST_BE_ZERO),
    ("post without pending id", resolve(100, 0), R.PENDING_ID_MUST_NOT_BE_ZERO),
    ("post of itself", resolve(100, 100), R.PENDING_ID_MUST_BE_DIFFERENT),
    ("timeout on plain", transfer(100, 2, 3, timeout_s=1), R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER),
    ("timeout on post", resolve(100, 50, timeout_s=1), R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER),
    (
        "closing not pending",
        transfer(100, 2, 3, flags=F.CLOSING_DEBIT),
        R.CLOSING_TRANSFER_MUST_BE_PENDING,
    ),
    ("ledger zero", transfer(100, 2, 3, ledger=0), R.LEDGER_MUST_NOT_BE_ZERO),
    ("code zero", transfer(100, 2, 3, code=0), R.CODE_MUST_NOT_BE_ZERO),
    ("unknown debit", transfer(100, 98, 3), R.DEBIT_ACCOUNT_NOT_FOUND),
    ("unknown credit", transfer(100, 2, 98), R.CREDIT_ACCOUNT_NOT_FOUND),
    ("accounts in two ledgers", transfer(100, 2, 9), R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER),
    (
        "transfer in another ledger",
        transfer(100, 2, 3, ledger=OTHER_LEDGER),
        R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS,
    ),
    ("unknown hold", resolve(100, 97), R.PENDING_TRANSFER_NOT_FOUND),
    ("not a hold", resolve(100, 54), R.PENDING_TRANSFER_NOT_PENDING),
    ("other debit", resolve(100, 50, debit=2), R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID),
    (
        "other credit",
        resolve(100, 50, credit=1),
        R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID,
    ),
    (
        "other ledger",
        resolve(100, 50, ledger=OTHER_LEDGER),
        R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER,
    ),
    ("other code", resolve(100, 50, code=CODE + 1), R.PENDING_TRANSFER_HAS_DIFFERENT_CODE),
    ("post too much", resolve(100, 50, 11), R.EXCEEDS_PENDING_TRANSFER_AMOUNT),
    ("void other amount", resolve(100, 50, 3, void=True), R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT),
    ("post posted", resolve(100, 51), R.PENDING_TRANSFER_ALREADY_POSTED),
    ("void voided", resolve(100, 52, void=True), R.PENDING_TRANSFER_ALREADY_VOIDED),
    ("post expired", resolve(100, 53), R.PENDING_TRANSFER_EXPIRED),
    ("debit closed", transfer(100, 1, 3, 1), R.DEBIT_ACCOUNT_ALREADY_CLOSED),
    ("credit closed", transfer(100, 2, 1, 1), R.CREDIT_ACCOUNT_ALREADY_CLOSED),
    ("post from closed", resolve(100, 55), R.DEBIT_ACCOUNT_ALREADY_CLOSED),
    ("post to closed", resolve(100, 56), R.CREDIT_ACCOUNT_ALREADY_CLOSED),
    ("overflow debits", transfer(100, 5, 2, 4), R.OVERFLOWS_DEBITS),
    ("overflow credits", transfer(100, 2, 5, 4), R.OVERFLOWS_CREDITS),
    (
        "overflow timeout",
        transfer(100, 2, 3, flags=F.PENDING, timeout_s=2**63 // NS_PER_S),
        R.OVERFLOWS_TIMEOUT,
    ),
    ("overdraw limited", transfer(100, 2, 4, 6), R.EXCEEDS_DEBITS),
    ("hold too much", transfer(100, 3, 4, 6, flags=F.PENDING), R.EXCEEDS_DEBITS),
]


@pytest.mark.parametrize(("event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_result_code(event: NewTransfer, expected: R) -> None:
    state = _hold_state()
    assert apply(state, event, now_ns=LATER) == [expected]


def test_exceeds_credits_and_the_chain_codes_arise() -> None:
    state = _hold_state()
    state.accounts[6] = account(6, flags=DEBITS_LIMITED, credits_posted=3)
    assert apply(
        state,
        transfer(100, 6, 2, 4, flags=F.LINKED),
        transfer(101, 6, 2, 1),
        transfer(102, 6, 2, 1, flags=F.LINKED),
    ) == [R.EXCEEDS_CREDITS, R.LINKED_EVENT_FAILED, R.LINKED_EVENT_CHAIN_OPEN]
    assert apply(state, transfer(100, 6, 2, 4)) == [R.ID_ALREADY_FAILED]


def test_the_cases_cover_every_result_code() -> None:
    covered = {c[2] for c in CASES} | {
        R.EXCEEDS_CREDITS,
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_CHAIN_OPEN,
        R.ID_ALREADY_FAILED,
    }
    assert covered == set(R)


# Precedence


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (transfer(0, 0, 0, ledger=0), R.ID_MUST_NOT_BE_ZERO),
        (transfer(100, 0, 0, ledger=0, code=0), R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO),
        (transfer(100, 2, 2, ledger=0), R.ACCOUNTS_MUST_BE_DIFFERENT),
        (transfer(100, 98, 99, ledger=0), R.LEDGER_MUST_NOT_BE_ZERO),
        (transfer(100, 98, 99), R.DEBIT_ACCOUNT_NOT_FOUND),
        (transfer(100, 2, 9, ledger=OTHER_LEDGER), R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER),
        (transfer(100, 1, 4, 1000), R.DEBIT_ACCOUNT_ALREADY_CLOSED),
        # Overflows come before limits, and the timeout overflow between them.
        (transfer(100, 5, 4, 10), R.OVERFLOWS_DEBITS),
        (transfer(100, 3, 5, 50), R.OVERFLOWS_CREDITS),
        (
            transfer(100, 5, 2, 10, flags=F.PENDING, timeout_s=2**63 // NS_PER_S),
            R.OVERFLOWS_DEBITS,
        ),
        (
            transfer(100, 3, 4, 50, flags=F.PENDING, timeout_s=2**63 // NS_PER_S),
            R.OVERFLOWS_TIMEOUT,
        ),
        (transfer(100, 3, 4, 50), R.EXCEEDS_CREDITS),
        (resolve(100, 51, 11, debit=2), R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID),
        (resolve(100, 51, 11), R.EXCEEDS_PENDING_TRANSFER_AMOUNT),
        (resolve(100, 53, 3, void=True), R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT),
        (resolve(0, 0, flags=F.VOID_PENDING_TRANSFER), R.ID_MUST_NOT_BE_ZERO),
        (resolve(100, 0, flags=F.VOID_PENDING_TRANSFER), R.FLAGS_ARE_MUTUALLY_EXCLUSIVE),
        (resolve(54, 97), R.EXISTS_WITH_DIFFERENT_FIELDS),
    ],
)
def test_precedence_when_several_rules_fail(event: NewTransfer, expected: R) -> None:
    state = _hold_state()
    state.accounts[3] = account(3, flags=DEBITS_LIMITED, credits_posted=20)
    assert apply(state, event, now_ns=LATER) == [expected]


def test_an_expired_hold_is_reported_before_a_closed_account() -> None:
    state = funded()
    apply(state, transfer(10, 1, 2, 0, flags=F.PENDING, timeout_s=1))
    apply(state, transfer(11, 1, 2, 0, flags=F.PENDING | F.CLOSING_DEBIT))
    assert apply(state, resolve(12, 10), now_ns=NOW + 5 * NS_PER_S) == [R.PENDING_TRANSFER_EXPIRED]


# Accounts


def new_account(
    account_id: int,
    *,
    ledger: int = LEDGER,
    code: int = CODE,
    flags: AccountFlags = A.NONE,
    user_data_64: int = 0,
) -> NewAccount:
    return NewAccount(
        id=account_id, ledger=ledger, code=code, flags=flags, user_data_64=user_data_64
    )


def test_apply_accounts_results_and_timestamps() -> None:
    existing: dict[int, Account] = {}
    batch = [
        new_account(1, flags=DEBITS_LIMITED),
        new_account(0),
        new_account(2, flags=A.CLOSED),
        new_account(3, flags=DEBITS_LIMITED | CREDITS_LIMITED),
        new_account(4, ledger=0),
        new_account(5, code=0),
        new_account(6, ledger=OTHER_LEDGER + 1),
        new_account(1, flags=DEBITS_LIMITED),
        new_account(1),
        new_account(7, ledger=OTHER_LEDGER, flags=CREDITS_LIMITED, user_data_64=9),
    ]
    outcomes, created = core.apply_accounts(batch, existing, frozenset({LEDGER, OTHER_LEDGER}), NOW)

    assert [o.result for o in outcomes] == [
        CA.OK,
        CA.ID_MUST_NOT_BE_ZERO,
        CA.RESERVED_FLAG,
        CA.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
        CA.LEDGER_MUST_NOT_BE_ZERO,
        CA.CODE_MUST_NOT_BE_ZERO,
        CA.LEDGER_NOT_FOUND,
        CA.EXISTS,
        CA.EXISTS_WITH_DIFFERENT_FIELDS,
        CA.OK,
    ]
    assert [o.index for o in outcomes] == list(range(len(batch)))
    assert [a.id for a in created] == [1, 7]
    assert [a.timestamp_ns for a in created] == [NOW, NOW + 9]
    assert existing[7] == Account(
        7, OTHER_LEDGER, CODE, CREDITS_LIMITED, None, 9, 0, 0, 0, 0, 0, NOW + 9
    )


def test_an_existing_closed_account_still_matches_its_creation_request() -> None:
    existing = {1: account(1, flags=DEBITS_LIMITED | A.CLOSED)}
    outcomes, created = core.apply_accounts(
        [new_account(1, flags=DEBITS_LIMITED), new_account(1, flags=DEBITS_LIMITED | A.CLOSED)],
        existing,
        frozenset({LEDGER}),
        NOW,
    )
    assert [o.result for o in outcomes] == [
        CreateAccountResult.EXISTS,
        CreateAccountResult.EXISTS_WITH_DIFFERENT_FIELDS,
    ]
    assert created == []


def test_exists_is_decided_before_the_fields_are_validated() -> None:
    existing = {1: account(1)}
    outcomes, _ = core.apply_accounts(
        [new_account(1, ledger=0), new_account(1, flags=DEBITS_LIMITED | CREDITS_LIMITED)],
        existing,
        frozenset({LEDGER}),
        NOW,
    )
    assert {o.result for o in outcomes} == {CreateAccountResult.EXISTS_WITH_DIFFERENT_FIELDS}


# Differential: the core against the independent model

ACCOUNT_IDS = list(range(1, 6))
HOLD_IDS = st.integers(1, 6)  # pending transfers take these ids, so posts and voids find them
OTHER_IDS = st.integers(7, 30)
SMALL_AMOUNTS = st.integers(0, 60)
HUGE_TIMEOUT_S = 2**63 // NS_PER_S


@st.composite
def accounts_strategy(draw: st.DrawFn) -> list[Account]:
    made = []
    for account_id in ACCOUNT_IDS:
        flags = draw(st.sampled_from([A.NONE, DEBITS_LIMITED, DEBITS_LIMITED, CREDITS_LIMITED]))
        if draw(st.integers(0, 9)) == 0:
            flags |= A.CLOSED
        near_max = account_id == 5 and draw(st.booleans())
        base = AMOUNT_MAX - 100 if near_max else 0
        debits = base + draw(st.integers(0, 100))
        credits = base + draw(st.integers(0, 100))
        if flags & DEBITS_LIMITED:
            credits = max(credits, debits + draw(st.integers(0, 100)))
        if flags & CREDITS_LIMITED:
            debits = max(credits, debits) + draw(st.integers(0, 50))
        ledger = OTHER_LEDGER if account_id == 4 and draw(st.integers(0, 3)) == 0 else LEDGER
        made.append(
            account(
                account_id, flags=flags, ledger=ledger, debits_posted=debits, credits_posted=credits
            )
        )
    return made


@st.composite
def event_strategy(draw: st.DrawFn, kinds: tuple[str, ...] = ()) -> NewTransfer:
    """Mostly well-formed events of every kind; about one in four has one field spoiled."""
    kind = draw(
        st.sampled_from(
            kinds or ("plain", "pending", "pending", "post", "post", "void", "balancing")
        )
    )
    debit, credit = draw(st.permutations(ACCOUNT_IDS))[:2]
    flags = {
        "plain": F.NONE,
        "pending": F.PENDING
        | draw(st.sampled_from([F.NONE] * 6 + [F.CLOSING_DEBIT, F.CLOSING_CREDIT])),
        "post": F.POST_PENDING_TRANSFER,
        "void": F.VOID_PENDING_TRANSFER,
        "balancing": draw(st.sampled_from([F.BALANCING_DEBIT, F.BALANCING_CREDIT])),
    }[kind]
    if draw(st.integers(0, 5)) == 0:
        flags |= F.LINKED
    event = NewTransfer(
        id=draw(HOLD_IDS if kind == "pending" else OTHER_IDS),
        debit_account_id=debit,
        credit_account_id=credit,
        amount=draw(SMALL_AMOUNTS),
        ledger=LEDGER,
        code=CODE,
        flags=flags,
        timeout_s=draw(st.sampled_from([0, 1, 3])) if kind == "pending" else 0,
    )
    if kind in ("post", "void"):
        event = dataclasses.replace(
            event,
            pending_id=draw(HOLD_IDS),
            amount=draw(st.one_of(st.just(AMOUNT_MAX), st.just(0), SMALL_AMOUNTS)),
            debit_account_id=0,
            credit_account_id=0,
            ledger=0,
            code=0,
        )
    if kind == "balancing":
        event = dataclasses.replace(event, amount=draw(st.sampled_from([AMOUNT_MAX, 30])))
    if draw(st.integers(0, 3)) == 0:
        spoiled = draw(
            st.sampled_from(
                [
                    "id",
                    "debit_account_id",
                    "credit_account_id",
                    "amount",
                    "ledger",
                    "code",
                    "flags",
                    "pending_id",
                    "timeout_s",
                    "user_data_64",
                ]
            )
        )
        value = {
            "id": st.sampled_from([0, 1]),
            "debit_account_id": st.sampled_from([0, 99, *ACCOUNT_IDS]),
            "credit_account_id": st.sampled_from([0, 99, *ACCOUNT_IDS]),
            "amount": st.sampled_from([AMOUNT_MAX, AMOUNT_MAX - 1, 100, 10**6]),
            "ledger": st.sampled_from([0, LEDGER, OTHER_LEDGER]),
            "code": st.sampled_from([0, CODE, CODE + 1]),
            "flags": st.sampled_from(list(F)).map(lambda extra: flags | extra),
            "pending_id": st.sampled_from([0, 1, 2]),
            "timeout_s": st.sampled_from([1, TIMEOUT_S_MAX, HUGE_TIMEOUT_S]),
            "user_data_64": st.just(1),
        }[spoiled]
        change: dict[str, Any] = {spoiled: draw(value)}
        event = dataclasses.replace(event, **change)
    return event


def _model_with(accounts: list[Account]) -> LedgerModel:
    model = LedgerModel()
    for a in accounts:
        model.accounts[a.id] = ModelAccount(
            id=a.id,
            ledger=a.ledger,
            code=a.code,
            flags=a.flags,
            owner_org_id=a.owner_org_id,
            user_data_64=a.user_data_64,
            user_data_32=a.user_data_32,
            timestamp_ns=a.timestamp_ns,
            debits_pending=a.debits_pending,
            debits_posted=a.debits_posted,
            credits_pending=a.credits_pending,
            credits_posted=a.credits_posted,
        )
    return model


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    accounts=accounts_strategy(),
    holds=st.lists(event_strategy(kinds=("pending",)), max_size=6),
    batches=st.lists(
        st.tuples(st.integers(0, 3), st.lists(event_strategy(), min_size=1, max_size=6)),
        min_size=1,
        max_size=6,
    ),
)
def test_the_core_agrees_with_the_model(
    accounts: list[Account],
    holds: list[NewTransfer],
    batches: list[tuple[int, list[NewTransfer]]],
) -> None:
    state = state_of(*accounts)
    model = _model_with(accounts)
    now = NOW
    for seconds, batch in [(0, holds), *batches]:
        if not batch:
            continue
        now += seconds * NS_PER_S
        expected = model.create_transfers(batch, now)
        effects = core.apply_transfers(batch, state, now)
        assert [o.result for o in effects.outcomes] == expected
        for account_id, modelled in model.accounts.items():
            actual = state.accounts[account_id]
            assert (actual.flags, *counters(state, account_id)) == (
                modelled.flags,
                *modelled.counters(),
            )
        assert dict(state.transfers) == model.transfers
        assert {i: (p.status, p.expires_at_ns) for i, p in state.pendings.items()} == {
            i: (h.status, h.expires_at_ns) for i, h in model.holds.items()
        }
        assert dict(state.failed) == model.failed
        created_ids = [t.id for t in effects.created]
        assert created_ids == [o.id for o in effects.outcomes if o.result is R.OK]
        assert all(t == model.transfers[t.id] for t in effects.created)


def test_a_resolution_is_recorded_after_its_hold_even_if_the_clock_stands_still() -> None:
    state = funded()
    apply(state, transfer(9, 1, 2, 1), transfer(10, 1, 2, 30, flags=F.PENDING))
    assert state.transfers[10].timestamp_ns == NOW + 1
    assert apply(state, resolve(11, 10, 5), now_ns=NOW) == [R.OK]
    assert state.transfers[11].timestamp_ns == NOW + 2
    apply(state, transfer(12, 1, 2, 30, flags=F.PENDING), now_ns=NOW + 50)
    assert apply(state, resolve(13, 12, void=True), now_ns=NOW) == [R.OK]
    assert state.transfers[13].timestamp_ns == NOW + 51
    # The expiry check still uses the batch's own time.
    apply(state, transfer(14, 1, 2, 1, flags=F.PENDING, timeout_s=1), now_ns=NOW)
    assert apply(state, resolve(15, 14), now_ns=NOW + NS_PER_S) == [R.PENDING_TRANSFER_EXPIRED]

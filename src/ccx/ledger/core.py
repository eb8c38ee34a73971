"""The ledger's pure core: apply a batch of transfers to in-memory state.

No I/O: the service loads the rows a batch touches, calls `apply_transfers`, and writes back
what it returns. The rules and their precedence follow TigerBeetle's `create_transfers`.
Linked events run on a copy-on-write overlay that is merged only when the whole chain succeeds.
"""

from __future__ import annotations

import dataclasses
from collections import ChainMap
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field

from ccx.clock import NS_PER_S
from ccx.ledger.types import (
    AMOUNT_MAX,
    TRANSIENT_FAILURES,
    Account,
    AccountFlags,
    AccountOutcome,
    CreateAccountResult,
    NewAccount,
    NewTransfer,
    PendingState,
    PendingStatus,
    Transfer,
    TransferFlags,
    TransferOutcome,
)
from ccx.ledger.types import CreateTransferResult as R

F = TransferFlags
POST_OR_VOID = F.POST_PENDING_TRANSFER | F.VOID_PENDING_TRANSFER
BALANCING = F.BALANCING_DEBIT | F.BALANCING_CREDIT
CLOSING = F.CLOSING_DEBIT | F.CLOSING_CREDIT
TIMESTAMP_MAX_NS = 2**63 - 1


@dataclass
class LedgerState:
    """The rows one batch may read, keyed by id. Missing means "not found"."""

    accounts: MutableMapping[int, Account]
    transfers: MutableMapping[int, Transfer]
    pendings: MutableMapping[int, PendingState]
    failed: MutableMapping[int, R]


@dataclass
class BatchEffects:
    """What a batch changes, for the service to write."""

    outcomes: list[TransferOutcome] = field(default_factory=list)
    created: list[Transfer] = field(default_factory=list)
    accounts_changed: dict[int, Account] = field(default_factory=dict)
    pendings_changed: dict[int, PendingState] = field(default_factory=dict)
    failed_new: dict[int, R] = field(default_factory=dict)


class _RejectedError(Exception):
    def __init__(self, result: R) -> None:
        super().__init__(result.value)
        self.result = result


def apply_transfers(batch: Sequence[NewTransfer], state: LedgerState, now_ns: int) -> BatchEffects:
    """Apply `batch` in order; event i gets timestamp now_ns + i. Mutates `state`."""
    assert now_ns >= 0
    effects = BatchEffects()
    index = 0
    while index < len(batch):
        end = _chain_end(batch, index)
        if end == index and not batch[index].flags & F.LINKED:
            _apply_unlinked(batch, index, state, now_ns, effects)
        else:
            _apply_chain(batch, range(index, end + 1), state, now_ns, effects)
        index = end + 1
    assert len(effects.outcomes) == len(batch)
    return effects


def _chain_end(batch: Sequence[NewTransfer], start: int) -> int:
    """Index of the last event of the chain that starts at `start`."""
    end = start
    while batch[end].flags & F.LINKED and end + 1 < len(batch):
        end += 1
    return end


def _apply_chain(
    batch: Sequence[NewTransfer],
    events: range,
    state: LedgerState,
    now_ns: int,
    effects: BatchEffects,
) -> None:
    overlay = LedgerState(
        accounts=ChainMap({}, state.accounts),
        transfers=ChainMap({}, state.transfers),
        pendings=ChainMap({}, state.pendings),
        failed=state.failed,
    )
    created: list[Transfer] = []
    results: list[R] = []
    failure: tuple[int, R] | None = None
    for index in events:
        transfer = batch[index]
        if index == events[-1] and transfer.flags & F.LINKED:
            failure = (index, R.LINKED_EVENT_CHAIN_OPEN)
            break
        result, made = _apply_one(transfer, overlay, now_ns + index)
        if result not in (R.OK, R.EXISTS):
            failure = (index, result)
            break
        results.append(result)
        if made is not None:
            created.append(made)
    if failure is None:
        _merge(overlay, state, effects)
        effects.created.extend(created)
        effects.outcomes.extend(
            TransferOutcome(index, batch[index].id, result)
            for index, result in zip(events, results, strict=True)
        )
        return
    _record_failure(batch, events, failure, state, effects)


def _apply_unlinked(
    batch: Sequence[NewTransfer], index: int, state: LedgerState, now_ns: int, effects: BatchEffects
) -> None:
    """One event outside any chain: no overlay needed, as `_apply_one` only writes on success."""
    transfer = batch[index]
    result, made = _apply_one(transfer, state, now_ns + index)
    if result not in (R.OK, R.EXISTS):
        _record_failure(batch, range(index, index + 1), (index, result), state, effects)
        return
    effects.outcomes.append(TransferOutcome(index, transfer.id, result))
    if made is None:
        return
    effects.created.append(made)
    for account_id in (made.debit_account_id, made.credit_account_id):
        effects.accounts_changed[account_id] = state.accounts[account_id]
    hold_id = made.pending_id or made.id
    if hold_id in state.pendings:
        effects.pendings_changed[hold_id] = state.pendings[hold_id]


def _merge(overlay: LedgerState, state: LedgerState, effects: BatchEffects) -> None:
    for name in ("accounts", "transfers", "pendings"):
        layer = getattr(overlay, name)
        assert isinstance(layer, ChainMap)
        getattr(state, name).update(layer.maps[0])
    effects.accounts_changed.update(overlay.accounts.maps[0])  # type: ignore[attr-defined]
    effects.pendings_changed.update(overlay.pendings.maps[0])  # type: ignore[attr-defined]


def _record_failure(
    batch: Sequence[NewTransfer],
    events: range,
    failure: tuple[int, R],
    state: LedgerState,
    effects: BatchEffects,
) -> None:
    failed_index, result = failure
    for index in events:
        own = result if index == failed_index else R.LINKED_EVENT_FAILED
        if index == len(batch) - 1 and batch[index].flags & F.LINKED:
            own = R.LINKED_EVENT_CHAIN_OPEN  # even when an earlier event broke the chain
        effects.outcomes.append(TransferOutcome(index, batch[index].id, own))
    if result in TRANSIENT_FAILURES:
        failed_id = batch[failed_index].id
        state.failed[failed_id] = result
        effects.failed_new[failed_id] = result


def _apply_one(
    transfer: NewTransfer, state: LedgerState, timestamp_ns: int
) -> tuple[R, Transfer | None]:
    """Apply one transfer; returns its result and the transfer it created (None if it existed)."""
    if transfer.id == 0:
        return R.ID_MUST_NOT_BE_ZERO, None
    existing = state.transfers.get(transfer.id)
    if existing is not None:
        same = _same_as_existing(transfer, existing, state.transfers)
        return (R.EXISTS if same else R.EXISTS_WITH_DIFFERENT_FIELDS), None
    if transfer.id in state.failed:
        return R.ID_ALREADY_FAILED, None
    try:
        if transfer.flags & POST_OR_VOID:
            made = _resolve_pending(transfer, state, timestamp_ns)
        else:
            made = _create_plain_or_pending(transfer, state, timestamp_ns)
    except _RejectedError as rejected:
        return rejected.result, None
    state.transfers[made.id] = made
    return R.OK, made


def _same_as_existing(
    transfer: NewTransfer, existing: Transfer, transfers: Mapping[int, Transfer]
) -> bool:
    """Whether a retry has the stored transfer's body (zero fields inherit on post/void)."""
    if (
        transfer.flags != existing.flags
        or transfer.pending_id != existing.pending_id
        or transfer.timeout_s != existing.timeout_s
        or transfer.user_data_64 != existing.user_data_64
        or transfer.user_data_32 != existing.user_data_32
    ):
        return False
    inherits = bool(transfer.flags & POST_OR_VOID)
    for submitted, stored in (
        (transfer.debit_account_id, existing.debit_account_id),
        (transfer.credit_account_id, existing.credit_account_id),
        (transfer.ledger, existing.ledger),
        (transfer.code, existing.code),
    ):
        if submitted != stored and not (inherits and submitted == 0):
            return False
    return _same_amount(transfer, existing, transfers)


def _same_amount(
    transfer: NewTransfer, existing: Transfer, transfers: Mapping[int, Transfer]
) -> bool:
    if transfer.flags & F.POST_PENDING_TRANSFER and transfer.amount == AMOUNT_MAX:
        # "Post the whole hold" matches only a post that did post the whole hold.
        return existing.amount == transfers[existing.pending_id].amount
    if transfer.flags & F.VOID_PENDING_TRANSFER and transfer.amount == 0:
        return True
    if transfer.flags & BALANCING:
        return transfer.amount >= existing.amount
    return transfer.amount == existing.amount


def _check_flags(flags: TransferFlags) -> None:
    post, void = bool(flags & F.POST_PENDING_TRANSFER), bool(flags & F.VOID_PENDING_TRANSFER)
    if post and void:
        raise _RejectedError(R.FLAGS_ARE_MUTUALLY_EXCLUSIVE)
    if (post or void) and flags & (F.PENDING | BALANCING | CLOSING):
        raise _RejectedError(R.FLAGS_ARE_MUTUALLY_EXCLUSIVE)


def _create_plain_or_pending(
    transfer: NewTransfer, state: LedgerState, timestamp_ns: int
) -> Transfer:
    _check_flags(transfer.flags)
    _check_plain_fields(transfer)
    debit, credit = _load_accounts(transfer, state)
    if debit.flags & AccountFlags.CLOSED:
        raise _RejectedError(R.DEBIT_ACCOUNT_ALREADY_CLOSED)
    if credit.flags & AccountFlags.CLOSED:
        raise _RejectedError(R.CREDIT_ACCOUNT_ALREADY_CLOSED)
    amount = _balanced_amount(transfer, debit, credit)
    pending = bool(transfer.flags & F.PENDING)
    # Precedence: overflow of either account, then of the timeout, then the account limits.
    _check_overflows(debit, credit, amount)
    expires_at_ns = _expiry_ns(transfer, timestamp_ns) if pending else None
    new_debit = _debit(debit, amount, pending=pending)
    new_credit = _credit(credit, amount, pending=pending)
    new_debit, new_credit = _apply_closing(transfer.flags, new_debit, new_credit)
    state.accounts[debit.id] = new_debit
    state.accounts[credit.id] = new_credit
    if pending:
        state.pendings[transfer.id] = PendingState(
            transfer.id, PendingStatus.PENDING, expires_at_ns
        )
    return _stored(transfer, amount=amount, timestamp_ns=timestamp_ns)


def _check_plain_fields(transfer: NewTransfer) -> None:
    if transfer.debit_account_id == 0:
        raise _RejectedError(R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO)
    if transfer.credit_account_id == 0:
        raise _RejectedError(R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO)
    if transfer.debit_account_id == transfer.credit_account_id:
        raise _RejectedError(R.ACCOUNTS_MUST_BE_DIFFERENT)
    if transfer.pending_id != 0:
        raise _RejectedError(R.PENDING_ID_MUST_BE_ZERO)
    if transfer.timeout_s != 0 and not transfer.flags & F.PENDING:
        raise _RejectedError(R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER)
    if transfer.flags & CLOSING and not transfer.flags & F.PENDING:
        raise _RejectedError(R.CLOSING_TRANSFER_MUST_BE_PENDING)
    if transfer.ledger == 0:
        raise _RejectedError(R.LEDGER_MUST_NOT_BE_ZERO)
    if transfer.code == 0:
        raise _RejectedError(R.CODE_MUST_NOT_BE_ZERO)


def _load_accounts(transfer: NewTransfer, state: LedgerState) -> tuple[Account, Account]:
    debit = state.accounts.get(transfer.debit_account_id)
    if debit is None:
        raise _RejectedError(R.DEBIT_ACCOUNT_NOT_FOUND)
    credit = state.accounts.get(transfer.credit_account_id)
    if credit is None:
        raise _RejectedError(R.CREDIT_ACCOUNT_NOT_FOUND)
    if debit.ledger != credit.ledger:
        raise _RejectedError(R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER)
    if transfer.ledger != debit.ledger:
        raise _RejectedError(R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS)
    return debit, credit


def _balanced_amount(transfer: NewTransfer, debit: Account, credit: Account) -> int:
    """The amount to move: `amount`, or less for balancing transfers (never below zero)."""
    amount = transfer.amount
    if transfer.flags & F.BALANCING_DEBIT:
        room = debit.credits_posted - debit.debits_posted - debit.debits_pending
        amount = min(amount, max(0, room))
    if transfer.flags & F.BALANCING_CREDIT:
        room = credit.debits_posted - credit.credits_posted - credit.credits_pending
        amount = min(amount, max(0, room))
    assert 0 <= amount <= transfer.amount
    return amount


def _expiry_ns(transfer: NewTransfer, timestamp_ns: int) -> int | None:
    if transfer.timeout_s == 0:
        return None
    expires_at_ns = timestamp_ns + transfer.timeout_s * NS_PER_S
    if expires_at_ns > TIMESTAMP_MAX_NS:
        raise _RejectedError(R.OVERFLOWS_TIMEOUT)
    return expires_at_ns


def _check_overflows(debit: Account, credit: Account, amount: int) -> None:
    if debit.debits_pending + debit.debits_posted + amount > AMOUNT_MAX:
        raise _RejectedError(R.OVERFLOWS_DEBITS)
    if credit.credits_pending + credit.credits_posted + amount > AMOUNT_MAX:
        raise _RejectedError(R.OVERFLOWS_CREDITS)


def _debit(account: Account, amount: int, *, pending: bool) -> Account:
    if account.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS and (
        account.debits_pending + account.debits_posted + amount > account.credits_posted
    ):
        raise _RejectedError(R.EXCEEDS_CREDITS)
    if pending:
        return dataclasses.replace(account, debits_pending=account.debits_pending + amount)
    return dataclasses.replace(account, debits_posted=account.debits_posted + amount)


def _credit(account: Account, amount: int, *, pending: bool) -> Account:
    if account.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS and (
        account.credits_pending + account.credits_posted + amount > account.debits_posted
    ):
        raise _RejectedError(R.EXCEEDS_DEBITS)
    if pending:
        return dataclasses.replace(account, credits_pending=account.credits_pending + amount)
    return dataclasses.replace(account, credits_posted=account.credits_posted + amount)


def _apply_closing(
    flags: TransferFlags, debit: Account, credit: Account
) -> tuple[Account, Account]:
    if flags & F.CLOSING_DEBIT:
        debit = dataclasses.replace(debit, flags=debit.flags | AccountFlags.CLOSED)
    if flags & F.CLOSING_CREDIT:
        credit = dataclasses.replace(credit, flags=credit.flags | AccountFlags.CLOSED)
    return debit, credit


def _resolve_pending(transfer: NewTransfer, state: LedgerState, timestamp_ns: int) -> Transfer:
    _check_flags(transfer.flags)
    pending = _load_pending(transfer, state)
    posting = bool(transfer.flags & F.POST_PENDING_TRANSFER)
    amount = _resolution_amount(transfer, pending, posting=posting)
    _check_pending_status(state.pendings[pending.id], timestamp_ns)
    debit = state.accounts[pending.debit_account_id]
    credit = state.accounts[pending.credit_account_id]
    if posting and debit.flags & AccountFlags.CLOSED:
        raise _RejectedError(R.DEBIT_ACCOUNT_ALREADY_CLOSED)
    if posting and credit.flags & AccountFlags.CLOSED:
        raise _RejectedError(R.CREDIT_ACCOUNT_ALREADY_CLOSED)
    posted = amount if posting else 0
    state.accounts[debit.id] = _release_hold(debit, pending, posted, side="debit")
    state.accounts[credit.id] = _release_hold(credit, pending, posted, side="credit")
    status = PendingStatus.POSTED if posting else PendingStatus.VOIDED
    state.pendings[pending.id] = dataclasses.replace(state.pendings[pending.id], status=status)
    return Transfer(
        id=transfer.id,
        debit_account_id=pending.debit_account_id,
        credit_account_id=pending.credit_account_id,
        amount=amount,
        ledger=pending.ledger,
        code=pending.code,
        flags=transfer.flags,
        pending_id=pending.id,
        timeout_s=0,
        user_data_64=transfer.user_data_64,
        user_data_32=transfer.user_data_32,
        # After its hold even if the clock stepped back: the journal stays in causal order.
        timestamp_ns=max(timestamp_ns, pending.timestamp_ns + 1),
    )


def _load_pending(transfer: NewTransfer, state: LedgerState) -> Transfer:
    if transfer.pending_id == 0:
        raise _RejectedError(R.PENDING_ID_MUST_NOT_BE_ZERO)
    if transfer.pending_id == transfer.id:
        raise _RejectedError(R.PENDING_ID_MUST_BE_DIFFERENT)
    if transfer.timeout_s != 0:
        raise _RejectedError(R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER)
    pending = state.transfers.get(transfer.pending_id)
    if pending is None:
        raise _RejectedError(R.PENDING_TRANSFER_NOT_FOUND)
    if not pending.flags & F.PENDING:
        raise _RejectedError(R.PENDING_TRANSFER_NOT_PENDING)
    for submitted, actual, mismatch in (
        (
            transfer.debit_account_id,
            pending.debit_account_id,
            R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID,
        ),
        (
            transfer.credit_account_id,
            pending.credit_account_id,
            R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID,
        ),
        (transfer.ledger, pending.ledger, R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER),
        (transfer.code, pending.code, R.PENDING_TRANSFER_HAS_DIFFERENT_CODE),
    ):
        if submitted not in (0, actual):
            raise _RejectedError(mismatch)
    return pending


def _resolution_amount(transfer: NewTransfer, pending: Transfer, *, posting: bool) -> int:
    if posting:
        if transfer.amount == AMOUNT_MAX:
            return pending.amount
        if transfer.amount > pending.amount:
            raise _RejectedError(R.EXCEEDS_PENDING_TRANSFER_AMOUNT)
        return transfer.amount
    if transfer.amount not in (0, pending.amount):
        raise _RejectedError(R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT)
    return pending.amount


def _check_pending_status(pending_state: PendingState, now_ns: int) -> None:
    if pending_state.status is PendingStatus.POSTED:
        raise _RejectedError(R.PENDING_TRANSFER_ALREADY_POSTED)
    if pending_state.status is PendingStatus.VOIDED:
        raise _RejectedError(R.PENDING_TRANSFER_ALREADY_VOIDED)
    if pending_state.status is PendingStatus.EXPIRED:
        raise _RejectedError(R.PENDING_TRANSFER_EXPIRED)
    if pending_state.expires_at_ns is not None and now_ns >= pending_state.expires_at_ns:
        raise _RejectedError(R.PENDING_TRANSFER_EXPIRED)


def _release_hold(account: Account, pending: Transfer, posted: int, *, side: str) -> Account:
    """Take the hold off one side, post `posted` of it, and reopen a closing account on void."""
    flags = account.flags
    closing_flag = F.CLOSING_DEBIT if side == "debit" else F.CLOSING_CREDIT
    if posted == 0 and pending.flags & closing_flag:
        flags &= ~AccountFlags.CLOSED
    if side == "debit":
        assert account.debits_pending >= pending.amount
        return dataclasses.replace(
            account,
            flags=flags,
            debits_pending=account.debits_pending - pending.amount,
            debits_posted=account.debits_posted + posted,
        )
    assert account.credits_pending >= pending.amount
    return dataclasses.replace(
        account,
        flags=flags,
        credits_pending=account.credits_pending - pending.amount,
        credits_posted=account.credits_posted + posted,
    )


def _stored(transfer: NewTransfer, *, amount: int, timestamp_ns: int) -> Transfer:
    return Transfer(
        id=transfer.id,
        debit_account_id=transfer.debit_account_id,
        credit_account_id=transfer.credit_account_id,
        amount=amount,
        ledger=transfer.ledger,
        code=transfer.code,
        flags=transfer.flags,
        pending_id=transfer.pending_id,
        timeout_s=transfer.timeout_s,
        user_data_64=transfer.user_data_64,
        user_data_32=transfer.user_data_32,
        timestamp_ns=timestamp_ns,
    )


def expire_hold(accounts: Mapping[int, Account], pending: Transfer) -> tuple[Account, Account]:
    """The two accounts after a timed-out hold returns its amount (and reopens a closing one)."""
    debit = _release_hold(accounts[pending.debit_account_id], pending, 0, side="debit")
    credit = _release_hold(accounts[pending.credit_account_id], pending, 0, side="credit")
    return debit, credit


def apply_accounts(
    batch: Sequence[NewAccount],
    existing: MutableMapping[int, Account],
    ledger_ids: frozenset[int],
    now_ns: int,
) -> tuple[list[AccountOutcome], list[Account]]:
    """Create accounts; existing ones answer `exists` or `exists_with_different_fields`."""
    outcomes: list[AccountOutcome] = []
    created: list[Account] = []
    for index, new in enumerate(batch):
        result = _account_result(new, existing, ledger_ids)
        if result is CreateAccountResult.OK and new.id not in existing:
            account = _new_account(new, now_ns + index)
            existing[new.id] = account
            created.append(account)
        outcomes.append(AccountOutcome(index, new.id, result))
    return outcomes, created


def _account_result(
    new: NewAccount, existing: Mapping[int, Account], ledger_ids: frozenset[int]
) -> CreateAccountResult:
    if new.id == 0:
        return CreateAccountResult.ID_MUST_NOT_BE_ZERO
    found = existing.get(new.id)
    if found is not None:
        same = (
            found.ledger,
            found.code,
            found.flags & ~AccountFlags.CLOSED,
            found.owner_org_id,
            found.user_data_64,
            found.user_data_32,
        ) == (new.ledger, new.code, new.flags, new.owner_org_id, new.user_data_64, new.user_data_32)
        if same:
            return CreateAccountResult.EXISTS
        return CreateAccountResult.EXISTS_WITH_DIFFERENT_FIELDS
    if new.flags & AccountFlags.CLOSED:
        return CreateAccountResult.RESERVED_FLAG
    both = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    if new.flags & both == both:
        return CreateAccountResult.FLAGS_ARE_MUTUALLY_EXCLUSIVE
    if new.ledger == 0:
        return CreateAccountResult.LEDGER_MUST_NOT_BE_ZERO
    if new.code == 0:
        return CreateAccountResult.CODE_MUST_NOT_BE_ZERO
    if new.ledger not in ledger_ids:
        return CreateAccountResult.LEDGER_NOT_FOUND
    return CreateAccountResult.OK


def _new_account(new: NewAccount, timestamp_ns: int) -> Account:
    return Account(
        id=new.id,
        ledger=new.ledger,
        code=new.code,
        flags=new.flags,
        owner_org_id=new.owner_org_id,
        user_data_64=new.user_data_64,
        user_data_32=new.user_data_32,
        debits_pending=0,
        debits_posted=0,
        credits_pending=0,
        credits_posted=0,
        timestamp_ns=timestamp_ns,
    )

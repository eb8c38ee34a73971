"""An in-memory reference model of the ledger, written from the specification alone.

It shares only the value types with `ccx.ledger` (flags, result codes, `NewTransfer`,
`Transfer`), never the core's code. Tests feed the same requests to the model and to the real
service and require identical results and balances.

Rules (TigerBeetle's model):

- An event in a batch gets the timestamp `now_ns + index`; a post or void is recorded no
  earlier than one nanosecond after its hold (so the journal stays in causal order).
- Events flagged `linked` chain with the next one; a chain succeeds or fails as one. The first
  failing event gets its own result and the others `linked_event_failed`; the last event of a
  chain still open at the end of the batch gets `linked_event_chain_open`. Within a chain, an
  event answered `exists` counts as a success.
- The id is the idempotency key: a known id answers `exists` when the body matches the stored
  transfer and `exists_with_different_fields` otherwise; an id whose first attempt failed on the
  ledger's state (`TRANSIENT_FAILURES`) answers `id_already_failed`.
- Checks run in the order of `CreateTransferResult`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ccx.clock import NS_PER_S
from ccx.ledger.types import (
    AMOUNT_MAX,
    TRANSIENT_FAILURES,
    AccountFlags,
    CreateAccountResult,
    CreateTransferResult,
    NewAccount,
    NewTransfer,
    PendingStatus,
    Transfer,
    TransferFlags,
)

R = CreateTransferResult
F = TransferFlags
TIMESTAMP_MAX_NS = 2**63 - 1


@dataclass
class ModelAccount:
    id: int
    ledger: int
    code: int
    flags: AccountFlags
    owner_org_id: int | None
    user_data_64: int
    user_data_32: int
    timestamp_ns: int
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def counters(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)


@dataclass
class ModelHold:
    status: PendingStatus
    expires_at_ns: int | None


@dataclass
class LedgerModel:
    ledgers: set[int] = field(default_factory=set)
    accounts: dict[int, ModelAccount] = field(default_factory=dict)
    transfers: dict[int, Transfer] = field(default_factory=dict)
    holds: dict[int, ModelHold] = field(default_factory=dict)
    failed: dict[int, CreateTransferResult] = field(default_factory=dict)

    # Accounts

    def create_ledger(self, ledger_id: int) -> None:
        self.ledgers.add(ledger_id)

    def create_accounts(self, batch: list[NewAccount], now_ns: int) -> list[CreateAccountResult]:
        return [self._create_account(new, now_ns + i) for i, new in enumerate(batch)]

    def _create_account(self, new: NewAccount, timestamp_ns: int) -> CreateAccountResult:
        a = CreateAccountResult
        if new.id == 0:
            return a.ID_MUST_NOT_BE_ZERO
        found = self.accounts.get(new.id)
        if found is not None:
            stored_flags = found.flags & ~AccountFlags.CLOSED
            if (
                found.ledger == new.ledger
                and found.code == new.code
                and stored_flags == new.flags
                and found.owner_org_id == new.owner_org_id
                and found.user_data_64 == new.user_data_64
                and found.user_data_32 == new.user_data_32
            ):
                return a.EXISTS
            return a.EXISTS_WITH_DIFFERENT_FIELDS
        if new.flags & AccountFlags.CLOSED:
            return a.RESERVED_FLAG
        if (
            new.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
            and new.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
        ):
            return a.FLAGS_ARE_MUTUALLY_EXCLUSIVE
        if new.ledger == 0:
            return a.LEDGER_MUST_NOT_BE_ZERO
        if new.code == 0:
            return a.CODE_MUST_NOT_BE_ZERO
        if new.ledger not in self.ledgers:
            return a.LEDGER_NOT_FOUND
        self.accounts[new.id] = ModelAccount(
            id=new.id,
            ledger=new.ledger,
            code=new.code,
            flags=new.flags,
            owner_org_id=new.owner_org_id,
            user_data_64=new.user_data_64,
            user_data_32=new.user_data_32,
            timestamp_ns=timestamp_ns,
        )
        return a.OK

    # Transfers

    def create_transfers(self, batch: list[NewTransfer], now_ns: int) -> list[CreateTransferResult]:
        results: list[CreateTransferResult] = []
        start = 0
        while start < len(batch):
            end = start
            while batch[end].flags & F.LINKED and end < len(batch) - 1:
                end += 1
            results.extend(self._create_chain(batch, start, end, now_ns))
            start = end + 1
        return results

    def _create_chain(
        self, batch: list[NewTransfer], start: int, end: int, now_ns: int
    ) -> list[CreateTransferResult]:
        chain_open = bool(batch[end].flags & F.LINKED)  # only possible at the end of the batch
        saved = (copy.deepcopy(self.accounts), dict(self.transfers), copy.deepcopy(self.holds))
        results: list[CreateTransferResult] = []
        for index in range(start, end + 1):
            if index == end and chain_open:
                result = R.LINKED_EVENT_CHAIN_OPEN
            else:
                result = self._create_one(batch[index], now_ns + index)
            if result not in (R.OK, R.EXISTS):
                # Roll the whole chain back; remembered failures stay remembered.
                self.accounts, self.transfers, self.holds = saved
                failed = [R.LINKED_EVENT_FAILED] * (end - start + 1)
                failed[index - start] = result
                if chain_open:
                    failed[-1] = R.LINKED_EVENT_CHAIN_OPEN
                return failed
            results.append(result)
        return results

    def _create_one(self, t: NewTransfer, timestamp_ns: int) -> CreateTransferResult:
        if t.id == 0:
            return R.ID_MUST_NOT_BE_ZERO
        stored = self.transfers.get(t.id)
        if stored is not None:
            return R.EXISTS if self._same_body(t, stored) else R.EXISTS_WITH_DIFFERENT_FIELDS
        if t.id in self.failed:
            return R.ID_ALREADY_FAILED
        if t.flags & (F.POST_PENDING_TRANSFER | F.VOID_PENDING_TRANSFER):
            result = self._post_or_void(t, timestamp_ns)
        else:
            result = self._plain_or_pending(t, timestamp_ns)
        if result in TRANSIENT_FAILURES:
            self.failed[t.id] = result
        return result

    def _same_body(self, t: NewTransfer, stored: Transfer) -> bool:
        resolves = bool(t.flags & (F.POST_PENDING_TRANSFER | F.VOID_PENDING_TRANSFER))

        def matches(submitted: int, recorded: int) -> bool:
            # A post or void may leave accounts, ledger and code zero: they come from the hold.
            return submitted == recorded or (resolves and submitted == 0)

        if not (
            t.flags == stored.flags
            and t.pending_id == stored.pending_id
            and t.timeout_s == stored.timeout_s
            and t.user_data_64 == stored.user_data_64
            and t.user_data_32 == stored.user_data_32
            and matches(t.debit_account_id, stored.debit_account_id)
            and matches(t.credit_account_id, stored.credit_account_id)
            and matches(t.ledger, stored.ledger)
            and matches(t.code, stored.code)
        ):
            return False
        if t.flags & F.POST_PENDING_TRANSFER:
            hold = self.transfers[stored.pending_id]
            wanted = hold.amount if t.amount == AMOUNT_MAX else t.amount
            return wanted == stored.amount
        if t.flags & F.VOID_PENDING_TRANSFER:
            return t.amount in (0, stored.amount)
        if t.flags & (F.BALANCING_DEBIT | F.BALANCING_CREDIT):
            return t.amount >= stored.amount  # the amount is an upper bound
        return t.amount == stored.amount

    def _plain_or_pending(self, t: NewTransfer, timestamp_ns: int) -> CreateTransferResult:
        pending = bool(t.flags & F.PENDING)
        rejected = _first_failed(
            (t.debit_account_id == 0, R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO),
            (t.credit_account_id == 0, R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO),
            (t.debit_account_id == t.credit_account_id, R.ACCOUNTS_MUST_BE_DIFFERENT),
            (t.pending_id != 0, R.PENDING_ID_MUST_BE_ZERO),
            (t.timeout_s != 0 and not pending, R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER),
            (
                bool(t.flags & (F.CLOSING_DEBIT | F.CLOSING_CREDIT)) and not pending,
                R.CLOSING_TRANSFER_MUST_BE_PENDING,
            ),
            (t.ledger == 0, R.LEDGER_MUST_NOT_BE_ZERO),
            (t.code == 0, R.CODE_MUST_NOT_BE_ZERO),
        )
        if rejected is not None:
            return rejected
        debit = self.accounts.get(t.debit_account_id)
        if debit is None:
            return R.DEBIT_ACCOUNT_NOT_FOUND
        credit = self.accounts.get(t.credit_account_id)
        if credit is None:
            return R.CREDIT_ACCOUNT_NOT_FOUND

        amount = t.amount
        if t.flags & F.BALANCING_DEBIT:
            available = debit.credits_posted - debit.debits_posted - debit.debits_pending
            amount = min(amount, max(available, 0))
        if t.flags & F.BALANCING_CREDIT:
            available = credit.debits_posted - credit.credits_posted - credit.credits_pending
            amount = min(amount, max(available, 0))
        debit_total = debit.debits_pending + debit.debits_posted + amount
        credit_total = credit.credits_pending + credit.credits_posted + amount
        expires_at_ns = timestamp_ns + t.timeout_s * NS_PER_S if pending and t.timeout_s else None
        rejected = _first_failed(
            (debit.ledger != credit.ledger, R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER),
            (t.ledger != debit.ledger, R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS),
            (bool(debit.flags & AccountFlags.CLOSED), R.DEBIT_ACCOUNT_ALREADY_CLOSED),
            (bool(credit.flags & AccountFlags.CLOSED), R.CREDIT_ACCOUNT_ALREADY_CLOSED),
            (debit_total > AMOUNT_MAX, R.OVERFLOWS_DEBITS),
            (credit_total > AMOUNT_MAX, R.OVERFLOWS_CREDITS),
            ((expires_at_ns or 0) > TIMESTAMP_MAX_NS, R.OVERFLOWS_TIMEOUT),
            (
                bool(debit.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
                and debit_total > debit.credits_posted,
                R.EXCEEDS_CREDITS,
            ),
            (
                bool(credit.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
                and credit_total > credit.debits_posted,
                R.EXCEEDS_DEBITS,
            ),
        )
        if rejected is not None:
            return rejected

        if pending:
            debit.debits_pending += amount
            credit.credits_pending += amount
            self.holds[t.id] = ModelHold(PendingStatus.PENDING, expires_at_ns)
        else:
            debit.debits_posted += amount
            credit.credits_posted += amount
        if t.flags & F.CLOSING_DEBIT:
            debit.flags |= AccountFlags.CLOSED
        if t.flags & F.CLOSING_CREDIT:
            credit.flags |= AccountFlags.CLOSED
        self.transfers[t.id] = Transfer(
            id=t.id,
            debit_account_id=t.debit_account_id,
            credit_account_id=t.credit_account_id,
            amount=amount,
            ledger=t.ledger,
            code=t.code,
            flags=t.flags,
            pending_id=0,
            timeout_s=t.timeout_s,
            user_data_64=t.user_data_64,
            user_data_32=t.user_data_32,
            timestamp_ns=timestamp_ns,
        )
        return R.OK

    def _post_or_void(self, t: NewTransfer, timestamp_ns: int) -> CreateTransferResult:
        posting = bool(t.flags & F.POST_PENDING_TRANSFER)
        voiding = bool(t.flags & F.VOID_PENDING_TRANSFER)
        others = F.PENDING | F.BALANCING_DEBIT | F.BALANCING_CREDIT
        others |= F.CLOSING_DEBIT | F.CLOSING_CREDIT
        rejected = _first_failed(
            ((posting and voiding) or bool(t.flags & others), R.FLAGS_ARE_MUTUALLY_EXCLUSIVE),
            (t.pending_id == 0, R.PENDING_ID_MUST_NOT_BE_ZERO),
            (t.pending_id == t.id, R.PENDING_ID_MUST_BE_DIFFERENT),
            (t.timeout_s != 0, R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER),
        )
        if rejected is not None:
            return rejected
        hold = self.transfers.get(t.pending_id)
        if hold is None:
            return R.PENDING_TRANSFER_NOT_FOUND
        # A post of AMOUNT_MAX posts the whole hold; a void always releases the whole hold.
        amount = t.amount if posting and t.amount != AMOUNT_MAX else hold.amount
        state = self.holds.get(hold.id)
        status = None if state is None else state.status
        due_ns = None if state is None else state.expires_at_ns
        expired = due_ns is not None and timestamp_ns >= due_ns
        debit = self.accounts[hold.debit_account_id]
        credit = self.accounts[hold.credit_account_id]
        rejected = _first_failed(
            (not hold.flags & F.PENDING, R.PENDING_TRANSFER_NOT_PENDING),
            (
                t.debit_account_id not in (0, hold.debit_account_id),
                R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID,
            ),
            (
                t.credit_account_id not in (0, hold.credit_account_id),
                R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID,
            ),
            (t.ledger not in (0, hold.ledger), R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER),
            (t.code not in (0, hold.code), R.PENDING_TRANSFER_HAS_DIFFERENT_CODE),
            (posting and amount > hold.amount, R.EXCEEDS_PENDING_TRANSFER_AMOUNT),
            (voiding and t.amount not in (0, hold.amount), R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT),
            (status is PendingStatus.POSTED, R.PENDING_TRANSFER_ALREADY_POSTED),
            (status is PendingStatus.VOIDED, R.PENDING_TRANSFER_ALREADY_VOIDED),
            (status is PendingStatus.EXPIRED or expired, R.PENDING_TRANSFER_EXPIRED),
            (posting and bool(debit.flags & AccountFlags.CLOSED), R.DEBIT_ACCOUNT_ALREADY_CLOSED),
            (
                posting and bool(credit.flags & AccountFlags.CLOSED),
                R.CREDIT_ACCOUNT_ALREADY_CLOSED,
            ),
        )
        if rejected is not None:
            return rejected

        assert state is not None
        self._release(hold, posted=amount if posting else 0, voided=voiding)
        state.status = PendingStatus.POSTED if posting else PendingStatus.VOIDED
        self.transfers[t.id] = Transfer(
            id=t.id,
            debit_account_id=hold.debit_account_id,
            credit_account_id=hold.credit_account_id,
            amount=amount,
            ledger=hold.ledger,
            code=hold.code,
            flags=t.flags,
            pending_id=hold.id,
            timeout_s=0,
            user_data_64=t.user_data_64,
            user_data_32=t.user_data_32,
            # Recorded after its hold even when the clock stood still or stepped back.
            timestamp_ns=max(timestamp_ns, hold.timestamp_ns + 1),
        )
        return R.OK

    def _release(self, hold: Transfer, *, posted: int, voided: bool) -> None:
        """Take a hold off both accounts and post `posted` of it. Voiding (or expiring) a closing
        hold reopens the account it closed."""
        debit = self.accounts[hold.debit_account_id]
        credit = self.accounts[hold.credit_account_id]
        debit.debits_pending -= hold.amount
        credit.credits_pending -= hold.amount
        debit.debits_posted += posted
        credit.credits_posted += posted
        assert min(debit.debits_pending, credit.credits_pending) >= 0
        if voided and hold.flags & F.CLOSING_DEBIT:
            debit.flags &= ~AccountFlags.CLOSED
        if voided and hold.flags & F.CLOSING_CREDIT:
            credit.flags &= ~AccountFlags.CLOSED

    def expire(self, now_ns: int) -> list[int]:
        """Expire every hold due at `now_ns`, in order of expiry; returns their ids."""
        due = sorted(
            (state.expires_at_ns, hold_id)
            for hold_id, state in self.holds.items()
            if state.status is PendingStatus.PENDING
            and state.expires_at_ns is not None
            and state.expires_at_ns <= now_ns
        )
        for _, hold_id in due:
            self._release(self.transfers[hold_id], posted=0, voided=True)
            self.holds[hold_id].status = PendingStatus.EXPIRED
        return [hold_id for _, hold_id in due]

    # Reads

    def ledger_accounts(self, ledger: int) -> dict[int, ModelAccount]:
        return {i: a for i, a in self.accounts.items() if a.ledger == ledger}


def _first_failed(*checks: tuple[bool, CreateTransferResult]) -> CreateTransferResult | None:
    """The result of the first check that failed, in the order given."""
    return next((result for failed, result in checks if failed), None)

"""What the ledger shows the rest of ccx: frozen values, flags and result codes.

The model and the names follow TigerBeetle (accounts with four balance counters, immutable
transfers, two-phase holds, linked chains, caller-chosen ids as idempotency keys). Amounts are
integers in micro-credits (asset scale 6): 1 credit = 1_000_000.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

AMOUNT_MAX = 2**63 - 1
"""Largest amount or balance counter (a signed 64-bit column)."""
TIMEOUT_S_MAX = 2**31 - 1
"""Largest hold timeout, in seconds (about 68 years)."""
LEDGER_MAX = 2**31 - 1
CODE_MAX = 2**15 - 1
USER_DATA_32_MAX = 2**31 - 1
BATCH_SIZE_MAX = 8189
"""Most events in one batch (TigerBeetle's default request size)."""
MICRO_CREDITS_PER_CREDIT = 1_000_000


class AccountFlags(enum.IntFlag):
    NONE = 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1 << 1
    CREDITS_MUST_NOT_EXCEED_DEBITS = 1 << 2
    CLOSED = 1 << 5


class TransferFlags(enum.IntFlag):
    NONE = 0
    LINKED = 1 << 0
    PENDING = 1 << 1
    POST_PENDING_TRANSFER = 1 << 2
    VOID_PENDING_TRANSFER = 1 << 3
    BALANCING_DEBIT = 1 << 4
    BALANCING_CREDIT = 1 << 5
    CLOSING_DEBIT = 1 << 6
    CLOSING_CREDIT = 1 << 7


class PendingStatus(enum.StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


class CreateAccountResult(enum.StrEnum):
    """Results of creating an account, in order of precedence."""

    OK = "ok"
    ID_MUST_NOT_BE_ZERO = "id_must_not_be_zero"
    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    EXISTS = "exists"
    RESERVED_FLAG = "reserved_flag"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    LEDGER_MUST_NOT_BE_ZERO = "ledger_must_not_be_zero"
    CODE_MUST_NOT_BE_ZERO = "code_must_not_be_zero"
    LEDGER_NOT_FOUND = "ledger_not_found"


class CreateTransferResult(enum.StrEnum):
    """Results of creating a transfer, in order of precedence (TigerBeetle's order)."""

    OK = "ok"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    ID_MUST_NOT_BE_ZERO = "id_must_not_be_zero"
    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    EXISTS = "exists"
    ID_ALREADY_FAILED = "id_already_failed"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO = "debit_account_id_must_not_be_zero"
    CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO = "credit_account_id_must_not_be_zero"
    ACCOUNTS_MUST_BE_DIFFERENT = "accounts_must_be_different"
    PENDING_ID_MUST_BE_ZERO = "pending_id_must_be_zero"
    PENDING_ID_MUST_NOT_BE_ZERO = "pending_id_must_not_be_zero"
    PENDING_ID_MUST_BE_DIFFERENT = "pending_id_must_be_different"
    TIMEOUT_RESERVED_FOR_PENDING_TRANSFER = "timeout_reserved_for_pending_transfer"
    CLOSING_TRANSFER_MUST_BE_PENDING = "closing_transfer_must_be_pending"
    LEDGER_MUST_NOT_BE_ZERO = "ledger_must_not_be_zero"
    CODE_MUST_NOT_BE_ZERO = "code_must_not_be_zero"
    DEBIT_ACCOUNT_NOT_FOUND = "debit_account_not_found"
    CREDIT_ACCOUNT_NOT_FOUND = "credit_account_not_found"
    ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER = "accounts_must_have_the_same_ledger"
    TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS = (
        "transfer_must_have_the_same_ledger_as_accounts"
    )
    PENDING_TRANSFER_NOT_FOUND = "pending_transfer_not_found"
    PENDING_TRANSFER_NOT_PENDING = "pending_transfer_not_pending"
    PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID = (
        "pending_transfer_has_different_debit_account_id"
    )
    PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID = (
        "pending_transfer_has_different_credit_account_id"
    )
    PENDING_TRANSFER_HAS_DIFFERENT_LEDGER = "pending_transfer_has_different_ledger"
    PENDING_TRANSFER_HAS_DIFFERENT_CODE = "pending_transfer_has_different_code"
    EXCEEDS_PENDING_TRANSFER_AMOUNT = "exceeds_pending_transfer_amount"
    PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT = "pending_transfer_has_different_amount"
    PENDING_TRANSFER_ALREADY_POSTED = "pending_transfer_already_posted"
    PENDING_TRANSFER_ALREADY_VOIDED = "pending_transfer_already_voided"
    PENDING_TRANSFER_EXPIRED = "pending_transfer_expired"
    DEBIT_ACCOUNT_ALREADY_CLOSED = "debit_account_already_closed"
    CREDIT_ACCOUNT_ALREADY_CLOSED = "credit_account_already_closed"
    OVERFLOWS_DEBITS = "overflows_debits"
    OVERFLOWS_CREDITS = "overflows_credits"
    OVERFLOWS_TIMEOUT = "overflows_timeout"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"


TRANSIENT_FAILURES = frozenset(
    {
        CreateTransferResult.DEBIT_ACCOUNT_NOT_FOUND,
        CreateTransferResult.CREDIT_ACCOUNT_NOT_FOUND,
        CreateTransferResult.PENDING_TRANSFER_NOT_FOUND,
        CreateTransferResult.DEBIT_ACCOUNT_ALREADY_CLOSED,
        CreateTransferResult.CREDIT_ACCOUNT_ALREADY_CLOSED,
        CreateTransferResult.EXCEEDS_CREDITS,
        CreateTransferResult.EXCEEDS_DEBITS,
    }
)
"""Failures that depend on the ledger's state. The id is remembered, and a retry with it answers
`id_already_failed`, so a retry never has a different outcome (TigerBeetle's rule)."""


@dataclass(frozen=True, slots=True)
class Ledger:
    id: int
    name: str
    asset_scale: int
    timestamp_ns: int


@dataclass(frozen=True, slots=True)
class NewAccount:
    id: int
    ledger: int
    code: int
    flags: AccountFlags = AccountFlags.NONE
    owner_org_id: int | None = None
    user_data_64: int = 0
    user_data_32: int = 0


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    ledger: int
    code: int
    flags: AccountFlags
    owner_org_id: int | None
    user_data_64: int
    user_data_32: int
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    timestamp_ns: int

    @property
    def balance_posted(self) -> int:
        """Posted credit balance: credits_posted - debits_posted."""
        return self.credits_posted - self.debits_posted

    @property
    def balance_pending(self) -> int:
        """Credit balance if every hold in and out were posted."""
        return (self.credits_posted + self.credits_pending) - (
            self.debits_posted + self.debits_pending
        )

    @property
    def balance_available(self) -> int:
        """What can still be debited: posted balance less outgoing holds."""
        return self.credits_posted - self.debits_posted - self.debits_pending


@dataclass(frozen=True, slots=True)
class NewTransfer:
    """A transfer as a caller submits it. Zero means "unset" for the optional numbers.

    For post/void: debit/credit account, ledger and code may be zero (taken from the pending
    transfer); a post's amount of AMOUNT_MAX posts the whole hold.
    """

    id: int
    debit_account_id: int
    credit_account_id: int
    amount: int
    ledger: int
    code: int
    flags: TransferFlags = TransferFlags.NONE
    pending_id: int = 0
    timeout_s: int = 0
    user_data_64: int = 0
    user_data_32: int = 0


@dataclass(frozen=True, slots=True)
class Transfer:
    """A committed transfer. Immutable; fields as resolved (a post carries its real amount)."""

    id: int
    debit_account_id: int
    credit_account_id: int
    amount: int
    ledger: int
    code: int
    flags: TransferFlags
    pending_id: int
    timeout_s: int
    user_data_64: int
    user_data_32: int
    timestamp_ns: int


@dataclass(frozen=True, slots=True)
class PendingState:
    """Where a pending transfer stands."""

    transfer_id: int
    status: PendingStatus
    expires_at_ns: int | None


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    index: int
    id: int
    result: CreateTransferResult


@dataclass(frozen=True, slots=True)
class AccountOutcome:
    index: int
    id: int
    result: CreateAccountResult


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain head and the Merkle root of all sealed journal entries, to be published."""

    sequence: int
    head_hash_hex: str
    merkle_root_hex: str
    entries_unsealed: int


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    entries_checked: int
    accounts_checked: int
    problems: tuple[str, ...]

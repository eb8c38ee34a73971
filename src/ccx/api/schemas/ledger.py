"""Bodies of the ledger routes: ledgers, accounts, transfers, checkpoints.

Numbers are strict JSON integers within the ledger's column bounds (a string or a float is
refused, never coerced). Flags travel as lists of names, not bit masks. Amounts and balances are
integers in micro-credits: 1 credit (one H100-hour equivalent) = 1_000_000 micro-credits.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Annotated, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

from ccx.ids import ID_MAX
from ccx.ledger import (
    AMOUNT_MAX,
    BATCH_SIZE_MAX,
    Account,
    AccountFlags,
    AccountOutcome,
    Checkpoint,
    Ledger,
    NewAccount,
    NewTransfer,
    Transfer,
    TransferFlags,
    TransferOutcome,
)
from ccx.ledger.types import CODE_MAX, LEDGER_MAX, TIMEOUT_S_MAX, USER_DATA_32_MAX

ASSET_SCALE_MAX = 18
LEDGER_NAME_LENGTH_MAX = 100
FLAG_NAMES_MAX = 8

Id = Annotated[int, Strict(), Field(ge=1, le=ID_MAX)]
LedgerId = Annotated[int, Strict(), Field(ge=1, le=LEDGER_MAX)]
Code = Annotated[int, Strict(), Field(ge=1, le=CODE_MAX)]
MicroCredits = Annotated[
    int, Strict(), Field(ge=0, le=AMOUNT_MAX, description="Micro-credits (1 credit = 1_000_000).")
]
TimeoutS = Annotated[int, Strict(), Field(ge=0, le=TIMEOUT_S_MAX)]
UserData64 = Annotated[int, Strict(), Field(ge=0, le=ID_MAX)]
UserData32 = Annotated[int, Strict(), Field(ge=0, le=USER_DATA_32_MAX)]
# Names without control characters (PostgreSQL text cannot hold NUL).
LedgerName = Annotated[
    str, Field(min_length=1, max_length=LEDGER_NAME_LENGTH_MAX, pattern=r"^[^\x00-\x1f\x7f]+$")
]


class AccountFlagName(enum.StrEnum):
    DEBITS_MUST_NOT_EXCEED_CREDITS = "debits_must_not_exceed_credits"
    CREDITS_MUST_NOT_EXCEED_DEBITS = "credits_must_not_exceed_debits"
    CLOSED = "closed"


class TransferFlagName(enum.StrEnum):
    LINKED = "linked"
    PENDING = "pending"
    POST_PENDING_TRANSFER = "post_pending_transfer"
    VOID_PENDING_TRANSFER = "void_pending_transfer"
    BALANCING_DEBIT = "balancing_debit"
    BALANCING_CREDIT = "balancing_credit"
    CLOSING_DEBIT = "closing_debit"
    CLOSING_CREDIT = "closing_credit"


FlagsT = TypeVar("FlagsT", AccountFlags, TransferFlags)
NameT = TypeVar("NameT", AccountFlagName, TransferFlagName)
ItemT = TypeVar("ItemT")


def flags_from_names(names: Iterable[enum.StrEnum], flags_type: type[FlagsT]) -> FlagsT:
    """The flag set named by `names` (a name maps to the ledger flag of the same name)."""
    flags = flags_type(0)
    for name in names:
        flags |= flags_type[name.name]
    return flags


def names_from_flags(flags: AccountFlags | TransferFlags, names_type: type[NameT]) -> list[NameT]:
    """The names of the flags set in `flags`, in bit order."""
    return [names_type[str(member.name)] for member in flags]


class Page(BaseModel, Generic[ItemT]):
    """One page of a keyset-paged list, in id order."""

    items: list[ItemT]
    next_after_id: int | None = Field(
        description="Pass as `after_id` for the next page; null on the last page."
    )


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LedgerIn(_Body):
    id: LedgerId = Field(description="Caller-chosen ledger id (one ledger per programme).")
    name: LedgerName
    asset_scale: int = Field(
        default=6, ge=0, le=ASSET_SCALE_MAX, strict=True, description="Decimal places of amounts."
    )


class LedgerOut(BaseModel):
    id: int
    name: str
    asset_scale: int
    timestamp_ns: int

    @classmethod
    def of(cls, ledger: Ledger) -> LedgerOut:
        return cls(
            id=ledger.id,
            name=ledger.name,
            asset_scale=ledger.asset_scale,
            timestamp_ns=ledger.timestamp_ns,
        )


class LedgerList(BaseModel):
    items: list[LedgerOut]


class AccountIn(_Body):
    id: Id = Field(description="Caller-chosen account id; also the idempotency key.")
    ledger: LedgerId
    code: Code = Field(description="Account kind (programme pool, firm wallet, ...).")
    flags: list[AccountFlagName] = Field(default_factory=list, max_length=FLAG_NAMES_MAX)
    owner_org_id: Id | None = Field(default=None, description="Organisation owning the account.")
    user_data_64: UserData64 = 0
    user_data_32: UserData32 = 0

    def to_new(self) -> NewAccount:
        return NewAccount(
            id=self.id,
            ledger=self.ledger,
            code=self.code,
            flags=flags_from_names(self.flags, AccountFlags),
            owner_org_id=self.owner_org_id,
            user_data_64=self.user_data_64,
            user_data_32=self.user_data_32,
        )


class AccountOut(BaseModel):
    id: int
    ledger: int
    code: int
    flags: list[AccountFlagName]
    owner_org_id: int | None
    user_data_64: int
    user_data_32: int
    debits_pending: int = Field(description="Micro-credits held for outgoing pending transfers.")
    debits_posted: int = Field(description="Micro-credits debited.")
    credits_pending: int = Field(description="Micro-credits held for incoming pending transfers.")
    credits_posted: int = Field(description="Micro-credits credited.")
    balance_posted: int = Field(description="credits_posted - debits_posted, in micro-credits.")
    balance_pending: int = Field(
        description="The posted balance if every hold were posted, in micro-credits."
    )
    balance_available: int = Field(
        description="What can still be debited: posted balance less outgoing holds (micro-credits)."
    )
    timestamp_ns: int

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        return cls(
            id=account.id,
            ledger=account.ledger,
            code=account.code,
            flags=names_from_flags(account.flags, AccountFlagName),
            owner_org_id=account.owner_org_id,
            user_data_64=account.user_data_64,
            user_data_32=account.user_data_32,
            debits_pending=account.debits_pending,
            debits_posted=account.debits_posted,
            credits_pending=account.credits_pending,
            credits_posted=account.credits_posted,
            balance_posted=account.balance_posted,
            balance_pending=account.balance_pending,
            balance_available=account.balance_available,
            timestamp_ns=account.timestamp_ns,
        )


class AccountCreated(BaseModel):
    result: str = Field(description="`ok` (created) or `exists` (the same account was there).")
    account: AccountOut


class AccountBatchIn(_Body):
    accounts: list[AccountIn] = Field(min_length=1, max_length=BATCH_SIZE_MAX)


class TransferIn(_Body):
    """A transfer, a hold (`pending`), or the post or void of a hold.

    A post or void may leave out the accounts, ledger and code (taken from the hold) and the
    amount: a post without an amount posts the whole hold, a void always releases all of it.
    """

    id: Id = Field(description="Caller-chosen transfer id; also the idempotency key.")
    debit_account_id: Id | None = None
    credit_account_id: Id | None = None
    amount: MicroCredits | None = None
    ledger: LedgerId | None = None
    code: Code | None = None
    flags: list[TransferFlagName] = Field(default_factory=list, max_length=FLAG_NAMES_MAX)
    pending_id: Id | None = Field(default=None, description="The hold a post or void resolves.")
    timeout_s: TimeoutS = Field(
        default=0, description="Seconds until a hold expires and returns; 0: never."
    )
    user_data_64: UserData64 = 0
    user_data_32: UserData32 = 0

    @model_validator(mode="after")
    def _amount_given_unless_resolving(self) -> Self:
        resolving = {TransferFlagName.POST_PENDING_TRANSFER, TransferFlagName.VOID_PENDING_TRANSFER}
        if self.amount is None and resolving.isdisjoint(self.flags):
            raise ValueError("amount is required, except to post or void a pending transfer")
        return self

    def to_new(self) -> NewTransfer:
        flags = flags_from_names(self.flags, TransferFlags)
        return NewTransfer(
            id=self.id,
            debit_account_id=self.debit_account_id or 0,
            credit_account_id=self.credit_account_id or 0,
            amount=self._amount(flags),
            ledger=self.ledger or 0,
            code=self.code or 0,
            flags=flags,
            pending_id=self.pending_id or 0,
            timeout_s=self.timeout_s,
            user_data_64=self.user_data_64,
            user_data_32=self.user_data_32,
        )

    def _amount(self, flags: TransferFlags) -> int:
        if self.amount is not None:
            return self.amount
        return AMOUNT_MAX if flags & TransferFlags.POST_PENDING_TRANSFER else 0


class TransferOut(BaseModel):
    id: int
    debit_account_id: int
    credit_account_id: int
    amount: int = Field(description="Micro-credits moved (a post carries the amount posted).")
    ledger: int
    code: int
    flags: list[TransferFlagName]
    pending_id: int | None
    timeout_s: int
    user_data_64: int
    user_data_32: int
    timestamp_ns: int

    @classmethod
    def of(cls, transfer: Transfer) -> TransferOut:
        return cls(
            id=transfer.id,
            debit_account_id=transfer.debit_account_id,
            credit_account_id=transfer.credit_account_id,
            amount=transfer.amount,
            ledger=transfer.ledger,
            code=transfer.code,
            flags=names_from_flags(transfer.flags, TransferFlagName),
            pending_id=transfer.pending_id or None,
            timeout_s=transfer.timeout_s,
            user_data_64=transfer.user_data_64,
            user_data_32=transfer.user_data_32,
            timestamp_ns=transfer.timestamp_ns,
        )


class TransferCreated(BaseModel):
    result: str = Field(description="`ok` (created) or `exists` (a retry of the same transfer).")
    transfer: TransferOut


class TransferBatchIn(_Body):
    transfers: list[TransferIn] = Field(min_length=1, max_length=BATCH_SIZE_MAX)


class EventResult(BaseModel):
    index: int = Field(description="Position of the event in the batch, from 0.")
    id: int
    result: str = Field(description="`ok`, `exists`, or why the event was not applied.")

    @classmethod
    def of(cls, outcome: AccountOutcome | TransferOutcome) -> EventResult:
        return cls(index=outcome.index, id=outcome.id, result=outcome.result.value)


class BatchOut(BaseModel):
    """One result per submitted event, in order."""

    results: list[EventResult]


class CheckpointOut(BaseModel):
    sequence: int = Field(description="Sequence number of the last sealed journal entry.")
    head_hash: str = Field(description="Hash of that entry (the chain head), hex.")
    merkle_root: str = Field(description="Merkle root over every sealed entry hash, hex.")
    entries_unsealed: int

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> CheckpointOut:
        return cls(
            sequence=checkpoint.sequence,
            head_hash=checkpoint.head_hash_hex,
            merkle_root=checkpoint.merkle_root_hex,
            entries_unsealed=checkpoint.entries_unsealed,
        )

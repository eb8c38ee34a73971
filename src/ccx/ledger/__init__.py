"""The credit ledger: accounts, immutable transfers, two-phase holds and a hash-chained journal.

Public surface: the types, the write functions in `service`, the reads in `queries`, and
`verify_ledger`. Tables (`models`) are private to this package.
"""

from ccx.ledger.errors import BatchTooLargeError, LedgerConflictError, LedgerError, NotFoundError
from ccx.ledger.types import (
    AMOUNT_MAX,
    BATCH_SIZE_MAX,
    MICRO_CREDITS_PER_CREDIT,
    Account,
    AccountFlags,
    AccountOutcome,
    Checkpoint,
    CreateAccountResult,
    CreateTransferResult,
    Ledger,
    NewAccount,
    NewTransfer,
    PendingState,
    PendingStatus,
    Transfer,
    TransferFlags,
    TransferOutcome,
    VerifyReport,
)

__all__ = [
    "AMOUNT_MAX",
    "BATCH_SIZE_MAX",
    "MICRO_CREDITS_PER_CREDIT",
    "Account",
    "AccountFlags",
    "AccountOutcome",
    "BatchTooLargeError",
    "Checkpoint",
    "CreateAccountResult",
    "CreateTransferResult",
    "Ledger",
    "LedgerConflictError",
    "LedgerError",
    "NewAccount",
    "NewTransfer",
    "NotFoundError",
    "PendingState",
    "PendingStatus",
    "Transfer",
    "TransferFlags",
    "TransferOutcome",
    "VerifyReport",
]

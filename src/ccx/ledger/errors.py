"""Operating errors of the ledger that are not per-event result codes."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of the ledger's operating errors; the message is meant for the user."""


class BatchTooLargeError(LedgerError):
    pass


class LedgerConflictError(LedgerError):
    """A ledger with this id or name exists with other fields."""


class NotFoundError(LedgerError):
    pass

"""Programmes: budgets with their own ledger, approve-first applications that grant lots,
post-audit with clawback, lot expiry, mandates to certified integrators, and spending and
service fees under mandates.

Public surface: the types, the errors, the writes in `service` and the reads in `queries`.
Tables (`models`) are private to this package; `rules`, `sampling` and `drawing` are the pure
rules the service applies.
"""

from ccx.programs.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    ProgrammeError,
    RefusedError,
)
from ccx.programs.types import (
    AccountCode,
    Application,
    AuditResult,
    AuditStatus,
    Decision,
    GrantRule,
    Lot,
    LotClawback,
    LotStatus,
    LotSweep,
    Mandate,
    NewApplication,
    NewMandate,
    NewProgramme,
    Programme,
    ProgrammeAccounts,
    ProgrammeReport,
    ProgrammeTerms,
    Reason,
    ReasonCode,
    Spend,
    SpendKind,
    SpendLeg,
    SpendStatus,
    Track,
    TransferCode,
)

__all__ = [
    "AccountCode",
    "Application",
    "AuditResult",
    "AuditStatus",
    "ConflictError",
    "Decision",
    "GrantRule",
    "InvalidRequestError",
    "Lot",
    "LotClawback",
    "LotStatus",
    "LotSweep",
    "Mandate",
    "NewApplication",
    "NewMandate",
    "NewProgramme",
    "NotFoundError",
    "Programme",
    "ProgrammeAccounts",
    "ProgrammeError",
    "ProgrammeReport",
    "ProgrammeTerms",
    "Reason",
    "ReasonCode",
    "RefusedError",
    "Spend",
    "SpendKind",
    "SpendLeg",
    "SpendStatus",
    "Track",
    "TransferCode",
]

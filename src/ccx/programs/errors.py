"""Errors of the programmes feature; every message is meant for the user.

A refused application is not an error: it is recorded with its reasons. Refused mandates and
spends write nothing and raise `RefusedError` with every reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from ccx.programs.types import Reason


class ProgrammeError(Exception):
    """Base of the programmes feature's errors."""


class InvalidRequestError(ProgrammeError, ValueError):
    """Input that breaks one or more rules; `problems` lists each."""

    def __init__(self, problems: Sequence[str]) -> None:
        assert problems, "an invalid request has at least one problem"
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


class NotFoundError(ProgrammeError):
    pass


class ConflictError(ProgrammeError):
    """The same id or key was used before with other fields, or the audit was decided."""


class RefusedError(ProgrammeError):
    """The rules refuse the request; `reasons` lists every one."""

    def __init__(self, what: str, reasons: Sequence[Reason]) -> None:
        assert reasons, "a refusal has at least one reason"
        self.reasons = tuple(reasons)
        super().__init__(f"{what} refused: " + "; ".join(reason.text for reason in reasons))

"""Errors of the registry; every message is meant for the user."""

from __future__ import annotations

from dataclasses import dataclass


class RegistryError(Exception):
    """Base of the registry's errors."""


class InvalidBrnError(RegistryError, ValueError):
    """A business registration number that is malformed or fails its check digit."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One thing wrong with one field of an input."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidInputError(RegistryError, ValueError):
    """Input that breaks one or more rules; `problems` names each field and what is wrong."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        assert problems, "an invalid input has at least one problem"
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in problems))


class DuplicateOrganisationError(RegistryError):
    """An organisation with this business registration number is registered already."""


class DuplicatePersonError(RegistryError):
    """A person with this email belongs to this organisation already."""


class OrganisationNotFoundError(RegistryError):
    pass


class NotAnIntegratorError(RegistryError):
    """Certification is only for organisations of kind integrator."""


class CertificationTransitionError(RegistryError):
    """The certification cannot make this change from its current status."""


class RulesNotInForceError(RegistryError, ValueError):
    """No version of the eligibility rules was in force on the date asked about."""


class RulesFileError(RegistryError):
    """A shipped rules file is malformed (a packaging fault, not user input)."""

"""The registry: organisations, people, integrator certification and eligibility rules.

Public surface: the types, the errors, `validate_brn`, the SME test in `eligibility`, the
writes in `service`, the reads in `queries` and the CSV import in `importer`. Tables
(`models`) are private to this package.
"""

from ccx.registry.brn import brn_checksum_digit, format_brn, validate_brn
from ccx.registry.errors import (
    CertificationTransitionError,
    DuplicateOrganisationError,
    DuplicatePersonError,
    FieldProblem,
    InvalidBrnError,
    InvalidInputError,
    NotAnIntegratorError,
    OrganisationNotFoundError,
    RegistryError,
    RulesNotInForceError,
)
from ccx.registry.types import (
    CAPITAL_REGION,
    Certification,
    CertificationEvent,
    CertificationStatus,
    EligibilityDecision,
    NewOrganisation,
    Organisation,
    OrgKind,
    Person,
    PersonRole,
    Region,
    Shareholder,
    SizeClass,
)

__all__ = [
    "CAPITAL_REGION",
    "Certification",
    "CertificationEvent",
    "CertificationStatus",
    "CertificationTransitionError",
    "DuplicateOrganisationError",
    "DuplicatePersonError",
    "EligibilityDecision",
    "FieldProblem",
    "InvalidBrnError",
    "InvalidInputError",
    "NewOrganisation",
    "NotAnIntegratorError",
    "OrgKind",
    "Organisation",
    "OrganisationNotFoundError",
    "Person",
    "PersonRole",
    "Region",
    "RegistryError",
    "RulesNotInForceError",
    "Shareholder",
    "SizeClass",
    "brn_checksum_digit",
    "format_brn",
    "validate_brn",
]

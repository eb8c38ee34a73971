"""The registry: organisations, people, integrator certification and eligibility rules."""

from ccx.registry.types import (
    CAPITAL_REGION,
    Certification,
    CertificationStatus,
    EligibilityDecision,
    NewOrganisation,
    Organisation,
    OrgKind,
    Person,
    PersonRole,
    Region,
    Shareholder,
)

__all__ = [
    "CAPITAL_REGION",
    "Certification",
    "CertificationStatus",
    "EligibilityDecision",
    "NewOrganisation",
    "OrgKind",
    "Organisation",
    "Person",
    "PersonRole",
    "Region",
    "Shareholder",
]

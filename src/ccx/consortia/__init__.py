"""Consortia: vertical groups of one industry around a mid-sized anchor, with member SMEs,
university researchers and certified integrators; a pool account per programme that members
contribute to, consortium-track grants fund and the anchor's mandates (`ccx.programs.mandates`
with a `consortium_id`) spend from; a register of shared models.

Public surface: the types, the writes in `service` and the reads in `queries`; errors are the
programmes feature's. Tables (`models`) are private; `rules` holds the pure checks.
"""

from ccx.consortia.types import (
    FIRM_ROLES,
    Consortium,
    Contribution,
    ContributionLeg,
    Member,
    MemberRole,
    Metric,
    NewConsortium,
    NewContribution,
    NewSharedModel,
    Pool,
    PoolSweep,
    SharedModel,
)

__all__ = [
    "FIRM_ROLES",
    "Consortium",
    "Contribution",
    "ContributionLeg",
    "Member",
    "MemberRole",
    "Metric",
    "NewConsortium",
    "NewContribution",
    "NewSharedModel",
    "Pool",
    "PoolSweep",
    "SharedModel",
]

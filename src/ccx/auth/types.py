"""Roles, principals and API keys."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    ADMIN = "admin"  # programme administrator (ministry, agency)
    OPERATOR = "operator"  # centre operator
    INTEGRATOR = "integrator"  # certified software integrator
    FIRM = "firm"  # SME holding credits
    AUDITOR = "auditor"  # reads everything, writes nothing


ORG_SCOPED_ROLES = frozenset({Role.INTEGRATOR, Role.FIRM})
"""Roles that see only what belongs to their own organisation (and so need one)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id, role and organisation."""

    key_id: str
    role: Role
    org_id: int | None


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    role: Role
    org_id: int | None
    label: str
    created_at_ns: int
    revoked: bool


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key and its secret token; the token is shown once and never stored."""

    key: ApiKey
    token: str

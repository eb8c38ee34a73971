"""Who may do what: every authorisation rule of ccx, one condition per line.

Raw ledger writes are for the administrator and the centre operator only: firms and
integrators move credits through the programme features (mandates, requests), never by
posting transfers themselves, so credits cannot be passed between firms.
"""

from __future__ import annotations

from ccx.auth.types import Principal, Role

_READ_ALL = frozenset({Role.ADMIN, Role.OPERATOR, Role.AUDITOR})


def can_manage_ledgers(principal: Principal) -> bool:
    """Create ledgers and accounts."""
    return principal.role is Role.ADMIN


def can_create_transfers(principal: Principal) -> bool:
    if principal.role is Role.ADMIN:
        return True
    return principal.role is Role.OPERATOR


def can_read_everything(principal: Principal) -> bool:
    return principal.role in _READ_ALL


def can_read_owned(principal: Principal, owner_org_id: int | None) -> bool:
    """Read something owned by an organisation (an account, its transfers)."""
    if can_read_everything(principal):
        return True
    if owner_org_id is None:
        return False
    return principal.org_id == owner_org_id


def can_read_ledger_integrity(principal: Principal) -> bool:
    """Checkpoints and verification."""
    return can_read_everything(principal)

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


def can_manage_registry(principal: Principal) -> bool:
    """Register organisations and people, import them, decide on certification."""
    return principal.role is Role.ADMIN


def can_apply_for_certification(principal: Principal, integrator_id: int) -> bool:
    """The administrator, or the integrator itself."""
    if can_manage_registry(principal):
        return True
    return principal.role is Role.INTEGRATOR and principal.org_id == integrator_id


def can_read_certification(principal: Principal, integrator_id: int) -> bool:
    """Read-all roles, firms (they choose whom to mandate), and the integrator itself."""
    if can_read_everything(principal) or principal.role is Role.FIRM:
        return True
    return principal.org_id == integrator_id


def can_manage_programmes(principal: Principal) -> bool:
    """Create programmes, decide audits (and claw back), run the lot expiry sweep."""
    return principal.role is Role.ADMIN


def can_apply_for_grant(principal: Principal, firm_id: int) -> bool:
    """A firm applies for itself only."""
    return principal.role is Role.FIRM and principal.org_id == firm_id


def can_grant_mandate(principal: Principal, firm_id: int) -> bool:
    """A firm gives mandates over its own credits only."""
    return principal.role is Role.FIRM and principal.org_id == firm_id


def can_revoke_mandate(principal: Principal, firm_id: int) -> bool:
    """The firm that gave the mandate, or the administrator."""
    if principal.role is Role.ADMIN:
        return True
    return can_grant_mandate(principal, firm_id)


def can_read_mandate(principal: Principal, firm_id: int, integrator_id: int) -> bool:
    """Read-all roles, the firm that gave it and the integrator it names."""
    if can_read_everything(principal):
        return True
    return principal.org_id is not None and principal.org_id in (firm_id, integrator_id)


def can_redeem_service_fee(principal: Principal, integrator_id: int) -> bool:
    """Only the integrator named in the mandate."""
    return principal.role is Role.INTEGRATOR and principal.org_id == integrator_id


def can_manage_consortium(principal: Principal, anchor_id: int) -> bool:
    """Form a consortium, add members, register shared models: the anchor firm, or the
    administrator."""
    if principal.role is Role.ADMIN:
        return True
    return principal.role is Role.FIRM and principal.org_id == anchor_id


def can_apply_for_consortium(principal: Principal, anchor_id: int) -> bool:
    """A consortium applies for grants through its anchor only."""
    return principal.role is Role.FIRM and principal.org_id == anchor_id


def can_read_consortium(principal: Principal, member_org_ids: frozenset[int]) -> bool:
    """Read-all roles, and the member organisations (a researcher's university included)."""
    if can_read_everything(principal):
        return True
    return principal.org_id is not None and principal.org_id in member_org_ids


def can_contribute_to_consortium(principal: Principal, firm_id: int) -> bool:
    """A member firm contributes its own credits only."""
    return principal.role is Role.FIRM and principal.org_id == firm_id


def can_grant_consortium_mandate(principal: Principal, anchor_id: int) -> bool:
    """A mandate over a consortium's pool: the anchor firm, or the administrator (revoking is
    `can_revoke_mandate` with the anchor as the firm)."""
    return can_manage_consortium(principal, anchor_id)


def can_read_consortium_mandate(
    principal: Principal, member_org_ids: frozenset[int], integrator_id: int
) -> bool:
    """Read-all roles, the consortium's members and the integrator the mandate names."""
    if can_read_consortium(principal, member_org_ids):
        return True
    return principal.org_id is not None and principal.org_id == integrator_id


# --- the exchange ------------------------------------------------------------------------------


def can_manage_accelerator_types(principal: Principal) -> bool:
    """Add accelerator types to the catalogue: the centre operator or the administrator."""
    return principal.role in (Role.OPERATOR, Role.ADMIN)


def can_manage_capacity(principal: Principal) -> bool:
    """Publish exchange rates, declare and resize pools, schedule maintenance, run clearing
    rounds and reclaim idle allocations: the centre operator only."""
    return principal.role is Role.OPERATOR


def can_set_price_cap(principal: Principal) -> bool:
    """Cap a programme's clearing prices: the centre operator or the administrator."""
    return principal.role in (Role.OPERATOR, Role.ADMIN)


def can_file_request(principal: Principal, integrator_id: int) -> bool:
    """Only the integrator a mandate names files requests under it (and cancels them)."""
    return principal.role is Role.INTEGRATOR and principal.org_id == integrator_id


def can_read_exchange_item(principal: Principal, firm_id: int, integrator_id: int) -> bool:
    """A request or an allocation: read-all roles, the integrator that filed it, and the firm
    whose credits pay for it (a consortium's anchor for a mandate over its pool)."""
    if can_read_everything(principal):
        return True
    if principal.role is Role.INTEGRATOR:
        return principal.org_id == integrator_id
    return principal.role is Role.FIRM and principal.org_id == firm_id


def can_report_throughput(principal: Principal, integrator_id: int) -> bool:
    """Measured throughput of a workload class: the integrator that ran it, or the operator."""
    if principal.role in (Role.OPERATOR, Role.ADMIN):
        return True
    return principal.role is Role.INTEGRATOR and principal.org_id == integrator_id


def can_read_efficiency_score(principal: Principal, integrator_id: int) -> bool:
    """Read-all roles, and the integrator its own."""
    if can_read_everything(principal):
        return True
    return principal.role is Role.INTEGRATOR and principal.org_id == integrator_id

"""Ids of everything the programmes feature creates, derived from stable keys (pure).

A retried operation derives the same ids, so the ledger answers `exists` instead of acting
twice. Namespaces are part of the stored data: never rename them.
"""

from __future__ import annotations

from ccx.ids import derived_id
from ccx.programs.types import AccountCode, ProgrammeAccounts


def programme_accounts(programme_id: int) -> ProgrammeAccounts:
    def account(code: AccountCode) -> int:
        return derived_id("programme.account", programme_id, code.value)

    return ProgrammeAccounts(
        appropriation=account(AccountCode.APPROPRIATION),
        pool=account(AccountCode.POOL),
        centre_revenue=account(AccountCode.CENTRE_REVENUE),
        expired=account(AccountCode.EXPIRED),
        clawback=account(AccountCode.CLAWBACK),
    )


def application_id(programme_id: int, firm_id: int, key: str) -> int:
    return derived_id("programme.application", programme_id, firm_id, key)


def consortium_application_id(programme_id: int, consortium_id: int, key: str) -> int:
    return derived_id("programme.consortium_application", programme_id, consortium_id, key)


def mandate_id(programme_id: int, firm_id: int, key: str) -> int:
    return derived_id("programme.mandate", programme_id, firm_id, key)


def spend_id(mandate: int, key: str) -> int:
    return derived_id("programme.spend", mandate, key)


def lot_account_id(application: int) -> int:
    return derived_id("programme.lot", application)


def payable_account_id(programme_id: int, integrator_id: int) -> int:
    return derived_id("programme.payable", programme_id, integrator_id)


def appropriation_transfer_id(programme_id: int) -> int:
    return derived_id("programme.appropriation", programme_id)


def grant_transfer_id(application: int) -> int:
    return derived_id("programme.grant", application)


def spend_transfer_id(spend: int, lot_account: int) -> int:
    return derived_id("programme.spend.leg", spend, lot_account)


def settle_transfer_id(hold_id: int) -> int:
    return derived_id("programme.spend.settle", hold_id)


def clawback_transfer_id(lot_account: int) -> int:
    return derived_id("programme.clawback", lot_account)


def consortium_pool_account_id(programme_id: int, consortium_id: int) -> int:
    return derived_id("programme.consortium_pool", programme_id, consortium_id)


def contribution_id(programme_id: int, consortium_id: int, firm_id: int, key: str) -> int:
    return derived_id("programme.contribution", programme_id, consortium_id, firm_id, key)


def contribution_transfer_id(contribution: int, lot_account: int) -> int:
    return derived_id("programme.contribution.leg", contribution, lot_account)


def pool_expiry_transfer_id(pool_account: int, expires_on_day: int) -> int:
    return derived_id("programme.consortium_pool.expiry", pool_account, expires_on_day)


def pool_clawback_transfer_id(application: int) -> int:
    """A failed audit of a consortium grant claws the pool back once per audited grant."""
    return derived_id("programme.consortium_pool.clawback", application)

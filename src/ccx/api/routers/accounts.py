"""Accounts: created by the programme administrator, read by their owners and read-all roles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from ccx.api.deps import Context, CurrentPrincipal, LedgerManager, forbidden, owner_scope
from ccx.api.errors import ApiError, created_status, error_responses
from ccx.api.routers import API_PREFIX
from ccx.api.routers.params import PAGE_SIZE_DEFAULT, AfterId, IdPath, Limit, next_after_id
from ccx.api.schemas.ledger import (
    AccountBatchIn,
    AccountCreated,
    AccountIn,
    AccountOut,
    BatchOut,
    EventResult,
    Page,
)
from ccx.auth import policy
from ccx.clock import Clock
from ccx.ledger import Account, AccountOutcome, NewAccount
from ccx.ledger.queries import get_account, list_accounts
from ccx.ledger.service import create_accounts
from ccx.ledger.types import CODE_MAX, LEDGER_MAX

router = APIRouter(prefix=API_PREFIX, tags=["accounts"], responses=error_responses(401, 422))


@router.post(
    "/accounts",
    status_code=201,
    responses={
        200: {"model": AccountCreated, "description": "The same account exists already."},
        **error_responses(403, 409),
    },
)
def post_account(
    body: AccountIn, context: Context, _principal: LedgerManager, response: Response
) -> AccountCreated:
    """Create one account (201), or find the same one again (200)."""
    new = body.to_new()
    outcome, account = context.database.run_write(
        lambda session: _create_account(session, new, context.clock)
    )
    response.status_code = created_status("account", outcome.id, outcome.result)
    assert account is not None
    return AccountCreated(result=outcome.result.value, account=AccountOut.of(account))


def _create_account(
    session: Session, new: NewAccount, clock: Clock
) -> tuple[AccountOutcome, Account | None]:
    [outcome] = create_accounts(session, [new], clock)
    return outcome, get_account(session, new.id)


@router.post("/accounts/batch", responses=error_responses(403))
def post_accounts(body: AccountBatchIn, context: Context, _principal: LedgerManager) -> BatchOut:
    """Create up to 8189 accounts; one result per account, in order."""
    new = [account.to_new() for account in body.accounts]
    outcomes = context.database.run_write(
        lambda session: create_accounts(session, new, context.clock)
    )
    return BatchOut(results=[EventResult.of(outcome) for outcome in outcomes])


@router.get("/accounts/{account_id}", responses=error_responses(403, 404))
def get_account_by_id(
    account_id: IdPath, context: Context, principal: CurrentPrincipal
) -> AccountOut:
    """One account with its balances. Firm and integrator keys see only their organisation's."""
    with context.database.read() as session:
        account = get_account(session, account_id)
    if account is None:
        raise ApiError(404, "account_not_found", f"no account {account_id}")
    if not policy.can_read_owned(principal, account.owner_org_id):
        raise forbidden(f"account {account_id} belongs to another organisation")
    return AccountOut.of(account)


@router.get("/accounts", responses=error_responses(403))
def get_accounts(
    *,
    context: Context,
    principal: CurrentPrincipal,
    ledger: Annotated[int | None, Query(ge=1, le=LEDGER_MAX)] = None,
    code: Annotated[int | None, Query(ge=1, le=CODE_MAX)] = None,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[AccountOut]:
    """Accounts in id order. Firm and integrator keys see only their organisation's."""
    owner_org_id = owner_scope(principal)
    with context.database.read() as session:
        accounts = list_accounts(
            session,
            limit=limit,
            after_id=after_id,
            ledger=ledger,
            code=code,
            owner_org_id=owner_org_id,
        )
    return Page[AccountOut](
        items=[AccountOut.of(account) for account in accounts],
        next_after_id=next_after_id(accounts, limit),
    )

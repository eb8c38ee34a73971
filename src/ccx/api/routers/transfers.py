"""Transfers: written by the administrator and the centre operator, read by the owners of
either account and by read-all roles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from ccx.api.deps import Context, CurrentPrincipal, TransferWriter, forbidden, owner_scope
from ccx.api.errors import ApiError, created_status, error_responses
from ccx.api.routers import API_PREFIX
from ccx.api.routers.params import PAGE_SIZE_DEFAULT, AfterId, IdPath, Limit, next_after_id
from ccx.api.schemas.ledger import (
    BatchOut,
    EventResult,
    Page,
    TransferBatchIn,
    TransferCreated,
    TransferIn,
    TransferOut,
)
from ccx.auth import Principal, policy
from ccx.clock import Clock
from ccx.ids import ID_MAX
from ccx.ledger import NewTransfer, Transfer, TransferOutcome
from ccx.ledger.queries import (
    PAGE_SIZE_MAX,
    get_account,
    get_accounts,
    get_transfer,
    list_accounts,
    list_transfers,
)
from ccx.ledger.service import create_transfers

ORG_ACCOUNTS_MAX = 10 * PAGE_SIZE_MAX
"""Most accounts of one organisation whose transfers are listed together."""

router = APIRouter(prefix=API_PREFIX, tags=["transfers"], responses=error_responses(401, 422))


@router.post(
    "/transfers",
    status_code=201,
    responses={
        200: {"model": TransferCreated, "description": "A retry of the same transfer."},
        **error_responses(403, 409),
    },
)
def post_transfer(
    body: TransferIn, context: Context, _principal: TransferWriter, response: Response
) -> TransferCreated:
    """Create one transfer (201); a retry with the same id and body answers 200 `exists`.

    A rejection answers 409 (`exists_with_different_fields`, `id_already_failed`) or 422 with
    the ledger's result code as the error code.
    """
    new = body.to_new()
    outcome, transfer = context.database.run_write(
        lambda session: _create_transfer(session, new, context.clock)
    )
    context.metrics.count_transfers([outcome])
    response.status_code = created_status("transfer", outcome.id, outcome.result)
    assert transfer is not None
    return TransferCreated(result=outcome.result.value, transfer=TransferOut.of(transfer))


def _create_transfer(
    session: Session, new: NewTransfer, clock: Clock
) -> tuple[TransferOutcome, Transfer | None]:
    [outcome] = create_transfers(session, [new], clock)
    return outcome, get_transfer(session, new.id)


@router.post("/transfers/batch", responses=error_responses(403))
def post_transfers(body: TransferBatchIn, context: Context, _principal: TransferWriter) -> BatchOut:
    """Apply up to 8189 transfers in one transaction; one result per transfer, in order.

    Events flagged `linked` succeed or fail with the events after them up to the first one not
    flagged: when one fails, the others answer `linked_event_failed` and none takes effect.
    """
    new = [transfer.to_new() for transfer in body.transfers]
    outcomes = context.database.run_statement_write(
        lambda connection: create_transfers(connection, new, context.clock)
    )
    context.metrics.count_transfers(outcomes)
    return BatchOut(results=[EventResult.of(outcome) for outcome in outcomes])


@router.get("/transfers/{transfer_id}", responses=error_responses(403, 404))
def get_transfer_by_id(
    transfer_id: IdPath, context: Context, principal: CurrentPrincipal
) -> TransferOut:
    """One transfer, visible to whoever may read its debit or its credit account."""
    with context.database.read() as session:
        transfer = get_transfer(session, transfer_id)
        if transfer is None:
            raise ApiError(404, "transfer_not_found", f"no transfer {transfer_id}")
        accounts = get_accounts(session, [transfer.debit_account_id, transfer.credit_account_id])
    if not any(policy.can_read_owned(principal, a.owner_org_id) for a in accounts.values()):
        raise forbidden(f"transfer {transfer_id} moves no account of your organisation")
    return TransferOut.of(transfer)


@router.get("/transfers", responses=error_responses(403, 404))
def get_transfers(
    *,
    context: Context,
    principal: CurrentPrincipal,
    account_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    after_id: AfterId = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> Page[TransferOut]:
    """Transfers in id order, optionally only those of one account.

    Firm and integrator keys see only transfers that move their organisation's accounts.
    """
    with context.database.read() as session:
        transfers = _visible_transfers(session, principal, account_id, after_id, limit)
    return Page[TransferOut](
        items=[TransferOut.of(transfer) for transfer in transfers],
        next_after_id=next_after_id(transfers, limit),
    )


def _visible_transfers(
    session: Session, principal: Principal, account_id: int | None, after_id: int, limit: int
) -> list[Transfer]:
    if account_id is not None:
        account = get_account(session, account_id)
        if account is None:
            raise ApiError(404, "account_not_found", f"no account {account_id}")
        if not policy.can_read_owned(principal, account.owner_org_id):
            raise forbidden(f"account {account_id} belongs to another organisation")
        return list_transfers(session, limit=limit, after_id=after_id, account_id=account_id)
    owner_org_id = owner_scope(principal)
    if owner_org_id is None:
        return list_transfers(session, limit=limit, after_id=after_id)
    owned = _owned_account_ids(session, owner_org_id)
    return list_transfers(session, limit=limit, after_id=after_id, account_ids=owned)


def _owned_account_ids(session: Session, org_id: int) -> frozenset[int]:
    ids: list[int] = []
    while True:
        page = list_accounts(
            session, limit=PAGE_SIZE_MAX, after_id=ids[-1] if ids else 0, owner_org_id=org_id
        )
        ids.extend(account.id for account in page)
        if len(page) < PAGE_SIZE_MAX:
            return frozenset(ids)
        if len(ids) >= ORG_ACCOUNTS_MAX:
            raise ApiError(
                422,
                "too_many_accounts",
                f"the organisation has over {ORG_ACCOUNTS_MAX} accounts: filter by account_id",
            )

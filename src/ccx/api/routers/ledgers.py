"""Ledgers: one per programme."""

from __future__ import annotations

from fastapi import APIRouter

from ccx.api.deps import Context, CurrentPrincipal, LedgerManager
from ccx.api.errors import ApiError, error_responses
from ccx.api.routers import API_PREFIX
from ccx.api.schemas.ledger import LedgerIn, LedgerList, LedgerOut
from ccx.ledger import LedgerConflictError
from ccx.ledger.queries import list_ledgers
from ccx.ledger.service import create_ledger

router = APIRouter(prefix=API_PREFIX, tags=["ledgers"], responses=error_responses(401, 422))


@router.post("/ledgers", status_code=201, responses=error_responses(403, 409))
def post_ledger(body: LedgerIn, context: Context, _principal: LedgerManager) -> LedgerOut:
    """Create a ledger. Repeating the same request answers the same ledger."""
    try:
        ledger = context.database.run_write(
            lambda session: create_ledger(
                session,
                ledger_id=body.id,
                name=body.name,
                asset_scale=body.asset_scale,
                clock=context.clock,
            )
        )
    except LedgerConflictError as error:
        raise ApiError(409, "ledger_conflict", str(error)) from error
    return LedgerOut.of(ledger)


@router.get("/ledgers")
def get_ledgers(context: Context, _principal: CurrentPrincipal) -> LedgerList:
    """Every ledger, in id order."""
    with context.database.read() as session:
        ledgers = list_ledgers(session)
    return LedgerList(items=[LedgerOut.of(ledger) for ledger in ledgers])

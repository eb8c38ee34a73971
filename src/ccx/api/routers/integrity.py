"""Tamper evidence: checkpoints of the journal's hash chain, for publication."""

from __future__ import annotations

from fastapi import APIRouter

from ccx.api.deps import Context, IntegrityReader
from ccx.api.errors import error_responses
from ccx.api.routers import API_PREFIX
from ccx.api.schemas.ledger import CheckpointOut
from ccx.ledger.service import record_checkpoint

router = APIRouter(prefix=API_PREFIX, tags=["integrity"], responses=error_responses(401, 403))


@router.get("/ledger/checkpoint")
def get_checkpoint(context: Context, _principal: IntegrityReader) -> CheckpointOut:
    """Seal every committed journal entry, record a checkpoint, and answer it.

    The chain head and the Merkle root can be published; `ccx ledger verify` recomputes them.
    """
    checkpoint = context.database.run_write(
        lambda session: record_checkpoint(session, context.clock)
    )
    return CheckpointOut.of(checkpoint)

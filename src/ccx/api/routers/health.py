"""Liveness and metrics, for load balancers and Prometheus (no API key)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ccx.api.deps import Context
from ccx.api.errors import error_responses
from ccx.api.schemas.common import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", responses=error_responses(503))
def healthz(context: Context) -> Health:
    """200 when the database answers a trivial query, 503 when it cannot be reached."""
    with context.database.read() as session:
        session.execute(sa.select(1))
    return Health(status="ok")


@router.get("/metrics", response_class=Response)
def metrics(context: Context) -> Response:
    """Prometheus text exposition of this server's metrics."""
    return Response(context.metrics.render(), media_type=CONTENT_TYPE_LATEST)

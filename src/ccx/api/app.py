"""The application factory.

`create_app` wires settings, database and clock into a FastAPI application; nothing is built at
import time. While the application runs (its lifespan), a `Pulse` thread returns timed-out holds
and seals the journal every `settings.pulse_interval_s`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

import ccx
from ccx.api.deps import ApiContext
from ccx.api.errors import exception_handlers
from ccx.api.metrics import ApiMetrics, MetricsMiddleware
from ccx.api.pulse import Pulse
from ccx.api.routers import (
    API_PREFIX,
    accounts,
    consortia,
    exchange_capacity,
    exchange_rounds,
    health,
    integrity,
    ledgers,
    programmes,
    registry,
    transfers,
)
from ccx.clock import Clock, SystemClock
from ccx.config import Settings
from ccx.db import Database, open_database

OPENAPI_URL = f"{API_PREFIX}/openapi.json"
DOCS_URL = f"{API_PREFIX}/docs"

_DESCRIPTION = """\
The Compute Credit Exchange ledger over HTTP. Amounts are integers in micro-credits
(1 credit = one H100-hour equivalent = 1_000_000 micro-credits). Send an API key as
`Authorization: Bearer <token>` or `X-API-Key: <token>`.
"""


def create_app(
    settings: Settings, *, database: Database | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the HTTP API. A database passed in stays the caller's (it is not disposed)."""
    owns_database = database is None
    if database is None:
        database = open_database(settings.database_url, pool_size=settings.database_pool_size)
    context = ApiContext(
        settings=settings,
        database=database,
        clock=clock if clock is not None else SystemClock(),
        metrics=ApiMetrics(),
    )
    app = FastAPI(
        title="ccx",
        summary="Compute Credit Exchange API",
        description=_DESCRIPTION,
        version=ccx.__version__,
        openapi_url=OPENAPI_URL,
        docs_url=DOCS_URL,
        redoc_url=None,
        exception_handlers=exception_handlers(),
        lifespan=_lifespan(context, owns_database=owns_database),
    )
    app.state.context = context
    app.add_middleware(MetricsMiddleware, metrics=context.metrics)
    for routes in (
        health,
        ledgers,
        accounts,
        transfers,
        integrity,
        registry,
        programmes,
        consortia,
        exchange_capacity,
        exchange_rounds,
    ):
        app.include_router(routes.router)
    return app


def _lifespan(
    context: ApiContext, *, owns_database: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pulse = Pulse(context.database, context.clock, context.settings.pulse_interval_s)
        pulse.start()
        try:
            yield
        finally:
            await asyncio.to_thread(pulse.stop)
            if owns_database:
                context.database.dispose()

    return lifespan

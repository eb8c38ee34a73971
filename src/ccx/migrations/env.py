"""Alembic environment: runs on the connection that `ccx.db.upgrade` hands over."""

from __future__ import annotations

from alembic import context

import ccx.consortia.models  # registers the consortium tables on Base.metadata
import ccx.exchange.models  # registers the exchange tables on Base.metadata
import ccx.metering.models  # registers the metering tables on Base.metadata
import ccx.programs.models  # noqa: F401 - registers the programme tables on Base.metadata
from ccx.db import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("ccx migrations run through `ccx db upgrade`, on a given connection")
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()

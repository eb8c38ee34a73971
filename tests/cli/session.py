"""Driving `ccx` as a user would: run a command, read its JSON, count rows. Commands run on
the system clock, so dates are set around today (`TODAY`, UTC)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from ccx.cli.main import app
from ccx.db import Database

runner = CliRunner()
TODAY = datetime.now(tz=UTC).date()


def run(ccx: CliRunner, *args: str, code: int = 0) -> str:
    result = ccx.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def run_json(ccx: CliRunner, *args: str, code: int = 0) -> Any:
    return json.loads(run(ccx, *args, "--json", code=code))


def count(database: Database, table: str) -> int:
    with database.read() as session:
        return int(session.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)

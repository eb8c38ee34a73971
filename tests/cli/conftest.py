"""CLI fixtures: the command runner on the test database, and a clock at today for setting up
through the services."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from ccx.clock import NS_PER_S, SimulatedClock
from tests.cli.session import TODAY, runner


@pytest.fixture
def ccx(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CCX_DATABASE_URL", database_url)
    return runner


@pytest.fixture
def today_clock() -> SimulatedClock:
    """A simulated clock at the start of today (UTC), for setting up through the service."""
    midnight = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC)
    return SimulatedClock(int(midnight.timestamp()) * NS_PER_S)

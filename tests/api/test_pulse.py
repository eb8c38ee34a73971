"""The background pulse: expires timed-out holds and seals the journal while the app runs."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from ccx.api import create_app
from ccx.api.pulse import Pulse
from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.ledger.queries import chain_head
from tests.api.client import Keys, TestClient, settings_for
from tests.api.factories import (
    APPROPRIATION,
    POOL,
    WALLET_A,
    get_account,
    post_transfer,
    set_up_ledger,
    transfer_body,
)

WAIT_S = 10.0


def pulse_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "ccx-pulse"]


def test_the_running_app_returns_an_expired_hold(
    database: Database, clock: SimulatedClock, keys: Keys
) -> None:
    app = create_app(settings_for(database, pulse_interval_s=0.02), database=database, clock=clock)
    with TestClient(app) as client:
        assert len(pulse_threads()) == 1
        set_up_ledger(client, keys)
        post_transfer(client, keys, transfer_body(1, APPROPRIATION, POOL, 100))
        hold = transfer_body(2, POOL, WALLET_A, 60, flags=["pending"], timeout_s=30)
        post_transfer(client, keys, hold)
        assert get_account(client, keys, POOL)["debits_pending"] == 60

        clock.advance(31)
        deadline = time.monotonic() + WAIT_S
        while get_account(client, keys, POOL)["debits_pending"] and time.monotonic() < deadline:
            time.sleep(0.02)

        pool = get_account(client, keys, POOL)
        assert (pool["debits_pending"], pool["balance_available"]) == (0, 100)
        assert get_account(client, keys, WALLET_A)["credits_pending"] == 0
        late_post = {"id": 3, "pending_id": 2, "flags": ["post_pending_transfer"]}
        answer = client.post("/api/v1/transfers", json=late_post, headers=keys.admin)
        assert answer.json()["error"]["code"] == "pending_transfer_expired"
    assert pulse_threads() == []


def test_a_beat_seals_the_journal(database: Database, clock: SimulatedClock, keys: Keys) -> None:
    client = TestClient(create_app(settings_for(database), database=database, clock=clock))
    set_up_ledger(client, keys)
    post_transfer(client, keys, transfer_body(1, APPROPRIATION, POOL, 100))
    with database.read() as session:
        assert chain_head(session)[0] == 0

    Pulse(database, clock, interval_s=1.0).beat()

    with database.read() as session:
        assert chain_head(session)[0] == 1


def test_a_failing_duty_is_logged_and_not_raised(
    tmp_path: Path, clock: SimulatedClock, caplog: pytest.LogCaptureFixture
) -> None:
    unmigrated = Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with caplog.at_level(logging.ERROR, logger="ccx.api.pulse"):
        Pulse(unmigrated, clock, interval_s=1.0).beat()
    unmigrated.dispose()
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "pulse: could not expire pending transfers",
        "pulse: could not seal the journal",
    ]

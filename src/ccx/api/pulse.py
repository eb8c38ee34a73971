"""The server's background duties: return timed-out holds, then seal the journal.

A `Pulse` runs them on a thread every interval, each in its own write transaction. A failing
duty is logged and tried again on the next beat; it never stops the server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from ccx.clock import Clock
from ccx.db import Database
from ccx.ledger.service import expire_pending_transfers, seal_journal

logger = logging.getLogger(__name__)

STOP_WAIT_S = 30.0
"""Longest wait for a running beat to finish on shutdown."""


class Pulse:
    def __init__(self, database: Database, clock: Clock, interval_s: float) -> None:
        assert interval_s > 0
        self._database = database
        self._clock = clock
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ccx-pulse", daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop and wait for the beat in progress, if any."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(STOP_WAIT_S)

    def beat(self) -> None:
        """Run every duty once."""
        self._run_duty("expire pending transfers", self._expire)
        self._run_duty("seal the journal", seal_journal)

    def _expire(self, session: Session) -> int:
        return expire_pending_transfers(session, self._clock)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval_s):
            self.beat()

    def _run_duty(self, name: str, duty: Callable[[Session], int]) -> None:
        try:
            with self._database.write() as session:
                done = duty(session)
        except Exception:
            logger.exception("pulse: could not %s", name)
            return
        if done:
            logger.debug("pulse: %s: %d", name, done)

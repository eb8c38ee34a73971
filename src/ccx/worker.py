"""The worker: the periodic duties that keep credits, the exchange and the centre in step.

Each beat runs the duties in order, each in its own write transaction, each idempotent, so a
crash anywhere leaves nothing half-done and the next beat carries on:

1. pull usage from the centre (from the earliest live allocation's start) and store it;
2. settle: mark allocations whose jobs started, charge finished jobs, close ended allocations;
3. reclaim allocations with no job started within their grace period;
4. clear a round when the next one is due (rounds start on multiples of the slot length, at
   the next boundary or now when now is one, and clear the coming slots; a round already
   cleared for that start is not cleared again);
5. apply the plan to the centre (accounts and limits for live allocations);
6. expire timed-out holds, then lots and consortium pools past their expiry;
7. seal the journal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ccx.center.interfaces import Center
from ccx.clock import NS_PER_S, Clock
from ccx.consortia import service as consortia_service
from ccx.db import Database
from ccx.exchange import RoundParameters, rounds
from ccx.exchange import queries as exchange_queries
from ccx.ledger.service import expire_pending_transfers, seal_journal
from ccx.metering import queries as metering_queries
from ccx.metering import service as metering
from ccx.programs import service as programme_service

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DutyResult:
    duty: str
    done: int  # how many things it did (records, allocations, lots...)
    error: str | None = None


class Worker:
    """The duties over one database and one centre."""

    def __init__(
        self, database: Database, clock: Clock, center: Center, round_template: RoundParameters
    ) -> None:
        self._database = database
        self._clock = clock
        self._center = center
        self._round = round_template

    def beat(self) -> list[DutyResult]:
        """Run every duty once, in order; a failing duty is logged and the next one runs."""
        duties: list[tuple[str, Callable[[Session], int]]] = [
            ("import usage", self._import_usage),
            ("settle usage", self._settle),
            ("reclaim idle allocations", self._reclaim),
            ("clear a round", self._clear_round),
            ("apply the plan to the centre", self._apply_plan),
            ("expire holds", lambda s: expire_pending_transfers(s, self._clock)),
            ("expire lots", self._expire_lots),
            ("expire consortium pools", self._expire_pools),
            ("seal the journal", seal_journal),
        ]
        return [self._run(name, duty) for name, duty in duties]

    def _run(self, name: str, duty: Callable[[Session], int]) -> DutyResult:
        try:
            done = self._database.run_write(duty)
        except Exception as error:  # one duty's failure must not stop the rest
            logger.exception("worker: could not %s", name)
            return DutyResult(name, 0, f"{type(error).__name__}: {error}")
        return DutyResult(name, done)

    def _import_usage(self, session: Session) -> int:
        since_ns = metering_queries.usage_since_ns(session, self._clock.now_ns())
        report = metering.import_usage(session, self._center.usage_since(since_ns), self._clock)
        return report.inserted + report.updated

    def _settle(self, session: Session) -> int:
        report = metering.settle_usage(session, self._clock)
        return report.started + report.charged + report.closed

    def _reclaim(self, session: Session) -> int:
        return len(rounds.reclaim_idle(session, self._clock))

    def _clear_round(self, session: Session) -> int:
        start_ns = next_round_start_ns(self._clock.now_ns(), self._round.slot_s)
        if exchange_queries.round_starting_at(session, start_ns) is not None:
            return 0
        parameters = RoundParameters(
            start_ns=start_ns,
            slot_s=self._round.slot_s,
            slots=self._round.slots,
            policy=self._round.policy,
            firm_share_milli=self._round.firm_share_milli,
            integrator_share_milli=self._round.integrator_share_milli,
            group_share_milli=self._round.group_share_milli,
            floor_share_milli=self._round.floor_share_milli,
            grace_s=self._round.grace_s,
        )
        return len(rounds.clear_round(session, parameters, self._clock).allocations)

    def _apply_plan(self, session: Session) -> int:
        return len(self._center.apply(metering.centre_plan(session, self._clock)))

    def _expire_lots(self, session: Session) -> int:
        return len(programme_service.expire_lots(session, clock=self._clock).expired)

    def _expire_pools(self, session: Session) -> int:
        return len(consortia_service.expire_pools(session, clock=self._clock).expired)


def next_round_start_ns(now_ns: int, slot_s: int) -> int:
    """The next slot boundary (now, when now is one): rounds clear capacity from there on."""
    slot_ns = slot_s * NS_PER_S
    return -(-now_ns // slot_ns) * slot_ns


def run_forever(worker: Worker, interval_s: float, stop: threading.Event) -> None:
    """Beat every `interval_s` until `stop` is set."""
    while True:
        for result in worker.beat():
            if result.done or result.error:
                logger.info("worker: %s: %d%s", result.duty, result.done, result.error or "")
        if stop.wait(interval_s):
            return

"""A read transaction sees one snapshot, whatever commits meanwhile.

`ccx ledger verify` reads the journal, then the accounts; a transfer committed between those
reads must not show up in one and not the other.
"""

from __future__ import annotations

import sqlalchemy as sa

from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.ledger import service
from ccx.ledger.types import NewAccount, NewTransfer

COUNT_TRANSFERS = sa.text("SELECT count(*) FROM transfers")


def test_a_read_does_not_see_writes_committed_after_it_began(
    database: Database, clock: SimulatedClock
) -> None:
    with database.write() as session:
        service.create_ledger(session, ledger_id=1, name="snapshot", asset_scale=6, clock=clock)
        service.create_accounts(session, [NewAccount(1, 1, 1), NewAccount(2, 1, 1)], clock)
        service.create_transfers(session, [NewTransfer(10, 1, 2, 5, 1, 1)], clock)
    with database.read() as reader:
        assert reader.scalar(COUNT_TRANSFERS) == 1
        with database.write() as writer:
            service.create_transfers(writer, [NewTransfer(11, 1, 2, 5, 1, 1)], clock)
        assert reader.scalar(COUNT_TRANSFERS) == 1
    with database.read() as reader:
        assert reader.scalar(COUNT_TRANSFERS) == 2

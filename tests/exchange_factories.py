"""Exchange test data: pools, requests and round parameters on top of the programme factories.

The standard setting: the standard programme (100 credits per firm), firm 1 with its lot, a
certified integrator (number 2) holding a 50-credit mandate from it, an H100 pool of 4 devices
and an A100 pool of 8, and rounds of 4 slots of 6 hours from the clock's next full hour,
without caps.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ccx.clock import NS_PER_S, SimulatedClock
from ccx.db import Database
from ccx.exchange import NewPool, NewRequest, Pool, Request, RequestOption, RoundParameters
from ccx.exchange import service as exchange_service
from ccx.programs import Mandate
from ccx.registry import Organisation
from tests.programs_factories import (
    CREDIT,
    apply,
    certified_integrator,
    grant_mandate,
    make_programme,
    register,
)

HOUR_NS = 3600 * NS_PER_S


@dataclass(frozen=True)
class Setting:
    firm: Organisation
    integrator: Organisation
    mandate: Mandate
    h100: Pool
    a100: Pool


def make_pool(
    database: Database, clock: SimulatedClock, name: str, code: str, devices: int
) -> Pool:
    with database.write() as session:
        return exchange_service.create_pool(session, NewPool(name, code, devices), clock)


def standard_setting(database: Database, clock: SimulatedClock) -> Setting:
    make_programme(database, clock)
    firm = register(database, clock, 1)
    apply(database, clock, firm.id)
    integrator = certified_integrator(database, clock, 2)
    mandate = grant_mandate(database, clock, firm.id, integrator.id)
    return Setting(
        firm=firm,
        integrator=integrator,
        mandate=mandate,
        h100=make_pool(database, clock, "h100-a", "H100", 4),
        a100=make_pool(database, clock, "a100-a", "A100", 8),
    )


def round_start_ns(clock: SimulatedClock) -> int:
    """The next full hour."""
    return (clock.now_ns() // HOUR_NS + 1) * HOUR_NS


def new_request(mandate_id: int, clock: SimulatedClock, **changes: Any) -> NewRequest:
    start = round_start_ns(clock)
    values: dict[str, Any] = {
        "mandate_id": mandate_id,
        "key": "r1",
        "workload_class": "vision-finetune",
        "devices_per_job": 1,
        "work_device_hours": 10,
        "earliest_start_ns": start,
        "deadline_ns": start + 24 * HOUR_NS,
        "max_credits_micro": 20 * CREDIT,
        "options": (RequestOption("H100", 1000),),
    }
    return dataclasses.replace(NewRequest(**values), **changes)


def file(database: Database, clock: SimulatedClock, mandate_id: int, **changes: Any) -> Request:
    with database.write() as session:
        return exchange_service.file_request(
            session, new_request(mandate_id, clock, **changes), clock
        )


def parameters(clock: SimulatedClock, **changes: Any) -> RoundParameters:
    """A round from the next full hour; the pools are small, so no caps unless asked for."""
    shares = ("firm_share_milli", "integrator_share_milli", "group_share_milli")
    uncapped = dict.fromkeys(shares, 1000)
    return dataclasses.replace(
        RoundParameters(start_ns=round_start_ns(clock)), **(uncapped | changes)
    )

"""The exchange's capacity, rates and requests, on both databases."""

from __future__ import annotations

import re

import pytest

from ccx.clock import NS_PER_S, SimulatedClock
from ccx.db import Database
from ccx.exchange import (
    AcceleratorKind,
    AcceleratorType,
    NewPool,
    RequestOption,
    RequestStatus,
)
from ccx.exchange import queries as exchange_queries
from ccx.exchange import service as exchange_service
from ccx.exchange.catalogue import DEFAULT_RATES_FROM_NS
from ccx.programs import ConflictError, InvalidRequestError, NotFoundError, RefusedError
from ccx.programs import mandates as mandate_service
from tests.exchange_factories import HOUR_NS, file, make_pool, new_request, standard_setting
from tests.programs_factories import CREDIT


def test_the_shipped_catalogue_holds_the_reference_rates(database: Database) -> None:
    with database.read() as session:
        rates = exchange_queries.rates_in_force(session, DEFAULT_RATES_FROM_NS)
        types = {item.code: item for item in exchange_queries.list_accelerator_types(session)}
    in_credits = {code: rate.rate_micro / CREDIT for code, rate in rates.items()}
    assert in_credits["H100"] == in_credits["H200"] == 4 * in_credits["A100"] == 1
    assert in_credits["B200"] == 2.25
    assert types["RNGD"].kind is AcceleratorKind.NPU
    assert types["H200"].memory_gb == 141
    with database.read() as session:
        assert exchange_queries.rates_in_force(session, DEFAULT_RATES_FROM_NS - 1) == {}


def test_a_new_rate_version_takes_effect_from_its_date(
    database: Database, clock: SimulatedClock
) -> None:
    later = clock.now_ns() + 24 * HOUR_NS
    with database.write() as session:
        exchange_service.publish_rate(
            session,
            accelerator="H200",
            rate_micro=1_300_000,
            effective_from_ns=later,
            source="market premium",
            clock=clock,
        )
    with database.read() as session:
        assert exchange_queries.rates_in_force(session, later - 1)["H200"].rate_micro == CREDIT
        assert exchange_queries.rates_in_force(session, later)["H200"].rate_micro == 1_300_000
        assert len(exchange_queries.list_rates(session, accelerator="H200")) == 2


@pytest.mark.parametrize(
    ("accelerator", "rate_micro", "from_past", "expected"),
    [
        ("X9", CREDIT, False, "unknown accelerator type 'X9'"),
        ("H100", 0, False, "the rate (micro-credits per device-hour) must be 1"),
        ("H100", CREDIT, True, "a new rate takes effect now or later"),
    ],
)
def test_bad_rates_are_refused_with_a_reason(
    database: Database,
    clock: SimulatedClock,
    *,
    accelerator: str,
    rate_micro: int,
    from_past: bool,
    expected: str,
) -> None:
    effective = clock.now_ns() + (-1 if from_past else 1) * NS_PER_S
    with database.write() as session, pytest.raises(InvalidRequestError, match=re.escape(expected)):
        exchange_service.publish_rate(
            session,
            accelerator=accelerator,
            rate_micro=rate_micro,
            effective_from_ns=effective,
            source="test",
            clock=clock,
        )


def test_an_operator_adds_a_type_once(database: Database) -> None:
    gb200 = AcceleratorType(
        "GB200", "NVIDIA GB200", "NVIDIA", AcceleratorKind.GPU, 186, 2500, 5000, "datasheet"
    )
    with database.write() as session:
        exchange_service.add_accelerator_type(session, gb200)
        exchange_service.add_accelerator_type(session, gb200)
    with database.write() as session, pytest.raises(ConflictError):
        exchange_service.add_accelerator_type(
            session,
            AcceleratorType(
                "GB200", "NVIDIA GB200", "NVIDIA", AcceleratorKind.GPU, 192, 2500, 5000, "x"
            ),
        )
    with database.write() as session, pytest.raises(InvalidRequestError, match="code"):
        exchange_service.add_accelerator_type(
            session,
            AcceleratorType("gb 200", "x", "x", AcceleratorKind.GPU, 1, None, None, "x"),
        )


def test_pools_with_maintenance(database: Database, clock: SimulatedClock) -> None:
    pool = make_pool(database, clock, "b200-haenam-1", "B200", 4080)
    again = make_pool(database, clock, "b200-haenam-1", "B200", 4080)
    assert again.id == pool.id
    start = clock.now_ns() + HOUR_NS
    with database.write() as session:
        window = exchange_service.schedule_maintenance(
            session,
            pool_id=pool.id,
            start_ns=start,
            end_ns=start + 4 * HOUR_NS,
            devices_out=510,
            reason="liquid cooling service",
            clock=clock,
        )
        exchange_service.resize_pool(session, pool_id=pool.id, devices=4100, clock=clock)
    with database.read() as session:
        shown = exchange_queries.get_pool(session, pool.id, now_ns=clock.now_ns())
    assert shown is not None
    assert (shown.devices, shown.maintenance) == (4100, (window,))


@pytest.mark.parametrize(
    ("name", "code", "devices", "expected"),
    [
        ("", "H100", 1, "the pool name must not be empty"),
        ("p", "Z1", 1, "unknown accelerator type 'Z1'"),
        ("p", "H100", -1, "the device count must be 0 to"),
    ],
)
def test_bad_pools_are_refused(
    database: Database, clock: SimulatedClock, *, name: str, code: str, devices: int, expected: str
) -> None:
    with database.write() as session, pytest.raises(InvalidRequestError, match=re.escape(expected)):
        exchange_service.create_pool(session, NewPool(name, code, devices), clock)


def test_maintenance_needs_a_real_window(database: Database, clock: SimulatedClock) -> None:
    pool = make_pool(database, clock, "h100", "H100", 8)
    start = clock.now_ns() + HOUR_NS
    with database.write() as session, pytest.raises(InvalidRequestError) as refused:
        exchange_service.schedule_maintenance(
            session,
            pool_id=pool.id,
            start_ns=start,
            end_ns=start,
            devices_out=9,
            reason="",
            clock=clock,
        )
    assert len(refused.value.problems) == 3
    with database.write() as session, pytest.raises(NotFoundError):
        exchange_service.resize_pool(session, pool_id=999, devices=1, clock=clock)


def test_an_integrator_files_a_request_once(database: Database, clock: SimulatedClock) -> None:
    setting = standard_setting(database, clock)
    request = file(database, clock, setting.mandate.id)
    assert request.status is RequestStatus.OPEN
    assert (request.firm_id, request.integrator_id) == (setting.firm.id, setting.integrator.id)
    assert file(database, clock, setting.mandate.id) == request
    with pytest.raises(ConflictError, match="other fields"):
        file(database, clock, setting.mandate.id, work_device_hours=11)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"options": (RequestOption("TPU", 1000),)}, "unknown accelerator type 'TPU'"),
        ({"deadline_ns": 0}, "the deadline must come after the earliest start"),
        ({"max_credits_micro": 51 * CREDIT}, "exceed what the mandate still allows"),
        ({"devices_per_job": 0}, "the devices per job must be 1"),
        ({"options": ()}, "a request accepts 1 to 16 accelerator types"),
        (
            {"options": (RequestOption("H100", 1000), RequestOption("H100", 900))},
            "each accelerator type is listed once",
        ),
        ({"key": ""}, "key must not be empty"),
    ],
)
def test_bad_requests_are_refused_with_every_problem(
    database: Database, clock: SimulatedClock, changes: dict[str, object], expected: str
) -> None:
    setting = standard_setting(database, clock)
    with pytest.raises(InvalidRequestError, match=re.escape(expected)):
        file(database, clock, setting.mandate.id, **changes)
    with database.read() as session:
        assert exchange_queries.list_requests(session, limit=10) == []


def test_a_request_under_a_revoked_mandate_is_refused(
    database: Database, clock: SimulatedClock
) -> None:
    setting = standard_setting(database, clock)
    with database.write() as session:
        mandate_service.revoke_mandate(session, mandate_id=setting.mandate.id, clock=clock)
    with pytest.raises(RefusedError, match="revoked"):
        file(database, clock, setting.mandate.id)
    with database.write() as session, pytest.raises(NotFoundError):
        exchange_service.file_request(session, new_request(999, clock), clock)


def test_a_cancelled_request_stays_cancelled(database: Database, clock: SimulatedClock) -> None:
    setting = standard_setting(database, clock)
    request = file(database, clock, setting.mandate.id)
    with database.write() as session:
        cancelled = exchange_service.cancel_request(session, request_id=request.id)
        again = exchange_service.cancel_request(session, request_id=request.id)
    assert cancelled.status is again.status is RequestStatus.CANCELLED


def test_throughput_is_learned_as_a_running_mean(database: Database, clock: SimulatedClock) -> None:
    setting = standard_setting(database, clock)
    learned = []
    with database.write() as session:
        for measured in (800, 900, 1000):
            learned.append(
                exchange_service.learn_throughput(
                    session,
                    integrator_id=setting.integrator.id,
                    workload_class="vision-finetune",
                    accelerator="A100",
                    measured_milli=measured,
                )
            )
    assert learned == [800, 850, 900]
    with database.read() as session:
        table = exchange_queries.learned_throughputs(session, [setting.integrator.id])
    assert table == {(setting.integrator.id, "vision-finetune", "A100"): 900}

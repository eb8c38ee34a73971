"""`ccx exchange`, driven as a user would, on both databases: pools, a request, a dry run, a
round, its allocation's hold and explanation, settlement; bad input. The firm, its grant and
the mandate are set up through the services on a clock at today (the command runs on the
system clock)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.programs import Mandate
from tests.cli.session import TODAY, count, run, run_json
from tests.programs_factories import (
    CREDIT,
    apply,
    certified_integrator,
    grant_mandate,
    make_programme,
    register,
    verified_ledger,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.usefixtures("verified_ledger")
UNCAPPED = ["--firm-cap", "1", "--integrator-cap", "1", "--group-cap", "1"]


def next_hour() -> datetime:
    now = datetime.now(tz=UTC)
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%MZ")


def mandate(database: Database, clock: SimulatedClock) -> Mandate:
    """Programme 7, firm 1 with its 100-credit lot, a 50-credit mandate to integrator 2."""
    make_programme(database, clock, closes_on=TODAY + timedelta(days=60))
    firm = register(database, clock, 1)
    apply(database, clock, firm.id)
    integrator = certified_integrator(database, clock, 2)
    return grant_mandate(
        database, clock, firm.id, integrator.id, valid_until=TODAY + timedelta(days=30)
    )


def file_args(mandate_id: int, start: datetime, *extra: str) -> list[str]:
    return [
        "exchange", "requests", "file", "--mandate", str(mandate_id), "--key", "r1",
        "--workload", "vision-finetune", "--devices-per-job", "1", "--device-hours", "40",
        "--option", "H100=1.0", "--option", "A100=0.6", "--earliest", iso(start),
        "--deadline", iso(start + timedelta(hours=24)), "--max-credits", "5", *extra,
    ]  # fmt: skip


def test_an_exchange_session(
    ccx: CliRunner, database: Database, today_clock: SimulatedClock
) -> None:
    granted = mandate(database, today_clock)
    start = next_hour()
    assert "pool 1 'h100-a': 4 H100" in run(
        ccx, "exchange", "pools", "create", "--name", "h100-a", "--type", "H100", "--devices", "4"
    )
    run(ccx, "exchange", "pools", "create", "--name", "a100-a", "--type", "A100", "--devices", "8")
    assert "A100" in run(ccx, "exchange", "types", "list")
    assert "(open) under mandate" in run(ccx, *file_args(granted.id, start))
    [request] = run_json(ccx, "exchange", "requests", "list", "--status", "open")

    clear = ["exchange", "clear", "--start", iso(start), *UNCAPPED]
    planned = run(ccx, *clear, "--dry-run")
    assert "dry run (lp), nothing committed" in planned
    plan = run_json(ccx, *clear, "--dry-run")
    [allocation] = plan["allocations"]
    assert allocation["pool_id"] == 2  # a credit buys more work on the A100 pool
    assert count(database, "exchange_rounds") == 0

    outcome = run_json(ccx, *clear)
    [held] = outcome["allocations"]
    assert (held["request_id"], held["accelerator"], held["device_hours"]) == (
        request["id"], "A100", 20
    )  # fmt: skip
    assert held["amount_micro"] == 5 * CREDIT
    assert outcome["round"]["allocated_device_hours"] == 20
    shown = run(ccx, "exchange", "rounds", "show", str(outcome["round"]["id"]))
    assert "capacity 288 device-hours" in shown
    explained = run(ccx, "exchange", "allocations", "explain", str(held["id"]))
    assert "binding: " in explained
    assert "budget" in explained
    assert "H100-hours" in explained
    [listed] = run_json(ccx, "exchange", "allocations", "list", "--firm", str(granted.firm_id))
    assert listed["status"] == "held"
    assert "running" in run(ccx, "exchange", "allocations", "start", str(held["id"]))
    settled = run(
        ccx, "exchange", "allocations", "settle", str(held["id"]),
        "--used-device-hours", "10.5", "--utilisation", "0.85",
    )  # fmt: skip
    assert "posted 2.625 credits" in settled
    assert "0 allocation(s) reclaimed" in run(ccx, "exchange", "reclaim")
    [score] = run_json(ccx, "exchange", "scores", "--integrator", str(granted.integrator_id))
    assert score["allocations"] == 1
    [round_] = run_json(ccx, "exchange", "rounds", "list")
    assert round_["used_device_hours"] == 10


def test_operator_commands(ccx: CliRunner, database: Database) -> None:
    later = iso(next_hour() + timedelta(days=1))
    published = run(
        ccx, "exchange", "rates", "publish", "--type", "H200", "--rate", "1.3",
        "--from", later, "--source", "market premium",
    )  # fmt: skip
    assert "H200 at 1.3 credits per device-hour" in published
    assert len(run_json(ccx, "exchange", "rates", "list", "--type", "H200")) == 2
    run(
        ccx, "exchange", "types", "add", "--code", "GB200", "--name", "NVIDIA GB200",
        "--vendor", "NVIDIA", "--kind", "gpu", "--memory-gb", "186", "--source", "datasheet",
    )  # fmt: skip
    assert "GB200" in run(ccx, "exchange", "types", "list")
    run(ccx, "exchange", "pools", "create", "--name", "b200", "--type", "B200", "--devices", "8")
    assert "16 B200" in run(ccx, "exchange", "pools", "resize", "1", "--devices", "16")
    window = run(
        ccx, "exchange", "pools", "maintenance", "1", "--start", later,
        "--end", iso(next_hour() + timedelta(days=2)), "--devices-out", "4", "--reason", "bios",
    )  # fmt: skip
    assert "4 out" in window
    [pool] = run_json(ccx, "exchange", "pools", "list")
    assert len(pool["maintenance"]) == 1
    assert count(database, "exchange_price_caps") == 0


def test_bad_input_exits_2_and_writes_nothing(
    ccx: CliRunner, database: Database, today_clock: SimulatedClock
) -> None:
    granted = mandate(database, today_clock)
    start = next_hour()
    base = file_args(granted.id, start)
    bad = [
        [*base[:-2], "--max-credits", "-1"],
        [*base[:16], "A100", *base[17:]],  # an option without '='
        [*base[:20], "tomorrow", *base[21:]],  # not an ISO time
        [*base, "--option", "X9=1"],  # an unknown type
        [*base[:19], "--deadline", iso(start - timedelta(hours=1)), "--max-credits", "5"],
        [*base[:-2], "--max-credits", "500"],  # more than the mandate allows
    ]
    for args in bad:
        assert "error" in run(ccx, *args, code=2).lower()
    assert count(database, "exchange_requests") == 0
    run(ccx, "exchange", "pools", "create", "--name", "p", "--type", "X9", "--devices", "1", code=2)
    run(ccx, "exchange", "price-cap", "set", "--programme", "7", "--times", "0.5", code=2)
    run(ccx, "exchange", "price-cap", "set", "--programme", "7", "--times", "x", code=2)
    run(ccx, "exchange", "rates", "publish", "--type", "H100", "--rate", "1", "--source", "s",
        "--from", "2020-01-01T00:00Z", code=2)  # fmt: skip
    run(ccx, "exchange", "clear", "--policy", "auction", "--dry-run", code=2)
    run(ccx, "exchange", "clear", "--start", "soon", code=2)
    run(ccx, "exchange", "pools", "show", "9", code=1)
    run(ccx, "exchange", "allocations", "explain", "9", code=1)
    assert count(database, "exchange_pools") == 0
    assert count(database, "exchange_rounds") == 0
    assert json.loads(run(ccx, "exchange", "requests", "list", "--json")) == []


def test_measured_throughput_is_reported(ccx: CliRunner, database: Database) -> None:
    integrator = certified_integrator(database, SimulatedClock(), 2)
    args = ["exchange", "throughput", "--integrator", str(integrator.id), "--workload", "llm-8b"]
    assert "mean throughput 0.800" in run(ccx, *args, "--type", "a100", "--throughput", "0.8")
    assert "mean throughput 0.900" in run(ccx, *args, "--type", "A100", "--throughput", "1")
    assert "not a number" in run(ccx, *args, "--type", "A100", "--throughput", "fast", code=2)
    assert "unknown accelerator" in run(ccx, *args, "--type", "TPU", "--throughput", "1", code=2)
    assert count(database, "exchange_learned_throughput") == 1

"""Exchange routes over HTTP, on both databases: a round end to end (pools, a request, a dry
run, the round, the allocation's hold and explanation, reclaim), who may do what, bad input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from ccx.auth import Role
from ccx.clock import SimulatedClock
from ccx.db import Database
from tests.api.client import TestClient, assert_error, bearer, issue_token
from tests.exchange_factories import HOUR_NS, round_start_ns
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    apply,
    certified_integrator,
    grant_mandate,
    make_programme,
    register,
    verified_ledger,  # noqa: F401 - a fixture
)

API = "/api/v1/exchange"
UNCAPPED = {"firm_share_milli": 1000, "integrator_share_milli": 1000, "group_share_milli": 1000}
pytestmark = pytest.mark.usefixtures("verified_ledger")


@dataclass(frozen=True)
class World:
    """Firm 1 with a mandate to integrator 2; firm 3 with a mandate to integrator 4."""

    mandate: int
    other_mandate: int
    firm: int
    integrator: int
    keys: Mapping[str, dict[str, str]]


@pytest.fixture
def world(database: Database, clock: SimulatedClock) -> World:
    make_programme(database, clock)
    firm, other_firm = register(database, clock, 1), register(database, clock, 3)
    integrator = certified_integrator(database, clock, 2)
    other_integrator = certified_integrator(database, clock, 4)
    for org in (firm, other_firm):
        apply(database, clock, org.id)
    mandate = grant_mandate(database, clock, firm.id, integrator.id)
    other = grant_mandate(database, clock, other_firm.id, other_integrator.id)

    def key(role: Role, org_id: int | None = None) -> dict[str, str]:
        return bearer(issue_token(database, clock, role, org_id))

    return World(
        mandate=mandate.id,
        other_mandate=other.id,
        firm=firm.id,
        integrator=integrator.id,
        keys={
            "operator": key(Role.OPERATOR),
            "admin": key(Role.ADMIN),
            "auditor": key(Role.AUDITOR),
            "firm": key(Role.FIRM, firm.id),
            "other_firm": key(Role.FIRM, other_firm.id),
            "integrator": key(Role.INTEGRATOR, integrator.id),
            "other_integrator": key(Role.INTEGRATOR, other_integrator.id),
        },
    )


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def request_body(world: World, clock: SimulatedClock, **changes: Any) -> dict[str, Any]:
    start = round_start_ns(clock)
    return {
        "mandate_id": world.mandate,
        "key": "r1",
        "workload_class": "vision-finetune",
        "devices_per_job": 1,
        "work_device_hours": 40,
        "earliest_start_ns": start,
        "deadline_ns": start + 24 * HOUR_NS,
        "max_credits_micro": 5 * CREDIT,
        "options": [
            {"accelerator": "H100", "throughput_milli": 1000},
            {"accelerator": "A100", "throughput_milli": 600},
        ],
    } | changes


def make_pools(client: TestClient, world: World) -> list[int]:
    return [
        ok(
            client.post(
                f"{API}/pools",
                json={"name": name, "accelerator": code, "devices": devices},
                headers=world.keys["operator"],
            ),
            201,
        )["id"]
        for name, code, devices in (("h100-a", "H100", 4), ("a100-a", "A100", 8))
    ]


def file_and_clear(client: TestClient, world: World, clock: SimulatedClock) -> dict[str, Any]:
    make_pools(client, world)
    body = request_body(world, clock)
    ok(client.post(f"{API}/requests", json=body, headers=world.keys["integrator"]), 201)
    outcome = ok(client.post(f"{API}/rounds", json=UNCAPPED, headers=world.keys["operator"]), 201)
    [allocation] = outcome["allocations"]
    return dict(allocation)


def test_a_round_over_http(client: TestClient, world: World, clock: SimulatedClock) -> None:
    _, a100 = make_pools(client, world)
    filed = ok(
        client.post(
            f"{API}/requests", json=request_body(world, clock), headers=world.keys["integrator"]
        ),
        201,
    )
    assert (filed["status"], filed["firm_id"]) == ("open", world.firm)

    dry = ok(
        client.post(
            f"{API}/rounds", json=UNCAPPED | {"dry_run": True}, headers=world.keys["operator"]
        )
    )
    assert dry["dry_run"] is True
    assert dry["round"] is None
    [planned] = dry["plan"]["allocations"]
    assert (planned["pool_id"], planned["accelerator"]) == (a100, "A100")
    assert len(dry["plan"]["prices"]) == 2 * 4
    assert ok(client.get(f"{API}/rounds", headers=world.keys["firm"]))["items"] == []

    outcome = ok(client.post(f"{API}/rounds", json=UNCAPPED, headers=world.keys["operator"]), 201)
    [allocation] = outcome["allocations"]
    assert (allocation["pool_id"], allocation["device_hours"]) == (a100, 20)
    assert allocation["amount_micro"] == 5 * CREDIT
    assert allocation["status"] == "held"
    assert "budget" in allocation["explanation"]["binding"]
    assert allocation["explanation"]["alternatives"][0]["pool_id"] == a100
    round_ = ok(client.get(f"{API}/rounds/{outcome['round']['id']}", headers=world.keys["firm"]))
    assert round_["allocated_device_hours"] == 20
    assert round_["capacity_device_hours"] == (4 + 8) * 24

    mine = ok(client.get(f"{API}/allocations/{allocation['id']}", headers=world.keys["firm"]))
    assert mine == allocation
    request = ok(client.get(f"{API}/requests/{filed['id']}", headers=world.keys["integrator"]))
    assert (request["status"], request["committed_micro"]) == ("open", 5 * CREDIT)

    reclaim = f"{API}/reclaim"
    assert ok(client.post(reclaim, headers=world.keys["operator"]))["reclaimed"] == []
    clock.advance(ns=allocation["reclaim_after_ns"] - clock.now_ns())
    reclaimed = ok(client.post(reclaim, headers=world.keys["operator"]))
    assert reclaimed["released_micro"] == 5 * CREDIT
    [score] = ok(client.get(f"{API}/scores", headers=world.keys["integrator"]))
    assert (score["integrator_id"], score["reclaimed"]) == (world.integrator, 1)
    cancelled = client.post(
        f"{API}/requests/{filed['id']}/cancel", headers=world.keys["integrator"]
    )
    assert ok(cancelled)["status"] == "cancelled"


def test_who_may_do_what(client: TestClient, world: World, clock: SimulatedClock) -> None:
    keys = world.keys
    pool = {"name": "p", "accelerator": "H100", "devices": 1}
    assert_error(
        client.post(f"{API}/pools", json=pool, headers=keys["integrator"]), 403, "forbidden"
    )
    assert_error(
        client.post(f"{API}/rounds", json={}, headers=keys["integrator"]), 403, "forbidden"
    )
    assert_error(client.post(f"{API}/reclaim", headers=keys["admin"]), 403, "forbidden")
    rate = {"accelerator": "H200", "rate_micro": 1_300_000, "source": "premium"}
    assert_error(client.post(f"{API}/rates", json=rate, headers=keys["firm"]), 403, "forbidden")
    cap = f"{API}/price-caps/{PROGRAMME_ID}"
    assert_error(
        client.put(cap, json={"price_cap_milli": 1200}, headers=keys["firm"]), 403, "forbidden"
    )
    assert ok(client.put(cap, json={"price_cap_milli": 1200}, headers=keys["admin"])) == {
        "programme_id": PROGRAMME_ID,
        "price_cap_milli": 1200,
    }
    body = request_body(world, clock)
    assert_error(
        client.post(f"{API}/requests", json=body, headers=keys["other_integrator"]),
        403,
        "forbidden",
    )
    assert_error(client.post(f"{API}/requests", json=body, headers=keys["firm"]), 403, "forbidden")

    allocation = file_and_clear(client, world, clock)
    one = f"{API}/allocations/{allocation['id']}"
    assert_error(client.get(one, headers=keys["other_firm"]), 403, "forbidden")
    assert_error(client.get(one, headers=keys["other_integrator"]), 403, "forbidden")
    assert ok(client.get(one, headers=keys["auditor"]))["id"] == allocation["id"]
    listing = f"{API}/allocations"
    assert ok(client.get(listing, headers=keys["other_firm"]))["items"] == []
    assert len(ok(client.get(listing, headers=keys["firm"]))["items"]) == 1
    asked_for_another = client.get(
        listing, params={"firm_id": world.firm}, headers=keys["other_firm"]
    )
    assert ok(asked_for_another)["items"] == []  # a firm's filter is always its own
    assert ok(client.get(f"{API}/requests", headers=keys["other_integrator"]))["items"] == []
    request = f"{API}/requests/{allocation['request_id']}"
    assert_error(client.get(request, headers=keys["other_firm"]), 403, "forbidden")
    assert_error(client.post(f"{request}/cancel", headers=keys["firm"]), 403, "forbidden")
    scores = f"{API}/scores"
    theirs = {"integrator_id": world.integrator}
    assert_error(
        client.get(scores, params=theirs, headers=keys["other_integrator"]), 403, "forbidden"
    )
    assert_error(client.get(scores, headers=keys["firm"]), 403, "forbidden")
    assert len(ok(client.get(scores, headers=keys["auditor"]))) == 2


def test_bad_input_is_refused_with_reasons(
    client: TestClient, world: World, clock: SimulatedClock
) -> None:
    keys = world.keys
    unknown = {"name": "p", "accelerator": "X9", "devices": 1}
    error = assert_error(
        client.post(f"{API}/pools", json=unknown, headers=keys["operator"]), 422, "invalid_input"
    )
    assert "unknown accelerator type 'X9'" in error["details"][0]
    strings = {"name": "p", "accelerator": "H100", "devices": "4"}
    assert_error(
        client.post(f"{API}/pools", json=strings, headers=keys["operator"]), 422, "invalid_request"
    )
    body = request_body(world, clock)
    backwards = body | {"deadline_ns": body["earliest_start_ns"]}
    error = assert_error(
        client.post(f"{API}/requests", json=backwards, headers=keys["integrator"]),
        422,
        "invalid_input",
    )
    assert "the deadline must come after the earliest start" in error["details"]
    too_much = body | {"max_credits_micro": 500 * CREDIT}
    assert_error(
        client.post(f"{API}/requests", json=too_much, headers=keys["integrator"]),
        422,
        "invalid_input",
    )
    huge = body | {"mandate_id": 2**70}
    assert_error(
        client.post(f"{API}/requests", json=huge, headers=keys["integrator"]),
        422,
        "invalid_request",
    )
    missing = body | {"mandate_id": 12345}
    assert_error(
        client.post(f"{API}/requests", json=missing, headers=keys["integrator"]), 404, "not_found"
    )
    for bad_round in ({"slots": 0}, {"policy": "auction", "dry_run": True}, {"slot_s": 60}):
        answer = client.post(f"{API}/rounds", json=bad_round, headers=keys["operator"])
        assert answer.status_code == 422, answer.text
    past_rate = {"accelerator": "H100", "rate_micro": CREDIT, "source": "s", "effective_from_ns": 1}
    assert_error(
        client.post(f"{API}/rates", json=past_rate, headers=keys["operator"]), 422, "invalid_input"
    )
    assert_error(
        client.put(
            f"{API}/price-caps/{PROGRAMME_ID}", json={"price_cap_milli": 500}, headers=keys["admin"]
        ),
        422,
        "invalid_input",
    )
    assert_error(client.get(f"{API}/allocations/9", headers=keys["auditor"]), 404, "not_found")
    assert_error(
        client.get(f"{API}/scores", params={"integrator_id": 0}, headers=keys["auditor"]),
        422,
        "invalid_request",
    )
    assert ok(client.get(f"{API}/requests", headers=keys["auditor"]))["items"] == []
    assert ok(client.get(f"{API}/pools", headers=keys["auditor"]))["items"] == []


def test_capacity_over_http(client: TestClient, world: World, clock: SimulatedClock) -> None:
    keys = world.keys
    later = clock.now_ns() + 24 * HOUR_NS
    rate = {"accelerator": "H200", "rate_micro": 1_300_000, "source": "premium"}
    published = ok(
        client.post(
            f"{API}/rates", json=rate | {"effective_from_ns": later}, headers=keys["operator"]
        ),
        201,
    )
    assert published["effective_from_ns"] == later
    rates = ok(client.get(f"{API}/rates", params={"accelerator": "H200"}, headers=keys["firm"]))
    assert [item["rate_micro"] for item in rates] == [CREDIT, 1_300_000]
    gb200 = {
        "code": "GB200",
        "name": "NVIDIA GB200",
        "vendor": "NVIDIA",
        "kind": "gpu",
        "memory_gb": 186,
        "source": "datasheet",
    }
    ok(client.post(f"{API}/types", json=gb200, headers=keys["admin"]), 201)
    assert_error(client.post(f"{API}/types", json=gb200, headers=keys["firm"]), 403, "forbidden")
    assert "GB200" in [
        item["code"] for item in ok(client.get(f"{API}/types", headers=keys["firm"]))
    ]
    h100, _ = make_pools(client, world)
    resized = client.patch(f"{API}/pools/{h100}", json={"devices": 16}, headers=keys["operator"])
    assert ok(resized)["devices"] == 16
    window = {"start_ns": later, "end_ns": later + HOUR_NS, "devices_out": 4, "reason": "bios"}
    ok(client.post(f"{API}/pools/{h100}/maintenance", json=window, headers=keys["operator"]), 201)
    shown = ok(client.get(f"{API}/pools/{h100}", headers=keys["integrator"]))
    assert [item["devices_out"] for item in shown["maintenance"]] == [4]
    page = ok(client.get(f"{API}/pools", params={"limit": 1}, headers=keys["firm"]))
    assert page["next_after_id"] == h100
    assert_error(client.get(f"{API}/pools/999", headers=keys["firm"]), 404, "not_found")


def test_measured_throughput_is_reported_by_its_integrator(
    client: TestClient, world: World
) -> None:
    body = {
        "integrator_id": world.integrator,
        "workload_class": "vision-finetune",
        "accelerator": "A100",
        "throughput_milli": 800,
    }
    first = ok(client.post(f"{API}/throughputs", json=body, headers=world.keys["integrator"]))
    second = ok(
        client.post(
            f"{API}/throughputs",
            json=body | {"throughput_milli": 1000},
            headers=world.keys["operator"],
        )
    )
    assert (first["mean_throughput_milli"], second["mean_throughput_milli"]) == (800, 900)
    for who in ("other_integrator", "firm"):
        answer = client.post(f"{API}/throughputs", json=body, headers=world.keys[who])
        assert_error(answer, 403, "forbidden")
    bad = body | {"accelerator": "TPU9"}
    assert_error(
        client.post(f"{API}/throughputs", json=bad, headers=world.keys["integrator"]),
        422,
        "invalid_input",
    )
    unknown = body | {"integrator_id": world.firm}
    assert_error(
        client.post(f"{API}/throughputs", json=unknown, headers=world.keys["operator"]),
        404,
        "not_found",
    )

"""Consortium routes over HTTP: the flow, who may do what (own vs other), bad input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from ccx.auth import Role
from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.programs import Track
from tests.api.client import TestClient, assert_error, bearer, issue_token
from tests.consortia_factories import anchor, sme
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    advance_days,
    apply,
    certified_integrator,
    make_programme,
    verified_ledger,  # noqa: F401 - a fixture
)

API = "/api/v1"
pytestmark = pytest.mark.usefixtures("verified_ledger")


@dataclass(frozen=True)
class World:
    anchor: int
    member: int
    outsider: int
    keys: Mapping[str, dict[str, str]]


@pytest.fixture
def world(database: Database, clock: SimulatedClock) -> World:
    make_programme(database, clock, tracks=frozenset({Track.SME_DIRECT, Track.CONSORTIUM}))
    lead = anchor(database, clock, 1)
    member = sme(database, clock, 2)
    outsider = sme(database, clock, 3)
    for firm in (member, outsider):
        apply(database, clock, firm.id)

    def key(role: Role, org_id: int | None = None) -> dict[str, str]:
        return bearer(issue_token(database, clock, role, org_id))

    return World(
        anchor=lead.id,
        member=member.id,
        outsider=outsider.id,
        keys={
            "admin": key(Role.ADMIN),
            "auditor": key(Role.AUDITOR),
            "anchor": key(Role.FIRM, lead.id),
            "member": key(Role.FIRM, member.id),
            "outsider": key(Role.FIRM, outsider.id),
        },
    )


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def consortium_body(world: World, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Mobility AI",
        "industry": "C30",
        "regions": ["KR-31", "KR-48"],
        "anchor_id": world.anchor,
    } | changes


def form(client: TestClient, world: World) -> int:
    created = ok(
        client.post(f"{API}/consortia", json=consortium_body(world), headers=world.keys["anchor"]),
        201,
    )
    consortium_id: int = created["id"]
    member = {"role": "sme", "member_id": world.member}
    ok(
        client.post(
            f"{API}/consortia/{consortium_id}/members", json=member, headers=world.keys["anchor"]
        ),
        201,
    )
    return consortium_id


MODEL = {
    "name": "weld-defect-ko",
    "base_model": "Qwen2.5-VL-7B",
    "task": "weld defect detection",
    "hardware_profile": "8x H100 80GB",
    "licence": "Apache-2.0",
    "metrics": [{"name": "mAP@0.5", "value": "0.874"}],
}


def test_the_consortium_flow_over_http(client: TestClient, world: World) -> None:
    consortium_id = form(client, world)
    base = f"{API}/consortia/{consortium_id}"
    given = ok(
        client.post(
            f"{base}/contributions",
            json={"programme_id": PROGRAMME_ID, "amount_micro": 40 * CREDIT, "key": "c1"},
            headers=world.keys["member"],
        ),
        201,
    )
    assert (given["firm_id"], given["amount_micro"]) == (world.member, 40 * CREDIT)
    granted = ok(
        client.post(
            f"{base}/applications",
            json={"programme_id": PROGRAMME_ID, "key": "g1"},
            headers=world.keys["anchor"],
        ),
        201,
    )
    assert (granted["decision"], granted["track"]) == ("approved", "consortium")
    ok(client.post(f"{base}/models", json=MODEL, headers=world.keys["anchor"]), 201)

    shown = ok(client.get(base, headers=world.keys["member"]))
    [pool] = shown["pools"]
    assert (pool["contributed_micro"], pool["granted_micro"]) == (40 * CREDIT, 100 * CREDIT)
    assert (pool["expires_on"], pool["expired_micro"]) == ("2026-04-01", 0)
    assert [m["role"] for m in shown["members"]] == ["anchor", "sme"]
    [model] = ok(client.get(f"{base}/models", headers=world.keys["auditor"]))["items"]
    assert model["metrics"] == MODEL["metrics"]
    [listed] = ok(client.get(f"{base}/contributions", headers=world.keys["anchor"]))["items"]
    assert listed == given


def test_who_may_do_what(client: TestClient, world: World) -> None:
    keys = world.keys
    assert_error(
        client.post(f"{API}/consortia", json=consortium_body(world), headers=keys["outsider"]),
        403,
        "forbidden",
    )
    consortium_id = form(client, world)
    base = f"{API}/consortia/{consortium_id}"
    contribution = {"programme_id": PROGRAMME_ID, "amount_micro": CREDIT, "key": "c"}
    application = {"programme_id": PROGRAMME_ID, "key": "g"}
    member = {"role": "sme", "member_id": world.outsider}
    forbidden = [
        ("get", base, "outsider", None),
        ("get", f"{base}/models", "outsider", None),
        ("post", f"{base}/members", "member", member),
        ("post", f"{base}/models", "member", MODEL),
        ("post", f"{base}/applications", "member", application),
        ("post", f"{base}/applications", "admin", application),
        ("post", f"{base}/contributions", "outsider", contribution),
        ("post", f"{base}/contributions", "auditor", contribution),
    ]
    for method, path, who, body in forbidden:
        answer = client.request(method, path, json=body, headers=keys[who])
        assert_error(answer, 403, "forbidden")
    for who in ("admin", "auditor", "anchor", "member"):
        ok(client.get(base, headers=keys[who]))
    assert ok(client.get(f"{API}/consortia", headers=keys["outsider"]))["items"] == []
    assert len(ok(client.get(f"{API}/consortia", headers=keys["member"]))["items"]) == 1
    ok(client.post(f"{base}/members", json=member, headers=keys["admin"]), 201)


def test_the_pool_expiry_sweep_over_http(
    client: TestClient, world: World, clock: SimulatedClock
) -> None:
    consortium_id = form(client, world)
    client.post(
        f"{API}/consortia/{consortium_id}/contributions",
        json={"programme_id": PROGRAMME_ID, "amount_micro": 40 * CREDIT, "key": "c1"},
        headers=world.keys["member"],
    )
    advance_days(clock, 90)
    path = f"{API}/consortia/pools/expire"
    for who in ("anchor", "auditor"):
        assert_error(client.post(path, json={}, headers=world.keys[who]), 403, "forbidden")
    assert_error(
        client.post(path, json={"after_account_id": -1}, headers=world.keys["admin"]),
        422,
        "invalid_request",
    )
    sweep = ok(client.post(path, json={}, headers=world.keys["admin"]))
    assert (sweep["expired_micro"], sweep["deferred"], sweep["next_after_account_id"]) == (
        40 * CREDIT, [], None,
    )  # fmt: skip
    [pool] = ok(client.get(f"{API}/consortia/{consortium_id}", headers=world.keys["anchor"]))[
        "pools"
    ]
    assert (pool["available_micro"], pool["expired_micro"], pool["expires_on"]) == (
        0, 40 * CREDIT, None,
    )  # fmt: skip


def count(database: Database, table: str) -> int:
    with database.read() as session:
        return int(session.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)


def test_bad_input_answers_4xx_and_writes_nothing(
    client: TestClient, world: World, database: Database
) -> None:
    keys = world.keys
    cases = [
        (consortium_body(world, industry="X1"), 422, "invalid_input"),
        (consortium_body(world, regions=["KR-99"]), 422, "invalid_request"),
        (consortium_body(world, extra=1), 422, "invalid_request"),
        (consortium_body(world, anchor_id=world.member), 422, "refused"),
    ]
    for body, status, code in cases:
        assert_error(
            client.post(f"{API}/consortia", json=body, headers=keys["admin"]), status, code
        )
    assert count(database, "consortia") == 0

    base = f"{API}/consortia/{form(client, world)}"
    posts: list[tuple[str, dict[str, Any], int, str]] = [
        ("contributions", {"programme_id": PROGRAMME_ID, "amount_micro": 0, "key": "c"}, 422,
         "invalid_input"),
        ("contributions", {"programme_id": PROGRAMME_ID, "amount_micro": 500 * CREDIT,
                           "key": "c"}, 422, "refused"),
        ("contributions", {"programme_id": 99, "amount_micro": CREDIT, "key": "c"}, 404,
         "not_found"),
        ("models", MODEL | {"metrics": [{"name": "f1", "value": "high"}]}, 422, "invalid_input"),
        ("members", {"role": "sme", "member_id": world.member}, 409, "conflict"),
    ]  # fmt: skip
    for path, body, status, code in posts:
        who = "member" if path == "contributions" else "anchor"
        assert_error(client.post(f"{base}/{path}", json=body, headers=keys[who]), status, code)
    assert_error(client.get(f"{API}/consortia/999", headers=keys["admin"]), 404, "not_found")
    assert count(database, "consortium_contributions") == 0
    assert count(database, "consortium_models") == 0
    assert count(database, "consortium_members") == 2


def pool_mandate(world: World, consortium_id: int, integrator_id: int, **changes: Any) -> Any:
    return {
        "programme_id": PROGRAMME_ID,
        "integrator_id": integrator_id,
        "project": "weld defect detection",
        "cap_micro": 20 * CREDIT,
        "valid_until": "2026-06-30",
        "key": "m1",
        "consortium_id": consortium_id,
    } | changes


def test_consortium_mandates_by_role(
    client: TestClient, world: World, database: Database, clock: SimulatedClock
) -> None:
    consortium_id = form(client, world)
    contribution = {"programme_id": PROGRAMME_ID, "amount_micro": 40 * CREDIT, "key": "c1"}
    ok(
        client.post(
            f"{API}/consortia/{consortium_id}/contributions",
            json=contribution,
            headers=world.keys["member"],
        ),
        201,
    )
    integrator = certified_integrator(database, clock, 9)
    keys = dict(world.keys) | {
        "integrator": bearer(issue_token(database, clock, Role.INTEGRATOR, integrator.id))
    }

    def statuses(method: str, path: str, body: Any = None) -> dict[str, int]:
        return {
            who: client.request(method, path, json=body, headers=headers).status_code
            for who, headers in keys.items()
        }

    def expect(allowed: dict[str, int]) -> dict[str, int]:
        return {who: allowed.get(who, 403) for who in keys}

    body = pool_mandate(world, consortium_id, integrator.id)
    granters = {"admin": 201, "anchor": 201}
    assert statuses("POST", f"{API}/mandates", body) == expect(granters)
    [mandate] = ok(client.get(f"{API}/mandates", headers=keys["anchor"]))["items"]
    assert (mandate["consortium_id"], mandate["firm_id"]) == (consortium_id, world.anchor)
    path = f"{API}/mandates/{mandate['id']}"
    readers = dict.fromkeys(("admin", "auditor", "anchor", "member", "integrator"), 200)
    assert statuses("GET", path) == expect(readers)
    members = dict.fromkeys(("admin", "auditor", "anchor", "member"), 200)
    assert statuses("GET", f"{API}/mandates?consortium_id={consortium_id}") == expect(members)
    listed = {
        who: len(ok(client.get(f"{API}/mandates", headers=headers))["items"])
        for who, headers in keys.items()
    }
    assert listed == {
        "admin": 1, "auditor": 1, "anchor": 1, "member": 0, "outsider": 0, "integrator": 1,
    }  # fmt: skip
    fee = {"amount_micro": CREDIT, "key": "f"}
    assert statuses("POST", f"{path}/fees", fee) == expect({"integrator": 201})
    [spent] = ok(client.get(f"{path}/spends", headers=keys["member"]))["items"]
    assert (spent["consortium_id"], spent["amount_micro"]) == (consortium_id, CREDIT)
    assert statuses("POST", f"{path}/revoke") == expect({"admin": 200, "anchor": 200})


def test_bad_consortium_mandates_write_nothing(
    client: TestClient, world: World, database: Database, clock: SimulatedClock
) -> None:
    consortium_id = form(client, world)
    integrator = certified_integrator(database, clock, 9)
    cases = [
        (pool_mandate(world, 999, integrator.id), "anchor", 404, "not_found"),
        (pool_mandate(world, consortium_id, integrator.id, cap_micro=0), "anchor", 422,
         "invalid_input"),
        (pool_mandate(world, consortium_id, integrator.id), "anchor", 422, "refused"),  # no pool
        (pool_mandate(world, consortium_id, integrator.id), "member", 403, "forbidden"),
        (pool_mandate(world, consortium_id, world.member), "admin", 422, "refused"),
    ]  # fmt: skip
    for body, who, status, code in cases:
        answer = client.post(f"{API}/mandates", json=body, headers=world.keys[who])
        assert_error(answer, status, code)
    assert count(database, "mandates") == 0
    assert_error(
        client.get(f"{API}/mandates?consortium_id={consortium_id}", headers=world.keys["outsider"]),
        403,
        "forbidden",
    )


def test_audits_of_a_consortium_grant_over_http(client: TestClient, world: World) -> None:
    consortium_id = form(client, world)
    granted = ok(
        client.post(
            f"{API}/consortia/{consortium_id}/applications",
            json={"programme_id": PROGRAMME_ID, "key": "g1"},
            headers=world.keys["anchor"],
        ),
        201,
    )
    audit = f"{API}/applications/{granted['id']}/audit"
    for who in ("anchor", "auditor"):
        assert (
            client.post(audit, json={"outcome": "fail"}, headers=world.keys[who]).status_code == 403
        )
    failed = ok(
        client.post(audit, json={"outcome": "fail", "note": "x"}, headers=world.keys["admin"])
    )
    assert failed["application"]["audit_status"] == "failed"
    [pool] = failed["clawbacks"]
    assert (pool["clawed_back_micro"], pool["spent_micro"], pool["held_micro"]) == (
        100 * CREDIT, 0, 0,
    )  # fmt: skip
    assert ok(client.post(audit, json={"outcome": "fail"}, headers=world.keys["admin"])) == failed
    assert_error(
        client.post(audit, json={"outcome": "pass"}, headers=world.keys["admin"]), 409, "conflict"
    )
    shown = ok(client.get(f"{API}/consortia/{consortium_id}", headers=world.keys["member"]))
    assert shown["pools"][0]["clawed_back_micro"] == 100 * CREDIT
    again = ok(
        client.post(
            f"{API}/consortia/{consortium_id}/applications",
            json={"programme_id": PROGRAMME_ID, "key": "g2"},
            headers=world.keys["anchor"],
        ),
        201,
    )
    assert [reason["code"] for reason in again["reasons"]] == ["failed_audit"]

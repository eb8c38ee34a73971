"""Programme routes over HTTP: the whole flow, the authorisation matrix, bad input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from ccx.auth import Role
from ccx.clock import SimulatedClock
from ccx.db import Database
from tests.api.client import TestClient, assert_error, bearer, issue_token
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    advance_days,
    certified_integrator,
    register,
    verified_ledger,  # noqa: F401 - a fixture
)

API = "/api/v1"
PROGRAMME: dict[str, Any] = {
    "id": PROGRAMME_ID,
    "name": "AI compute voucher 2026",
    "budget_micro": 1_000 * CREDIT,
    "opens_on": "2026-01-01",
    "closes_on": "2026-12-31",
    "grant_fixed_micro": 100 * CREDIT,
    "lot_lifetime_days": 90,
    "firm_cap_micro": 200 * CREDIT,
    "group_cap_micro": 300 * CREDIT,
    "price_krw_per_credit": 3_500,
    "audit_sample_bp": 0,
}


pytestmark = pytest.mark.usefixtures("verified_ledger")


@dataclass(frozen=True)
class World:
    """Two firms, two certified integrators, and a key for each role and organisation."""

    firm_a: int
    firm_b: int
    integrator_i: int
    integrator_j: int
    keys: Mapping[str, dict[str, str]]


@pytest.fixture
def world(database: Database, clock: SimulatedClock) -> World:
    firm_a = register(database, clock, 1)
    firm_b = register(database, clock, 2)
    integrator_i = certified_integrator(database, clock, 3)
    integrator_j = certified_integrator(database, clock, 4)

    def key(role: Role, org_id: int | None = None) -> dict[str, str]:
        return bearer(issue_token(database, clock, role, org_id))

    return World(
        firm_a=firm_a.id,
        firm_b=firm_b.id,
        integrator_i=integrator_i.id,
        integrator_j=integrator_j.id,
        keys={
            "admin": key(Role.ADMIN),
            "operator": key(Role.OPERATOR),
            "auditor": key(Role.AUDITOR),
            "firm_a": key(Role.FIRM, firm_a.id),
            "firm_b": key(Role.FIRM, firm_b.id),
            "integrator_i": key(Role.INTEGRATOR, integrator_i.id),
            "integrator_j": key(Role.INTEGRATOR, integrator_j.id),
        },
    )


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def create_programme(client: TestClient, world: World, **changes: Any) -> dict[str, Any]:
    body = PROGRAMME | changes
    answer = client.post(f"{API}/programmes", json=body, headers=world.keys["admin"])
    created: dict[str, Any] = ok(answer, 201)
    return created


def apply(client: TestClient, world: World, firm: str = "firm_a", key: str = "k1") -> Any:
    return ok(
        client.post(
            f"{API}/programmes/{PROGRAMME_ID}/applications",
            json={"key": key},
            headers=world.keys[firm],
        ),
        201,
    )


def mandate_body(world: World, **changes: Any) -> dict[str, Any]:
    return {
        "programme_id": PROGRAMME_ID,
        "integrator_id": world.integrator_i,
        "project": "demand forecasting",
        "cap_micro": 50 * CREDIT,
        "valid_until": "2026-06-30",
        "key": "m1",
    } | changes


def grant_mandate(client: TestClient, world: World) -> Any:
    return ok(
        client.post(f"{API}/mandates", json=mandate_body(world), headers=world.keys["firm_a"]), 201
    )


def test_the_whole_flow_over_http(
    client: TestClient, world: World, database: Database, clock: SimulatedClock
) -> None:
    created = create_programme(client, world)
    assert created["accounts"]["pool"] > 0
    assert create_programme(client, world) == created
    application = apply(client, world)
    assert application["decision"] == "approved"
    assert application["amount_micro"] == 100 * CREDIT
    assert apply(client, world) == application  # a retry

    mandate = grant_mandate(client, world)
    assert mandate["fee_max_micro"] == 5 * CREDIT
    fee = ok(
        client.post(
            f"{API}/mandates/{mandate['id']}/fees",
            json={"amount_micro": 5 * CREDIT, "key": "fee-1"},
            headers=world.keys["integrator_i"],
        ),
        201,
    )
    assert (fee["kind"], fee["amount_krw"], fee["status"]) == ("service_fee", 17_500, "posted")
    refused = client.post(
        f"{API}/mandates/{mandate['id']}/fees",
        json={"amount_micro": 1, "key": "fee-2"},
        headers=world.keys["integrator_i"],
    )
    error = assert_error(refused, 422, "refused")
    assert [reason["code"] for reason in error["details"]] == ["fee_share"]

    spends = ok(client.get(f"{API}/mandates/{mandate['id']}/spends", headers=world.keys["firm_a"]))
    assert [spend["id"] for spend in spends["items"]] == [fee["id"]]

    audited = ok(
        client.post(
            f"{API}/applications/{application['id']}/audit",
            json={"outcome": "fail", "note": "no such project"},
            headers=world.keys["admin"],
        )
    )
    assert audited["application"]["audit_status"] == "failed"
    assert audited["clawbacks"][0]["clawed_back_micro"] == 95 * CREDIT
    assert audited["clawbacks"][0]["spent_micro"] == 5 * CREDIT

    advance_days(clock, 90)
    sweep = ok(client.post(f"{API}/lots/expire", json={}, headers=world.keys["admin"]))
    assert [lot["status"] for lot in sweep["expired"]] == ["expired"]
    assert sweep["next_after_lot_id"] is None

    report = ok(client.get(f"{API}/programmes/{PROGRAMME_ID}", headers=world.keys["firm_b"]))
    assert report["granted_micro"] == 100 * CREDIT
    assert report["clawed_back_micro"] == 95 * CREDIT
    assert report["fees_micro"] == 5 * CREDIT


def test_a_refused_application_is_answered_with_its_reasons(
    client: TestClient, world: World
) -> None:
    create_programme(client, world, opens_on="2026-02-01")
    refused = apply(client, world)
    assert refused["decision"] == "refused"
    assert [reason["code"] for reason in refused["reasons"]] == ["programme_not_open"]
    assert refused["lot_account_id"] is None


def test_a_refused_mandate_lists_every_reason(client: TestClient, world: World) -> None:
    create_programme(client, world)
    answer = client.post(
        f"{API}/mandates",
        json=mandate_body(world, integrator_id=world.firm_b),
        headers=world.keys["firm_a"],
    )
    error = assert_error(answer, 422, "refused")
    assert [reason["code"] for reason in error["details"]] == [
        "not_an_integrator",
        "not_certified",
        "no_credits_in_programme",
    ]


def statuses(
    client: TestClient, world: World, method: str, path: str, body: Any = None
) -> dict[str, int]:
    answers = {}
    for role, headers in world.keys.items():
        answer = client.request(method, path, json=body, headers=headers)
        answers[role] = answer.status_code
    return answers


ALL = ("admin", "operator", "auditor", "firm_a", "firm_b", "integrator_i", "integrator_j")


def expect(allowed: dict[str, int], denied: int = 403) -> dict[str, int]:
    return {role: allowed.get(role, denied) for role in ALL}


def test_only_the_administrator_creates_programmes(client: TestClient, world: World) -> None:
    assert statuses(client, world, "POST", f"{API}/programmes", PROGRAMME) == expect({"admin": 201})
    assert statuses(client, world, "GET", f"{API}/programmes") == expect(dict.fromkeys(ALL, 200))
    assert statuses(client, world, "GET", f"{API}/programmes/{PROGRAMME_ID}") == expect(
        dict.fromkeys(ALL, 200)
    )


def test_only_a_firm_applies_and_only_for_itself(client: TestClient, world: World) -> None:
    create_programme(client, world)
    path = f"{API}/programmes/{PROGRAMME_ID}/applications"
    assert statuses(client, world, "POST", path, {"key": "x"}) == expect(
        {"firm_a": 201, "firm_b": 201}
    )
    listed = {
        role: len(ok(client.get(path, headers=headers))["items"])
        for role, headers in world.keys.items()
    }
    assert listed == {
        "admin": 2, "operator": 2, "auditor": 2, "firm_a": 1, "firm_b": 1,
        "integrator_i": 0, "integrator_j": 0,
    }  # fmt: skip


def test_applications_lots_and_audits_by_role(client: TestClient, world: World) -> None:
    create_programme(client, world)
    application = apply(client, world)
    readers = {"admin": 200, "operator": 200, "auditor": 200, "firm_a": 200}
    assert statuses(client, world, "GET", f"{API}/applications/{application['id']}") == expect(
        readers
    )
    lots = {
        role: len(ok(client.get(f"{API}/programmes/{PROGRAMME_ID}/lots", headers=h))["items"])
        for role, h in world.keys.items()
    }
    assert lots == {
        "admin": 1, "operator": 1, "auditor": 1, "firm_a": 1, "firm_b": 0,
        "integrator_i": 0, "integrator_j": 0,
    }  # fmt: skip
    audit = f"{API}/applications/{application['id']}/audit"
    assert statuses(client, world, "POST", audit, {"outcome": "pass"}) == expect({"admin": 200})
    assert statuses(client, world, "POST", f"{API}/lots/expire", {}) == expect({"admin": 200})


def test_mandates_by_role(client: TestClient, world: World) -> None:
    create_programme(client, world)
    apply(client, world)
    path = f"{API}/mandates"
    # firm B may give mandates over its own credits, but holds none in the programme
    assert statuses(client, world, "POST", path, mandate_body(world)) == expect(
        {"firm_a": 201, "firm_b": 422}
    )
    mandate_id = ok(client.get(path, headers=world.keys["admin"]))["items"][0]["id"]
    listed = {
        role: len(ok(client.get(path, headers=headers))["items"])
        for role, headers in world.keys.items()
    }
    assert listed == {
        "admin": 1, "operator": 1, "auditor": 1, "firm_a": 1, "firm_b": 0,
        "integrator_i": 1, "integrator_j": 0,
    }  # fmt: skip
    readers = dict.fromkeys(("admin", "operator", "auditor", "firm_a", "integrator_i"), 200)
    assert statuses(client, world, "GET", f"{path}/{mandate_id}") == expect(readers)
    assert statuses(client, world, "GET", f"{path}/{mandate_id}/spends") == expect(readers)
    fee = {"amount_micro": CREDIT, "key": "f"}
    assert statuses(client, world, "POST", f"{path}/{mandate_id}/fees", fee) == expect(
        {"integrator_i": 201}
    )
    revokers = {"admin": 200, "firm_a": 200}
    assert statuses(client, world, "POST", f"{path}/{mandate_id}/revoke") == expect(revokers)


def count(database: Database, table: str) -> int:
    with database.read() as session:
        return int(session.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)


@pytest.mark.parametrize(
    "changes",
    [
        {"budget_micro": "1000"},
        {"budget_micro": 1.5},
        {"opens_on": "soon"},
        {"grant_by_size_micro": {"huge": 1}},
        {"tracks": ["direct"]},
        {"extra": 1},
        {"quota_youth_bp": 10_001},
        {"closes_on": "2025-12-31"},
        {"grant_fixed_micro": None},
        {"eligible_kinds": ["large"]},
        {"name": ""},
    ],
)
def test_bad_programmes_are_refused_and_nothing_is_written(
    client: TestClient, world: World, database: Database, changes: dict[str, Any]
) -> None:
    answer = client.post(f"{API}/programmes", json=PROGRAMME | changes, headers=world.keys["admin"])
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] in ("invalid_request", "invalid_input")
    assert count(database, "programmes") == count(database, "ledgers") == 0


def test_bad_applications_mandates_fees_and_audits_write_nothing(
    client: TestClient, world: World, database: Database
) -> None:
    create_programme(client, world)
    application = apply(client, world)
    mandate = grant_mandate(client, world)
    firm = world.keys["firm_a"]
    applications = f"{API}/programmes/{PROGRAMME_ID}/applications"
    cases: list[tuple[str, Any, dict[str, str], int, str]] = [
        (applications, {"key": ""}, firm, 422, "invalid_request"),
        (applications, {"key": "k", "track": "x"}, firm, 422, "invalid_request"),
        (f"{API}/programmes/99/applications", {"key": "k"}, firm, 404, "not_found"),
        (f"{API}/mandates", mandate_body(world, cap_micro=0, key="m2"), firm, 422, "invalid_input"),
        (f"{API}/mandates", mandate_body(world, valid_until="2025-01-01", key="m2"), firm, 422,
         "invalid_input"),
        (f"{API}/mandates", mandate_body(world, programme_id=99, key="m2"), firm, 404,
         "not_found"),
        (f"{API}/mandates", mandate_body(world, cap_micro=60 * CREDIT), firm, 409, "conflict"),
        (f"{API}/mandates/{mandate['id']}/fees", {"amount_micro": -1, "key": "f"},
         world.keys["integrator_i"], 422, "invalid_request"),
        (f"{API}/mandates/123/fees", {"amount_micro": 1, "key": "f"},
         world.keys["integrator_i"], 404, "not_found"),
        (f"{API}/applications/{application['id']}/audit", {"outcome": "maybe"},
         world.keys["admin"], 422, "invalid_request"),
        (f"{API}/applications/123/audit", {"outcome": "pass"}, world.keys["admin"], 404,
         "not_found"),
        (f"{API}/lots/expire", {"after_lot_id": -1}, world.keys["admin"], 422,
         "invalid_request"),
    ]  # fmt: skip
    for path, body, headers, status, code in cases:
        assert_error(client.post(path, json=body, headers=headers), status, code)
    assert count(database, "programme_applications") == 1
    assert count(database, "mandates") == 1
    assert count(database, "mandate_spends") == 0
    assert_error(
        client.post(
            f"{API}/programmes/{PROGRAMME_ID}/applications",
            content=b"{not json",
            headers=firm | {"Content-Type": "application/json"},
        ),
        422,
        "malformed_json",
    )
    assert_error(client.get(f"{API}/mandates/1", headers=firm), 404, "not_found")
    assert_error(client.get(f"{API}/programmes/0", headers=firm), 422, "invalid_request")

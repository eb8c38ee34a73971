"""Authentication (API keys) and authorisation (roles, organisations) over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from ccx.auth import Role
from ccx.auth.service import revoke_api_key
from ccx.clock import SimulatedClock
from ccx.db import Database
from tests.api.client import Keys, TestClient, assert_error, bearer, issue_token
from tests.api.factories import (
    APPROPRIATION,
    ORG_A,
    POOL,
    WALLET_A,
    WALLET_B,
    account_body,
    post_transfer,
    set_up_ledger,
    transfer_body,
)


def test_a_request_without_a_key_answers_401(client: TestClient) -> None:
    answer = client.get("/api/v1/ledgers")
    assert_error(answer, 401, "not_authenticated")
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Authorization": "Bearer ccx_0123456789abcdef_nope"}, id="unknown-key"),
        pytest.param({"Authorization": "Bearer not-a-ccx-token"}, id="malformed"),
        pytest.param({"Authorization": "Bearer " + "x" * 5000}, id="very-long"),
        pytest.param({"Authorization": f"Bearer ccx_{'k' * 100}_secret"}, id="long-key-id"),
        pytest.param(
            {"Authorization": "Bearer ccx_k\u00e9y_s\u00e9cret".encode("latin-1")}, id="latin-1"
        ),
        pytest.param({"X-API-Key": "ccx_0123456789abcdef_nope"}, id="unknown-x-api-key"),
    ],
)
def test_an_invalid_key_answers_401(client: TestClient, headers: dict[str, Any]) -> None:
    answer = client.get("/api/v1/ledgers", headers=headers)
    assert_error(answer, 401, "invalid_api_key")


def test_a_key_in_another_scheme_counts_as_missing(
    client: TestClient, database: Database, clock: SimulatedClock
) -> None:
    token = issue_token(database, clock, Role.ADMIN, None)
    answer = client.get("/api/v1/ledgers", headers={"Authorization": f"Basic {token}"})
    assert_error(answer, 401, "not_authenticated")


def test_a_key_is_accepted_as_bearer_or_x_api_key(
    client: TestClient, database: Database, clock: SimulatedClock
) -> None:
    token = issue_token(database, clock, Role.AUDITOR, None)
    assert client.get("/api/v1/ledgers", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/ledgers", headers={"X-API-Key": token}).status_code == 200


def test_a_revoked_key_answers_401(
    client: TestClient, database: Database, clock: SimulatedClock
) -> None:
    token = issue_token(database, clock, Role.ADMIN, None)
    assert client.get("/api/v1/ledgers", headers=bearer(token)).status_code == 200
    with database.write() as session:
        revoke_api_key(session, token.split("_")[1])
    answer = client.get("/api/v1/ledgers", headers=bearer(token))
    assert_error(answer, 401, "invalid_api_key")


def test_the_wrong_secret_for_a_real_key_answers_401(
    client: TestClient, database: Database, clock: SimulatedClock
) -> None:
    token = issue_token(database, clock, Role.ADMIN, None)
    _, key_id, _ = token.split("_", 2)
    answer = client.get("/api/v1/ledgers", headers=bearer(f"ccx_{key_id}_guessed"))
    assert answer.status_code == 401


def test_only_the_administrator_creates_ledgers_and_accounts(
    client: TestClient, keys: Keys
) -> None:
    ledger = {"id": 3, "name": "programme"}
    for headers in (keys.operator, keys.auditor, keys.firm_a, keys.integrator_a):
        answer = client.post("/api/v1/ledgers", json=ledger, headers=headers)
        assert_error(answer, 403, "forbidden")
    assert client.post("/api/v1/ledgers", json=ledger, headers=keys.admin).status_code == 201

    account = {**account_body(50), "ledger": 3}
    for headers in (keys.operator, keys.auditor, keys.firm_a):
        assert client.post("/api/v1/accounts", json=account, headers=headers).status_code == 403
        batch = {"accounts": [account]}
        assert client.post("/api/v1/accounts/batch", json=batch, headers=headers).status_code == 403
    assert client.post("/api/v1/accounts", json=account, headers=keys.admin).status_code == 201


def test_auditors_firms_and_integrators_cannot_post_transfers(
    client: TestClient, keys: Keys
) -> None:
    set_up_ledger(client, keys)
    body = transfer_body(1, APPROPRIATION, POOL, 100)
    for headers in (keys.auditor, keys.firm_a, keys.integrator_a):
        answer = client.post("/api/v1/transfers", json=body, headers=headers)
        assert_error(answer, 403, "forbidden")
        batch = client.post("/api/v1/transfers/batch", json={"transfers": [body]}, headers=headers)
        assert batch.status_code == 403
    # Nothing moved; the operator may post.
    assert client.get(f"/api/v1/transfers/{body['id']}", headers=keys.auditor).status_code == 404
    assert client.post("/api/v1/transfers", json=body, headers=keys.operator).status_code == 201


def test_a_firm_reads_its_own_account_and_not_another_organisations(
    client: TestClient, keys: Keys
) -> None:
    set_up_ledger(client, keys)
    own = client.get(f"/api/v1/accounts/{WALLET_A}", headers=keys.firm_a)
    assert own.status_code == 200
    assert own.json()["owner_org_id"] == ORG_A

    other = client.get(f"/api/v1/accounts/{WALLET_B}", headers=keys.firm_a)
    assert_error(other, 403, "forbidden")
    # Accounts of no organisation (the programme pool) are not the firm's either.
    assert client.get(f"/api/v1/accounts/{POOL}", headers=keys.firm_a).status_code == 403
    # The integrator of the same organisation sees the firm wallet of its organisation.
    integrator = client.get(f"/api/v1/accounts/{WALLET_A}", headers=keys.integrator_a)
    assert integrator.status_code == 200


def test_a_firm_lists_only_its_own_accounts(client: TestClient, keys: Keys) -> None:
    set_up_ledger(client, keys)
    own = client.get("/api/v1/accounts", headers=keys.firm_a)
    assert own.status_code == 200
    assert [account["id"] for account in own.json()["items"]] == [WALLET_A]
    everything = client.get("/api/v1/accounts", headers=keys.auditor)
    assert len(everything.json()["items"]) == 5


def test_a_firm_sees_only_transfers_that_move_its_accounts(client: TestClient, keys: Keys) -> None:
    set_up_ledger(client, keys)
    post_transfer(client, keys, transfer_body(1, APPROPRIATION, POOL, 1_000))
    post_transfer(client, keys, transfer_body(2, POOL, WALLET_A, 300))
    post_transfer(client, keys, transfer_body(3, POOL, WALLET_B, 200))

    listed = client.get("/api/v1/transfers", headers=keys.firm_a)
    assert listed.status_code == 200
    assert [transfer["id"] for transfer in listed.json()["items"]] == [2]
    assert client.get("/api/v1/transfers/2", headers=keys.firm_a).status_code == 200
    hidden = client.get("/api/v1/transfers/3", headers=keys.firm_a)
    assert_error(hidden, 403, "forbidden")

    by_own_account = client.get(f"/api/v1/transfers?account_id={WALLET_A}", headers=keys.firm_a)
    assert [transfer["id"] for transfer in by_own_account.json()["items"]] == [2]
    by_other = client.get(f"/api/v1/transfers?account_id={WALLET_B}", headers=keys.firm_a)
    assert by_other.status_code == 403

    all_transfers = client.get("/api/v1/transfers", headers=keys.auditor)
    assert [transfer["id"] for transfer in all_transfers.json()["items"]] == [1, 2, 3]


def test_the_checkpoint_is_for_integrity_readers_only(client: TestClient, keys: Keys) -> None:
    for headers in (keys.firm_a, keys.integrator_a):
        answer = client.get("/api/v1/ledger/checkpoint", headers=headers)
        assert_error(answer, 403, "forbidden")
    for headers in (keys.auditor, keys.operator, keys.admin):
        assert client.get("/api/v1/ledger/checkpoint", headers=headers).status_code == 200


def test_a_firm_with_many_accounts_sees_transfers_of_each(client: TestClient, keys: Keys) -> None:
    set_up_ledger(client, keys)
    many = [account_body(10_000 + index, owner_org_id=ORG_A) for index in range(1_500)]
    created = client.post("/api/v1/accounts/batch", json={"accounts": many}, headers=keys.admin)
    assert {r["result"] for r in created.json()["results"]} == {"ok"}
    post_transfer(client, keys, transfer_body(1, APPROPRIATION, many[-1]["id"], 5))

    own = client.get("/api/v1/transfers", headers=keys.firm_a)
    assert [transfer["id"] for transfer in own.json()["items"]] == [1]
    assert client.get("/api/v1/transfers", headers=keys.firm_b).json()["items"] == []

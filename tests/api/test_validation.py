"""Bad input answers 4xx with the one error shape, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from ccx.ledger import BATCH_SIZE_MAX
from tests.api.client import Keys, TestClient, assert_error
from tests.api.factories import (
    APPROPRIATION,
    POOL,
    account_body,
    get_account,
    set_up_ledger,
    transfer_body,
)

TOO_BIG = 2**63
VALID = transfer_body(1, APPROPRIATION, POOL, 100)


def test_malformed_json_answers_422_malformed_json(client: TestClient, keys: Keys) -> None:
    answer = client.post(
        "/api/v1/transfers",
        content=b'{"id": 1, "amount":',
        headers={**keys.admin, "Content-Type": "application/json"},
    )
    error = assert_error(answer, 422, "malformed_json")
    assert error["details"][0]["type"] == "json_invalid"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"id": 1, "name": "\xff\xfe"}', id="invalid-utf8"),
        pytest.param(b'{"id": 1' + b"0" * 5000 + b', "name": "x"}', id="integer-of-5000-digits"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-too-deep"),
    ],
)
def test_an_undecodable_body_answers_422_malformed_json(
    client: TestClient, keys: Keys, content: bytes
) -> None:
    headers = {**keys.admin, "Content-Type": "application/json"}
    answer = client.post("/api/v1/ledgers", content=content, headers=headers)
    assert_error(answer, 422, "malformed_json")
    assert client.get("/api/v1/ledgers", headers=keys.admin).json()["items"] == []


def test_a_body_that_is_not_an_object_answers_422(client: TestClient, keys: Keys) -> None:
    answer = client.post("/api/v1/transfers", json=[VALID], headers=keys.admin)
    assert_error(answer, 422, "invalid_request")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"amount": "100"}, "amount", id="amount-as-string"),
        pytest.param({"amount": 100.0}, "amount", id="amount-as-float"),
        pytest.param({"amount": True}, "amount", id="amount-as-bool"),
        pytest.param({"amount": -1}, "amount", id="negative-amount"),
        pytest.param({"amount": TOO_BIG}, "amount", id="amount-over-64-bits"),
        pytest.param({"id": 0}, "id", id="id-zero"),
        pytest.param({"id": TOO_BIG}, "id", id="id-too-big"),
        pytest.param({"debit_account_id": 0}, "debit_account_id", id="debit-zero"),
        pytest.param({"ledger": 2**31}, "ledger", id="ledger-too-big"),
        pytest.param({"code": 32768}, "code", id="code-too-big"),
        pytest.param({"timeout_s": -5}, "timeout_s", id="negative-timeout"),
        pytest.param({"user_data_32": 2**31}, "user_data_32", id="user-data-32-too-big"),
        pytest.param({"flags": ["pending", "frozen"]}, "flags", id="unknown-flag"),
        pytest.param({"flags": "pending"}, "flags", id="flags-not-a-list"),
        pytest.param({"memo": "hello"}, "memo", id="extra-field"),
        pytest.param({"amount": None}, "body", id="amount-missing"),
    ],
)
def test_an_invalid_transfer_answers_422_naming_the_field(
    client: TestClient, keys: Keys, change: dict[str, Any], field: str
) -> None:
    set_up_ledger(client, keys)
    answer = client.post("/api/v1/transfers", json={**VALID, **change}, headers=keys.admin)
    error = assert_error(answer, 422, "invalid_request")
    assert any(field in problem["loc"] for problem in error["details"]), error
    assert "input" not in error["details"][0]
    assert get_account(client, keys, POOL)["credits_posted"] == 0
    assert client.get("/api/v1/transfers/1", headers=keys.admin).status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"id": 0}, id="id-zero"),
        pytest.param({"flags": ["debits_must_not_exceed_credits", "sticky"]}, id="unknown-flag"),
        pytest.param({"owner_org_id": -1}, id="negative-owner"),
        pytest.param({"code": 0}, id="code-zero"),
        pytest.param({"balance": 5}, id="extra-field"),
    ],
)
def test_an_invalid_account_answers_422(
    client: TestClient, keys: Keys, change: dict[str, Any]
) -> None:
    set_up_ledger(client, keys)
    body = {**account_body(60), **change}
    assert_error(
        client.post("/api/v1/accounts", json=body, headers=keys.admin), 422, "invalid_request"
    )
    assert client.get("/api/v1/accounts/60", headers=keys.admin).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"id": 0, "name": "zero"}, id="id-zero"),
        pytest.param({"id": 2**31, "name": "big"}, id="id-too-big"),
        pytest.param({"id": 9, "name": ""}, id="empty-name"),
        pytest.param({"id": 9, "name": "nul\u0000byte"}, id="nul-in-name"),
        pytest.param({"id": 9, "name": "x" * 101}, id="name-too-long"),
        pytest.param({"id": 9, "name": "ok", "asset_scale": 19}, id="asset-scale-too-big"),
    ],
)
def test_an_invalid_ledger_answers_422(
    client: TestClient, keys: Keys, body: dict[str, Any]
) -> None:
    assert_error(
        client.post("/api/v1/ledgers", json=body, headers=keys.admin), 422, "invalid_request"
    )
    assert client.get("/api/v1/ledgers", headers=keys.admin).json()["items"] == []


def test_a_batch_over_the_limit_answers_422_and_applies_nothing(
    client: TestClient, keys: Keys
) -> None:
    set_up_ledger(client, keys)
    transfers = [
        transfer_body(1000 + index, APPROPRIATION, POOL, 1) for index in range(BATCH_SIZE_MAX + 1)
    ]
    answer = client.post(
        "/api/v1/transfers/batch", json={"transfers": transfers}, headers=keys.admin
    )
    error = assert_error(answer, 422, "invalid_request")
    assert error["details"] == [
        {
            "loc": ["body", "transfers"],
            "message": f"List should have at most {BATCH_SIZE_MAX} items after validation, "
            f"not {BATCH_SIZE_MAX + 1}",
            "type": "too_long",
        }
    ]
    assert get_account(client, keys, POOL)["credits_posted"] == 0

    accounts = [account_body(1000 + index) for index in range(BATCH_SIZE_MAX + 1)]
    answer = client.post("/api/v1/accounts/batch", json={"accounts": accounts}, headers=keys.admin)
    assert_error(answer, 422, "invalid_request")


def test_an_empty_batch_answers_422(client: TestClient, keys: Keys) -> None:
    answer = client.post("/api/v1/transfers/batch", json={"transfers": []}, headers=keys.admin)
    assert_error(answer, 422, "invalid_request")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/accounts/0",
        f"/api/v1/accounts/{TOO_BIG}",
        "/api/v1/accounts/abc",
        f"/api/v1/transfers/{TOO_BIG}",
        "/api/v1/accounts?limit=0",
        "/api/v1/accounts?limit=1001",
        f"/api/v1/accounts?after_id={TOO_BIG}",
        "/api/v1/accounts?ledger=-1",
        f"/api/v1/transfers?account_id={TOO_BIG}",
        "/api/v1/transfers?after_id=-1",
    ],
)
def test_invalid_path_and_query_parameters_answer_422(
    client: TestClient, keys: Keys, path: str
) -> None:
    assert_error(client.get(path, headers=keys.admin), 422, "invalid_request")

"""Request bodies and a standard ledger for the API tests.

The standard ledger: an appropriation account that funds a programme pool (which cannot
overdraw), one wallet for each of two firms (organisations ORG_A and ORG_B), and the centre's
revenue account. Amounts are micro-credits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tests.api.client import Keys, TestClient

ORG_A = 101
ORG_B = 202
LEDGER = 7
CODE = 10
APPROPRIATION = 1
POOL = 2
WALLET_A = 3
WALLET_B = 4
REVENUE = 5
LIMITED = ["debits_must_not_exceed_credits"]
CREDIT = 1_000_000


def account_body(
    account_id: int,
    *,
    code: int = CODE,
    flags: Sequence[str] = (),
    owner_org_id: int | None = None,
) -> dict[str, Any]:
    return {
        "id": account_id,
        "ledger": LEDGER,
        "code": code,
        "flags": list(flags),
        "owner_org_id": owner_org_id,
    }


def transfer_body(
    transfer_id: int,
    debit_account_id: int,
    credit_account_id: int,
    amount: int,
    *,
    flags: Sequence[str] = (),
    **fields: Any,
) -> dict[str, Any]:
    return {
        "id": transfer_id,
        "debit_account_id": debit_account_id,
        "credit_account_id": credit_account_id,
        "amount": amount,
        "ledger": LEDGER,
        "code": CODE,
        "flags": list(flags),
        **fields,
    }


def set_up_ledger(client: TestClient, keys: Keys) -> None:
    """Create the standard ledger and its accounts (all empty)."""
    ledger = client.post(
        "/api/v1/ledgers", json={"id": LEDGER, "name": "AI voucher 2026"}, headers=keys.admin
    )
    assert ledger.status_code == 201, ledger.text
    accounts = [
        account_body(APPROPRIATION),
        account_body(POOL, flags=LIMITED),
        account_body(WALLET_A, flags=LIMITED, owner_org_id=ORG_A),
        account_body(WALLET_B, flags=LIMITED, owner_org_id=ORG_B),
        account_body(REVENUE),
    ]
    answer = client.post("/api/v1/accounts/batch", json={"accounts": accounts}, headers=keys.admin)
    assert answer.status_code == 200, answer.text
    assert [r["result"] for r in answer.json()["results"]] == ["ok"] * len(accounts)


def post_transfer(client: TestClient, keys: Keys, body: dict[str, Any]) -> dict[str, Any]:
    """Create a transfer that must succeed; returns the stored transfer."""
    answer = client.post("/api/v1/transfers", json=body, headers=keys.admin)
    assert answer.status_code == 201, answer.text
    transfer: dict[str, Any] = answer.json()["transfer"]
    return transfer


def get_account(client: TestClient, keys: Keys, account_id: int) -> dict[str, Any]:
    answer = client.get(f"/api/v1/accounts/{account_id}", headers=keys.auditor)
    assert answer.status_code == 200, answer.text
    account: dict[str, Any] = answer.json()
    return account

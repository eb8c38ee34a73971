"""The ledger over HTTP: ledgers, accounts, transfers, two-phase holds, linked batches,
idempotent retries, paging and checkpoints."""

from __future__ import annotations

from ccx.clock import SimulatedClock
from tests.api.client import Keys, TestClient, assert_error
from tests.api.factories import (
    APPROPRIATION,
    CODE,
    CREDIT,
    LEDGER,
    ORG_A,
    POOL,
    REVENUE,
    WALLET_A,
    WALLET_B,
    account_body,
    get_account,
    post_transfer,
    set_up_ledger,
    transfer_body,
)


def balances(account: dict[str, int]) -> tuple[int, int, int, int]:
    return (
        account["debits_pending"],
        account["debits_posted"],
        account["credits_pending"],
        account["credits_posted"],
    )


def test_grant_hold_partial_post_and_balances(client: TestClient, keys: Keys) -> None:
    set_up_ledger(client, keys)
    post_transfer(client, keys, transfer_body(1, APPROPRIATION, POOL, 100 * CREDIT))
    post_transfer(client, keys, transfer_body(2, POOL, WALLET_A, 40 * CREDIT))

    hold = post_transfer(
        client, keys, transfer_body(3, WALLET_A, REVENUE, 30 * CREDIT, flags=["pending"])
    )
    assert hold["flags"] == ["pending"]
    wallet = get_account(client, keys, WALLET_A)
    assert balances(wallet) == (30 * CREDIT, 0, 0, 40 * CREDIT)
    assert wallet["balance_available"] == 10 * CREDIT
    assert wallet["balance_pending"] == 10 * CREDIT
    assert wallet["balance_posted"] == 40 * CREDIT

    post = {"id": 4, "pending_id": 3, "amount": 12 * CREDIT, "flags": ["post_pending_transfer"]}
    posted = post_transfer(client, keys, post)
    assert posted["amount"] == 12 * CREDIT
    assert (posted["debit_account_id"], posted["credit_account_id"]) == (WALLET_A, REVENUE)
    assert posted["pending_id"] == 3

    wallet = get_account(client, keys, WALLET_A)
    assert balances(wallet) == (0, 12 * CREDIT, 0, 40 * CREDIT)
    assert wallet["balance_available"] == 28 * CREDIT
    assert wallet["flags"] == ["debits_must_not_exceed_credits"]
    revenue = get_account(client, keys, REVENUE)
    assert balances(revenue) == (0, 0, 0, 12 * CREDIT)
    # The hold resolves once: a second post answers its ledger result code.
    again = client.post(
        "/api/v1/transfers", json={**post, "id": 5, "amount": CREDIT}, headers=keys.admin
    )
    assert_error(again, 422, "pending_transfer_already_posted")
    # The firm sees its own balance.
    own = client.get(f"/api/v1/accounts/{WALLET_A}", headers=keys.firm_a)
    assert own.json()["balance_available"] == 28 * CREDIT


def test_post_without_amount_posts_the_whole_hold_and_void_releases_it(
    client: TestClient, keys: Keys
) -> None:
    set_up_ledger(client, keys)
    post_transfer(client, keys, transfer_body(1, APPROPRIATION, POOL, 1_000))
    post_transfer(client, keys, transfer_body(2, POOL, WALLET_A, 500, flags=["pending"]))
    post_transfer(client, keys, transfer_body(3, POOL, WALLET_B, 300, flags=["pending"]))

    whole = post_transfer(
        client, keys, {"id": 4, "pending_id": 2, "flags": ["post_pending_transfer"]}
    )
    assert whole["amount"] == 500
    voided = post_transfer(
        client, keys, {"id": 5, "pending_id": 3, "flags": ["void_pending_transfer"]}
    )
    assert voided["amount"] == 300

    assert balances(get_account(client, keys, WALLET_A)) == (0, 0, 0, 500)
    assert balances(get_account(client, keys, WALLET_B)) == (0, 0, 0, 0)
    assert balances(get_account(client, keys, POOL)) == (0, 500, 0, 1_000)


def test_a_retry_with_the_same_body_answers_200_exists(client: TestClient, keys: Keys) -> None:
    set_up_ledger(client, keys)
    body = transfer_body(1, APPROPRIATION, POOL, 700)
    first = client.post("/api/v1/transfers", json=body, headers=keys.admin)
    assert first.status_code == 201
    assert first.json()["result"] == "ok"

    retry = client.post("/api/v1/transfers", json=body, headers=keys.admin)
    assert retry.status_code == 200
    assert retry.json() == {"result": "exists", "transfer": first.json()["transfer"]}
    assert get_account(client, keys, POOL)["credits_posted"] == 700


def test_a_retry_with_another_body_answers_409(client: TestClient, keys: Keys) -> None:
    set_up_ledger(client, keys)
    post_transfer(client, keys, transfer_body(1, APPROPRIATION, POOL, 700))
    changed = client.post(
        "/api/v1/transfers", json=transfer_body(1, APPROPRIATION, POOL, 701), headers=keys.admin
    )
    error = assert_error(changed, 409, "exists_with_different_fields")
    assert error["details"] == {"id": 1}
    assert get_account(client, keys, POOL)["credits_posted"] == 700


def test_a_rejected_transfer_answers_422_and_its_retry_409_id_already_failed(
    client: TestClient, keys: Keys
) -> None:
    set_up_ledger(client, keys)
    overdraw = transfer_body(1, POOL, WALLET_A, 1)
    assert_error(
        client.post("/api/v1/transfers", json=overdraw, headers=keys.admin), 422, "exceeds_credits"
    )
    # Funding the pool afterwards does not change the answer for the same id.
    post_transfer(client, keys, transfer_body(2, APPROPRIATION, POOL, 10))
    retry = client.post("/api/v1/transfers", json=overdraw, headers=keys.admin)
    assert_error(retry, 409, "id_already_failed")
    assert get_account(client, keys, WALLET_A)["credits_posted"] == 0


def test_a_rejection_on_the_request_itself_answers_422_with_the_result_code(
    client: TestClient, keys: Keys
) -> None:
    set_up_ledger(client, keys)
    same = client.post(
        "/api/v1/transfers", json=transfer_body(1, POOL, POOL, 1), headers=keys.admin
    )
    assert_error(same, 422, "accounts_must_be_different")
    missing = client.post(
        "/api/v1/transfers", json=transfer_body(2, POOL, 999, 1), headers=keys.admin
    )
    assert_error(missing, 422, "credit_account_not_found")


def test_a_linked_batch_where_one_fails_applies_nothing(client: TestClient, keys: Keys) -> None:
    set_up_ledger(client, keys)
    post_transfer(client, keys, transfer_body(1, APPROPRIATION, POOL, 100))
    chain = [
        transfer_body(10, POOL, WALLET_A, 60, flags=["linked"]),
        transfer_body(11, POOL, WALLET_B, 60, flags=["linked"]),  # the pool holds only 40 more
        transfer_body(12, APPROPRIATION, REVENUE, 5),
    ]
    independent = transfer_body(13, APPROPRIATION, REVENUE, 7)

    answer = client.post(
        "/api/v1/transfers/batch", json={"transfers": [*chain, independent]}, headers=keys.admin
    )

    assert answer.status_code == 200
    assert answer.json()["results"] == [
        {"index": 0, "id": 10, "result": "linked_event_failed"},
        {"index": 1, "id": 11, "result": "exceeds_credits"},
        {"index": 2, "id": 12, "result": "linked_event_failed"},
        {"index": 3, "id": 13, "result": "ok"},
    ]
    assert balances(get_account(client, keys, POOL)) == (0, 0, 0, 100)
    assert balances(get_account(client, keys, WALLET_A)) == (0, 0, 0, 0)
    assert balances(get_account(client, keys, WALLET_B)) == (0, 0, 0, 0)
    assert balances(get_account(client, keys, REVENUE)) == (0, 0, 0, 7)
    for transfer_id in (10, 11, 12):
        assert client.get(f"/api/v1/transfers/{transfer_id}", headers=keys.admin).status_code == 404
    metrics = client.get("/metrics").text
    assert 'ccx_transfers_created_total{result="linked_event_failed"} 2.0' in metrics


def test_a_batch_answers_one_result_per_event(client: TestClient, keys: Keys) -> None:
    set_up_ledger(client, keys)
    batch = [
        transfer_body(1, APPROPRIATION, POOL, 50),
        transfer_body(1, APPROPRIATION, POOL, 50),
        transfer_body(2, POOL, WALLET_A, 20),
        transfer_body(3, POOL, WALLET_A, 31),
    ]
    answer = client.post("/api/v1/transfers/batch", json={"transfers": batch}, headers=keys.admin)
    assert answer.status_code == 200
    assert [r["result"] for r in answer.json()["results"]] == [
        "ok",
        "exists",
        "ok",
        "exceeds_credits",
    ]
    assert get_account(client, keys, WALLET_A)["credits_posted"] == 20


def test_accounts_single_and_batch_answer_their_results(client: TestClient, keys: Keys) -> None:
    set_up_ledger(client, keys)
    body = account_body(
        20, code=CODE + 1, flags=["debits_must_not_exceed_credits"], owner_org_id=ORG_A
    )
    created = client.post("/api/v1/accounts", json=body, headers=keys.admin)
    assert created.status_code == 201
    account = created.json()["account"]
    assert created.json()["result"] == "ok"
    assert account["flags"] == ["debits_must_not_exceed_credits"]
    assert (account["ledger"], account["code"], account["owner_org_id"]) == (
        LEDGER,
        CODE + 1,
        ORG_A,
    )
    assert account["balance_available"] == 0

    assert client.post("/api/v1/accounts", json=body, headers=keys.admin).status_code == 200
    changed = client.post("/api/v1/accounts", json={**body, "code": CODE}, headers=keys.admin)
    assert_error(changed, 409, "exists_with_different_fields")
    no_ledger = client.post(
        "/api/v1/accounts", json={**body, "id": 21, "ledger": 99}, headers=keys.admin
    )
    assert_error(no_ledger, 422, "ledger_not_found")

    batch = [account_body(22), {**account_body(23), "ledger": 99}, body]
    answer = client.post("/api/v1/accounts/batch", json={"accounts": batch}, headers=keys.admin)
    assert answer.json()["results"] == [
        {"index": 0, "id": 22, "result": "ok"},
        {"index": 1, "id": 23, "result": "ledger_not_found"},
        {"index": 2, "id": 20, "result": "exists"},
    ]


def test_ledgers_are_created_idempotently_and_listed(client: TestClient, keys: Keys) -> None:
    body = {"id": 3, "name": "Manufacturing AI 2026", "asset_scale": 6}
    first = client.post("/api/v1/ledgers", json=body, headers=keys.admin)
    assert first.status_code == 201
    assert client.post("/api/v1/ledgers", json=body, headers=keys.admin).json() == first.json()
    renamed = client.post("/api/v1/ledgers", json={**body, "name": "other"}, headers=keys.admin)
    assert_error(renamed, 409, "ledger_conflict")
    listed = client.get("/api/v1/ledgers", headers=keys.firm_a)
    assert listed.json() == {"items": [first.json()]}


def test_lists_page_by_id(client: TestClient, keys: Keys) -> None:
    set_up_ledger(client, keys)
    seen: list[int] = []
    after_id = 0
    while True:
        page = client.get(f"/api/v1/accounts?limit=2&after_id={after_id}", headers=keys.auditor)
        assert page.status_code == 200
        items, next_after_id = page.json()["items"], page.json()["next_after_id"]
        seen.extend(item["id"] for item in items)
        if next_after_id is None:
            break
        assert next_after_id == items[-1]["id"]
        after_id = next_after_id
    assert seen == [APPROPRIATION, POOL, WALLET_A, WALLET_B, REVENUE]

    wallets = client.get(
        f"/api/v1/accounts?ledger={LEDGER}&code={CODE}&limit=100", headers=keys.admin
    )
    assert len(wallets.json()["items"]) == 5
    assert wallets.json()["next_after_id"] is None
    other_code = client.get(f"/api/v1/accounts?code={CODE + 1}", headers=keys.admin)
    assert other_code.json()["items"] == []

    for transfer_id in (5, 6, 7):
        post_transfer(client, keys, transfer_body(transfer_id, APPROPRIATION, REVENUE, 1))
    first = client.get("/api/v1/transfers?limit=2", headers=keys.auditor).json()
    assert [t["id"] for t in first["items"]] == [5, 6]
    rest = client.get(f"/api/v1/transfers?after_id={first['next_after_id']}", headers=keys.auditor)
    assert [t["id"] for t in rest.json()["items"]] == [7]


def test_the_checkpoint_covers_every_committed_transfer(
    client: TestClient, keys: Keys, clock: SimulatedClock
) -> None:
    empty = client.get("/api/v1/ledger/checkpoint", headers=keys.auditor)
    assert empty.status_code == 200
    assert empty.json()["sequence"] == 0

    set_up_ledger(client, keys)
    post_transfer(client, keys, transfer_body(1, APPROPRIATION, POOL, 10))
    clock.advance(1)
    post_transfer(client, keys, transfer_body(2, APPROPRIATION, POOL, 10))
    first = client.get("/api/v1/ledger/checkpoint", headers=keys.auditor).json()
    assert first["sequence"] == 2
    assert first["entries_unsealed"] == 0
    assert len(first["head_hash"]) == 64
    int(first["merkle_root"], 16)

    assert client.get("/api/v1/ledger/checkpoint", headers=keys.auditor).json() == first
    post_transfer(client, keys, transfer_body(3, APPROPRIATION, POOL, 10))
    later = client.get("/api/v1/ledger/checkpoint", headers=keys.auditor).json()
    assert later["sequence"] == 3
    assert later["head_hash"] != first["head_hash"]
    assert later["merkle_root"] != first["merkle_root"]

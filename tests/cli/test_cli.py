"""The `ccx` command, driven as a user would, on both databases."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ccx.cli.main import app
from ccx.db import Database
from tests.cli.session import run, runner


def setup_ledger(ccx: CliRunner) -> None:
    run(ccx, "ledger", "create", "--id", "1", "--name", "voucher")
    run(ccx, "ledger", "account", "create", "--id", "1", "--ledger", "1", "--code", "1")
    run(
        ccx,
        "ledger",
        "account",
        "create",
        "--id",
        "2",
        "--ledger",
        "1",
        "--code",
        "2",
        "--debits-must-not-exceed-credits",
        "--owner-org",
        "7",
    )
    run(ccx, "ledger", "account", "create", "--id", "3", "--ledger", "1", "--code", "3")


def transfer(ccx: CliRunner, *args: str, code: int = 0) -> str:
    return run(ccx, "ledger", "transfer", *args, code=code)


def move(
    ccx: CliRunner,
    transfer_id: int,
    debit: int,
    credit: int,
    amount: int,
    *extra: str,
    kind: int = 1,
    code: int = 0,
) -> str:
    """`ccx ledger transfer` on ledger 1 with transfer code `kind`."""
    return transfer(
        ccx,
        "--id",
        str(transfer_id),
        "--debit",
        str(debit),
        "--credit",
        str(credit),
        "--amount",
        str(amount),
        "--ledger",
        "1",
        "--code",
        str(kind),
        *extra,
        code=code,
    )


def balances(ccx: CliRunner, account_id: int) -> dict[str, int]:
    shown = json.loads(run(ccx, "ledger", "account", "show", str(account_id), "--json"))
    return {k: v for k, v in shown.items() if k.startswith(("balance", "debits", "credits"))}


def test_grant_hold_partial_post_and_verify(ccx: CliRunner) -> None:
    setup_ledger(ccx)
    move(ccx, 10, 1, 2, 5000000)
    move(ccx, 11, 2, 3, 2000000, "--pending", kind=2)
    held = balances(ccx, 2)
    assert held["balance_available"] == 3_000_000
    assert held["debits_pending"] == 2_000_000
    run(ccx, "ledger", "transfer", "--id", "12", "--post", "11", "--amount", "1500000")
    after = balances(ccx, 2)
    assert after == {
        "debits_pending": 0,
        "debits_posted": 1_500_000,
        "credits_pending": 0,
        "credits_posted": 5_000_000,
        "balance_posted": 3_500_000,
        "balance_pending": 3_500_000,
        "balance_available": 3_500_000,
    }
    assert balances(ccx, 3)["balance_posted"] == 1_500_000
    lookup = json.loads(run(ccx, "ledger", "lookup-transfer", "11", "--json"))
    assert lookup["hold_status"] == "posted"
    checkpoint = json.loads(run(ccx, "ledger", "checkpoint", "--json"))
    assert checkpoint["sequence"] == 3
    expect = f"{checkpoint['sequence']}:{checkpoint['head_hash_hex']}"
    assert "3 journal entries" in run(ccx, "ledger", "verify", "--expect", expect)


def test_retry_with_same_id_is_harmless(ccx: CliRunner) -> None:
    setup_ledger(ccx)
    args = [
        "ledger",
        "transfer",
        "--id",
        "10",
        "--debit",
        "1",
        "--credit",
        "2",
        "--amount",
        "700",
        "--ledger",
        "1",
        "--code",
        "1",
    ]
    assert "ok" in run(ccx, *args)
    assert "exists" in run(ccx, *args)
    changed = [("701" if value == "700" else value) for value in args]
    assert "exists_with_different_fields" in run(ccx, *changed, code=1)
    assert balances(ccx, 2)["credits_posted"] == 700


def test_refusals_exit_1_and_change_nothing(ccx: CliRunner) -> None:
    setup_ledger(ccx)
    out = transfer(
        ccx,
        "--id",
        "20",
        "--debit",
        "2",
        "--credit",
        "3",
        "--amount",
        "1",
        "--ledger",
        "1",
        "--code",
        "2",
        code=1,
    )
    assert "exceeds_credits" in out
    out = transfer(
        ccx,
        "--id",
        "21",
        "--debit",
        "9",
        "--credit",
        "3",
        "--amount",
        "1",
        "--ledger",
        "1",
        "--code",
        "2",
        code=1,
    )
    assert "debit_account_not_found" in out
    assert "id_already_failed" in transfer(
        ccx,
        "--id",
        "20",
        "--debit",
        "2",
        "--credit",
        "3",
        "--amount",
        "1",
        "--ledger",
        "1",
        "--code",
        "2",
        code=1,
    )
    assert balances(ccx, 2)["debits_posted"] == 0
    assert "not found" in run(ccx, "ledger", "account", "show", "99", code=1)
    assert "exists_with_different_fields" in run(
        ccx, "ledger", "account", "create", "--id", "1", "--ledger", "1", "--code", "5", code=1
    )


@pytest.mark.parametrize(
    "args",
    [
        ["ledger", "transfer", "--debit", "1", "--credit", "2", "--amount", "-5"],
        ["ledger", "transfer", "--debit", "1", "--credit", "2", "--ledger", "1", "--code", "1"],
        ["ledger", "transfer", "--post", "1", "--void", "1"],
        ["ledger", "transfer", "--id", "0", "--debit", "1", "--credit", "2", "--amount", "1"],
        ["ledger", "transfer", "--amount", str(2**63), "--debit", "1", "--credit", "2"],
        ["ledger", "account", "create", "--id", "abc", "--ledger", "1", "--code", "1"],
        ["ledger", "create", "--id", "1", "--name", "   "],
        ["ledger", "verify", "--expect", "12:nothex"],
        ["keys", "create", "--role", "firm"],
        ["keys", "create", "--role", "overlord"],
    ],
)
def test_bad_input_exits_2(ccx: CliRunner, args: list[str]) -> None:
    result = ccx.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.strip()


def test_unusable_database_url_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCX_DATABASE_URL", "mysql://somewhere/db")
    result = runner.invoke(app, ["ledger", "list"])
    assert result.exit_code == 2
    assert "unsupported database" in result.output


def test_verify_names_a_tampered_transfer(ccx: CliRunner, database: Database) -> None:
    setup_ledger(ccx)
    move(ccx, 10, 1, 2, 500)
    move(ccx, 11, 1, 3, 800)
    run(ccx, "ledger", "seal")
    run(ccx, "ledger", "verify")
    with database.engine.begin() as connection:
        connection.execute(sa.text("UPDATE transfers SET amount = 900 WHERE id = 11"))
    out = run(ccx, "ledger", "verify", code=1)
    assert "journal entry 2 (transfer 11): hash differs" in out
    assert "account 3" in out


def test_expired_hold_returns_its_credits(ccx: CliRunner) -> None:
    setup_ledger(ccx)
    move(ccx, 10, 1, 2, 500)
    move(ccx, 11, 2, 3, 400, "--pending", "--timeout-s", "1", kind=2)
    assert "0 hold(s) expired" in run(ccx, "ledger", "expire")
    time.sleep(1.05)
    assert "pending_transfer_expired" in run(
        ccx, "ledger", "transfer", "--id", "12", "--post", "11", code=1
    )
    assert "1 hold(s) expired" in run(ccx, "ledger", "expire")
    assert balances(ccx, 2)["balance_available"] == 500
    run(ccx, "ledger", "verify")


def test_close_account_sweeps_then_refuses(ccx: CliRunner) -> None:
    setup_ledger(ccx)
    move(ccx, 10, 1, 2, 500)
    run(ccx, "ledger", "account", "close", "2", "--sweep-to", "3")
    run(ccx, "ledger", "account", "close", "2", "--sweep-to", "3")  # a retry changes nothing
    assert balances(ccx, 3)["credits_posted"] == 500
    assert "debit_account_already_closed" in transfer(
        ccx,
        "--id",
        "11",
        "--debit",
        "2",
        "--credit",
        "3",
        "--amount",
        "0",
        "--ledger",
        "1",
        "--code",
        "1",
        code=1,
    )


def test_keys_create_list_revoke(ccx: CliRunner) -> None:
    out = run(ccx, "keys", "create", "--role", "firm", "--org", "42", "--label", "acme")
    token = out.strip().splitlines()[-1]
    assert token.startswith("ccx_")
    listing = run(ccx, "keys", "list")
    assert "acme" in listing
    _, key_id, secret = token.split("_", 2)  # the secret itself may contain "_"
    assert secret not in listing
    assert "revoked" in run(ccx, "keys", "revoke", key_id)
    assert "no API key" in run(ccx, "keys", "revoke", "nope", code=1)


def test_reopened_account_closes_again_under_the_next_number(ccx: CliRunner) -> None:
    from ccx.ids import derived_id
    from ccx.ledger.service import CLOSE_FREEZE

    setup_ledger(ccx)
    move(ccx, 10, 1, 2, 500)
    run(ccx, "ledger", "account", "close", "2", "--sweep-to", "3")
    run(ccx, "ledger", "transfer", "--id", "11", "--void", str(derived_id(CLOSE_FREEZE, 2, 1)))
    assert "closed" not in run(ccx, "ledger", "account", "show", "2", "--json")
    move(ccx, 12, 1, 2, 70)
    run(ccx, "ledger", "account", "close", "2", "--sweep-to", "3", "--closing-number", "2")
    assert "closed" in run(ccx, "ledger", "account", "show", "2", "--json")
    assert balances(ccx, 3)["credits_posted"] == 570
    run(ccx, "ledger", "verify")

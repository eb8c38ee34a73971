"""`ccx demo` end to end on the embedded default (SQLite): a small nation for a few days. Its
totals reconcile exactly with the ledger, the journal verifies, and the same seed gives the
same summary (wall-clock timings aside)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ccx.cli.main import app
from ccx.db import open_database
from ccx.demo.run import DemoOptions, run_demo
from ccx.demo.summary import Summary
from ccx.ledger import queries as ledger_queries
from tests.programs_factories import assert_ledger_ok

SMALL = DemoOptions(firms=200, devices=500, days=5, seed=7)
WALL_CLOCK = ("time_to_credit_ms",)


def run_small(path: Path) -> Summary:
    database = open_database(f"sqlite:///{path}")
    try:
        summary = run_demo(database, SMALL)
        assert_ledger_ok(database)
        with database.read() as session:
            assert_matches_ledger(summary, session_totals(session))
    finally:
        database.dispose()
    return summary


def session_totals(session: Any) -> dict[int, int]:
    """Σ credits - debits per account code over both programmes' ledgers."""
    totals: dict[int, int] = {}
    for ledger in (1, 2):
        for code, figures in ledger_queries.totals_by_code(session, ledger).items():
            totals[code] = totals.get(code, 0) + figures.balance_posted
    return totals


def assert_matches_ledger(summary: Summary, posted_by_code: dict[int, int]) -> None:
    credits = summary.credits
    assert credits.check_ok
    assert sum(posted_by_code.values()) == 0  # double entry over both ledgers
    assert -posted_by_code[1] == credits.appropriated_micro
    assert posted_by_code.get(5, 0) == credits.consumed_micro
    assert posted_by_code.get(6, 0) == credits.fees_micro
    assert posted_by_code.get(7, 0) == credits.expired_micro
    assert posted_by_code.get(8, 0) == credits.clawed_back_micro
    assert credits.consumed_micro > 0
    assert summary.applications["refused"] > 0  # large-group affiliates and the like


def comparable(summary: Summary) -> dict[str, Any]:
    data = summary.to_json()
    for key in WALL_CLOCK:
        data.pop(key)
    data["meta"].pop("elapsed_s")
    return data


def test_a_small_demo_reconciles_and_repeats(tmp_path: Path) -> None:
    first = run_small(tmp_path / "first.sqlite3")
    second = run_small(tmp_path / "second.sqlite3")
    assert comparable(first) == comparable(second)
    assert first.rounds["count"] >= 2
    assert sum(pool["used_device_hours"] for pool in first.pools) > 0


def test_the_command_writes_the_json_and_refuses_a_used_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCX_DATABASE_URL", f"sqlite:///{tmp_path / 'ccx.sqlite3'}")
    runner = CliRunner()
    out = tmp_path / "summary.json"
    args = ["demo", "--firms", "60", "--devices", "100", "--days", "2", "--json", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Accounting check holds" in result.output
    assert json.loads(out.read_text())["credits"]["check_ok"] is True
    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert "--reset" in again.output
    assert runner.invoke(app, [*args, "--reset"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--days", "0"], "--days must be 1 to 365"),
        (["--firms", "10"], "firms"),
        (["--devices", "1"], "devices"),
        (["--firms", "many"], "Invalid value for '--firms'"),
    ],
)
def test_bad_options_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], expected: str
) -> None:
    monkeypatch.setenv("CCX_DATABASE_URL", f"sqlite:///{tmp_path / 'ccx.sqlite3'}")
    result = CliRunner().invoke(app, ["demo", *args])
    assert result.exit_code == 2
    assert expected in " ".join(result.output.split())

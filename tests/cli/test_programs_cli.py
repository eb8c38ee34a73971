"""`ccx programmes` and `ccx mandates`, driven as a user would, on both databases.

The command runs on the system clock, so programme dates are set around today; lots granted
"long ago" are set up through the service with a simulated clock in the past.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from ccx.cli.main import app
from ccx.clock import NS_PER_S, SimulatedClock
from ccx.db import Database
from ccx.programs.ledger_ids import mandate_id, spend_id
from ccx.registry import OrgKind
from tests.cli.session import (
    TODAY,
    count,
    run,
    run_json,
)
from tests.programs_factories import (
    apply,
    certified_integrator,
    make_programme,
    register,
    verified_ledger,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.usefixtures("verified_ledger")


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def create_programme(ccx: CliRunner, *extra: str) -> None:
    run(
        ccx,
        "programmes", "create", "--id", "1", "--name", "AI voucher",
        "--budget", "1000", "--opens", day(-30), "--closes", day(30), "--grant", "100",
        "--lot-days", "90", "--firm-cap", "200", "--group-cap", "300",
        "--price-krw", "3500", "--audit-sample-bp", "0", *extra,
    )  # fmt: skip


def test_a_programme_session(
    ccx: CliRunner, database: Database, today_clock: SimulatedClock
) -> None:
    create_programme(ccx)
    create_programme(ccx)  # again: nothing changes
    firm = register(database, today_clock, 1)
    university = register(database, today_clock, 2, kind=OrgKind.UNIVERSITY)
    integrator = certified_integrator(database, today_clock, 3)

    approved = run_json(ccx, "programmes", "apply", "1", "--firm", str(firm.id), "--key", "a1")
    assert approved["decision"] == "approved"
    assert run_json(ccx, "programmes", "apply", "1", "--firm", str(firm.id), "--key", "a1") == (
        approved
    )
    refused = run(
        ccx, "programmes", "apply", "1", "--firm", str(university.id), "--key", "a1", code=1
    )
    assert "kind_not_eligible" in refused
    shown = run_json(ccx, "programmes", "show", "1")
    assert (shown["granted_micro"], shown["applications_refused"]) == (100_000_000, 1)
    assert "100 credits" in run(ccx, "programmes", "show", "1")
    [lot] = run_json(ccx, "programmes", "lots", "1", "--firm", str(firm.id))
    assert lot["available_micro"] == 100_000_000

    run(
        ccx, "mandates", "grant", "--programme", "1", "--firm", str(firm.id),
        "--integrator", str(integrator.id), "--project", "vision QA", "--cap", "50",
        "--until", day(60), "--key", "m1",
    )  # fmt: skip
    mandate = str(mandate_id(1, firm.id, "m1"))
    assert "vision QA" in run(ccx, "mandates", "list", "--firm", str(firm.id))
    spent = run(
        ccx, "mandates", "spend", mandate, "--amount", "20.5", "--purpose", "train", "--key", "s1"
    )
    assert "20.5 credits = 71,750 KRW" in spent
    assert "fee_share" in run(
        ccx, "mandates", "redeem-fee", mandate, "--amount", "6", "--key", "f1", code=1
    )
    assert "17,500 KRW" in run(
        ccx, "mandates", "redeem-fee", mandate, "--amount", "5", "--key", "f1"
    )
    run(ccx, "mandates", "spend", mandate, "--amount", "4", "--purpose", "x", "--key", "h1",
        "--hold", "--timeout-s", "3600")  # fmt: skip
    held = str(spend_id(int(mandate), "h1"))
    assert "settled" in run(ccx, "mandates", "settle", held, "--post", "1")
    assert "spend" in run(ccx, "mandates", "spends", mandate)
    shown_mandate = run_json(ccx, "mandates", "show", mandate)
    assert shown_mandate["drawn_micro"] == 26_500_000

    run(ccx, "programmes", "audit", "list", "1")
    applications = run_json(ccx, "programmes", "applications", "1", "--firm", str(firm.id))
    failed = run(ccx, "programmes", "audit", "fail", str(applications[0]["id"]), "--note", "fake")
    assert "clawed back 73.5" in failed
    assert "revoked" in run(ccx, "mandates", "revoke", mandate)
    assert "ok:" in run(ccx, "ledger", "verify")


def test_expire_sweeps_lots_granted_long_ago(
    ccx: CliRunner, database: Database, today_clock: SimulatedClock
) -> None:
    long_ago = SimulatedClock(today_clock.now_ns() - 100 * 86_400 * NS_PER_S)
    make_programme(
        database, long_ago, 1, opens_on=date(2000, 1, 1), closes_on=TODAY, lot_lifetime_days=90
    )
    firm = register(database, long_ago, 1)
    apply(database, long_ago, firm.id, programme_id=1)
    apply(database, today_clock, firm.id, key="recent", programme_id=1)
    assert "1 lot(s) expired (100 credits); 0 deferred" in run(ccx, "programmes", "expire")
    assert "0 lot(s) expired" in run(ccx, "programmes", "expire")
    assert "0 consortium pool(s) expired (0 credits)" in run(ccx, "programmes", "expire")
    assert "ok:" in run(ccx, "ledger", "verify")


@pytest.mark.parametrize(
    "extra",
    [
        ("--budget", "lots"),
        ("--budget", "-5"),
        ("--opens", "tomorrow"),
        ("--closes", day(-31)),
        ("--grant-micro", "10"),
        ("--quota-youth-bp", "10001"),
        ("--track", "direct"),
        ("--kind", "large"),
    ],
)
def test_bad_programmes_exit_2_and_write_nothing(
    ccx: CliRunner, database: Database, extra: tuple[str, str]
) -> None:
    result = ccx.invoke(
        app,
        [
            "programmes", "create", "--id", "1", "--name", "AI voucher", "--budget", "1000",
            "--opens", day(-30), "--closes", day(30), "--grant", "100", "--lot-days", "90",
            "--firm-cap", "200", "--group-cap", "300", *extra,
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert count(database, "programmes") == count(database, "ledgers") == 0


def test_bad_input_and_unknown_things(
    ccx: CliRunner, database: Database, today_clock: SimulatedClock
) -> None:
    create_programme(ccx)
    firm = register(database, today_clock, 1)
    integrator = certified_integrator(database, today_clock, 2)
    assert "key" in run(
        ccx, "programmes", "apply", "1", "--firm", str(firm.id), "--key", " ", code=2
    )
    run(ccx, "programmes", "apply", "2", "--firm", str(firm.id), "--key", "k", code=1)
    run(ccx, "programmes", "apply", "1", "--firm", "999", "--key", "k", code=1)
    run(ccx, "programmes", "show", "2", code=1)
    run(ccx, "mandates", "show", "5", code=1)
    run(ccx, "mandates", "revoke", "5", code=1)
    run(ccx, "mandates", "spend", "5", "--amount", "x", "--purpose", "p", "--key", "k", code=2)
    run(ccx, "programmes", "audit", "pass", "5", code=1)
    grant = ("mandates", "grant", "--programme", "1", "--firm", str(firm.id), "--integrator",
             str(integrator.id), "--project", "p", "--key", "m")  # fmt: skip
    run(ccx, *grant, "--cap", "0", "--until", day(10), code=2)
    run(ccx, *grant, "--cap", "5", "--until", "someday", code=2)
    refused = run(ccx, *grant, "--cap", "5", "--until", day(10), code=1)
    assert "no_credits_in_programme" in refused
    assert count(database, "programme_applications") == 0
    assert count(database, "mandates") == 0

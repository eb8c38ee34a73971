"""`ccx consortia`, driven as a user would, on both databases; firms and grants are set up
through the services on a clock at today."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from ccx.clock import SimulatedClock
from ccx.consortia import MemberRole
from ccx.db import Database
from ccx.programs import Track
from ccx.programs.ledger_ids import consortium_application_id, mandate_id, spend_id
from tests.cli.session import (
    TODAY,
    count,
    run,
)
from tests.consortia_factories import add_member, anchor, make_consortium, sme
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    apply,
    certified_integrator,
    make_programme,
    verified_ledger,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.usefixtures("verified_ledger")


def open_programme(database: Database, clock: SimulatedClock, **changes: Any) -> None:
    """Programme 7, open from yesterday for a month."""
    make_programme(
        database,
        clock,
        opens_on=TODAY - timedelta(days=1),
        closes_on=TODAY + timedelta(days=30),
        **changes,
    )


def test_a_consortium_session(
    ccx: CliRunner, database: Database, today_clock: SimulatedClock
) -> None:
    open_programme(database, today_clock, tracks=frozenset({Track.SME_DIRECT, Track.CONSORTIUM}))
    lead = anchor(database, today_clock, 1)
    member = sme(database, today_clock, 2)
    apply(database, today_clock, member.id)

    created = run(
        ccx, "consortia", "create", "--name", "Mobility AI", "--industry", "C30",
        "--region", "KR-31", "--region", "KR-48", "--anchor", str(lead.id),
    )  # fmt: skip
    assert "consortium 1 'Mobility AI'" in created
    assert "sme: organisation" in run(
        ccx, "consortia", "add-member", "1", "--role", "sme", "--member", str(member.id)
    )
    given = run(
        ccx, "consortia", "contribute", "1", "--programme", "7", "--firm", str(member.id),
        "--amount", "25.5", "--key", "c1",
    )  # fmt: skip
    assert "gave 25.5 credits" in given
    assert "approved, 100 credits in pool" in run(
        ccx, "consortia", "apply", "1", "--programme", "7", "--key", "g1"
    )
    run(
        ccx, "consortia", "models", "add", "1", "--name", "weld-defect-ko",
        "--base", "Qwen2.5-VL-7B", "--task", "weld defect detection",
        "--hardware", "8x H100 80GB", "--licence", "Apache-2.0", "--metric", "mAP=0.874",
    )  # fmt: skip
    shown = json.loads(run(ccx, "consortia", "show", "1", "--json"))
    assert shown["pools"][0]["available_micro"] == 125_500_000
    assert "125.5 credits available" in run(ccx, "consortia", "show", "1")
    [model] = json.loads(run(ccx, "consortia", "models", "list", "1", "--json"))
    assert model["metrics"] == [{"name": "mAP", "value": "0.874"}]
    assert "lot" in run(ccx, "consortia", "contributions", "1")
    assert "Mobility AI" in run(ccx, "consortia", "list", "--member", str(member.id))


def test_bad_input_and_refusals_exit_non_zero(
    ccx: CliRunner, database: Database, today_clock: SimulatedClock
) -> None:
    lead = anchor(database, today_clock, 1)
    wrong = sme(database, today_clock, 2)
    base = ["consortia", "create", "--name", "M", "--region", "KR-31"]
    run(ccx, *base, "--industry", "C3", "--anchor", str(lead.id), code=2)
    run(ccx, *base, "--industry", "C30", "--region", "KR-99", "--anchor", str(lead.id), code=2)
    refused = run(ccx, *base, "--industry", "C30", "--anchor", str(wrong.id), code=1)
    assert "wrong_kind_for_role" in refused
    assert count(database, "consortia") == 0
    run(ccx, *base, "--industry", "C30", "--anchor", str(lead.id))
    run(
        ccx, "consortia", "models", "add", "1", "--name", "m", "--base", "b", "--task", "t",
        "--hardware", "h", "--licence", "l", "--metric", "no-equals", code=2,
    )  # fmt: skip
    run(
        ccx, "consortia", "contribute", "1", "--programme", "7", "--firm", str(lead.id),
        "--amount", "-1", "--key", "k", code=2,
    )  # fmt: skip
    run(ccx, "consortia", "show", "9", code=1)
    assert count(database, "consortium_models") == 0


def test_a_consortium_mandate_session(
    ccx: CliRunner, database: Database, today_clock: SimulatedClock
) -> None:
    open_programme(database, today_clock)
    consortium = make_consortium(database, today_clock, anchor(database, today_clock, 1).id)
    member = sme(database, today_clock, 2)
    add_member(database, today_clock, consortium.id, MemberRole.SME, member.id)
    apply(database, today_clock, member.id)
    integrator = certified_integrator(database, today_clock, 3)
    run(
        ccx, "consortia", "contribute", str(consortium.id), "--programme", "7",
        "--firm", str(member.id), "--amount", "30", "--key", "c1",
    )  # fmt: skip
    grant = [
        "mandates", "grant", "--programme", "7", "--integrator", str(integrator.id),
        "--project", "weld QA", "--cap", "20", "--until", str(TODAY + timedelta(days=20)),
        "--key", "m1", "--consortium", str(consortium.id),
    ]  # fmt: skip
    assert "not_the_anchor" in run(ccx, *grant, "--firm", str(member.id), code=1)
    granted = run(ccx, *grant, "--firm", str(consortium.anchor_id))
    assert f"consortium {consortium.id}'s pool" in granted
    mandate = str(mandate_id(PROGRAMME_ID, consortium.anchor_id, "m1"))
    spent = run(
        ccx, "mandates", "spend", mandate, "--amount", "10", "--purpose", "train", "--key", "s1"
    )
    assert "pool" in spent
    run(ccx, "mandates", "spend", mandate, "--amount", "4", "--purpose", "x", "--key", "h1",
        "--hold", "--timeout-s", "3600")  # fmt: skip
    assert "settled" in run(
        ccx, "mandates", "settle", str(spend_id(int(mandate), "h1")), "--post", "1"
    )
    assert "mandate_cap" in run(
        ccx, "mandates", "spend", mandate, "--amount", "10", "--purpose", "x", "--key", "s2",
        code=1,
    )  # fmt: skip
    run(ccx, "mandates", "redeem-fee", mandate, "--amount", "2", "--key", "f1")
    [listed] = json.loads(
        run(ccx, "mandates", "list", "--consortium", str(consortium.id), "--json")
    )
    assert (listed["consortium_id"], listed["drawn_micro"]) == (consortium.id, 13 * CREDIT)
    assert "revoked" in run(ccx, "mandates", "revoke", mandate)
    shown = json.loads(run(ccx, "consortia", "show", str(consortium.id), "--json"))
    assert shown["pools"][0]["available_micro"] == 17 * CREDIT


def test_audits_of_a_consortium_grant(
    ccx: CliRunner, database: Database, today_clock: SimulatedClock
) -> None:
    both = frozenset({Track.SME_DIRECT, Track.CONSORTIUM})
    open_programme(database, today_clock, tracks=both, audit_sample_bp=10_000)
    consortium = make_consortium(database, today_clock, anchor(database, today_clock, 1).id)
    run(ccx, "consortia", "apply", str(consortium.id), "--programme", "7", "--key", "g1")
    run(ccx, "consortia", "apply", str(consortium.id), "--programme", "7", "--key", "g2")
    first, second = (
        str(consortium_application_id(PROGRAMME_ID, consortium.id, key)) for key in ("g1", "g2")
    )
    run(ccx, "programmes", "audit", "list", "7")
    queue = json.loads(run(ccx, "programmes", "applications", "7", "--audit", "selected", "--json"))
    assert sorted(str(item["id"]) for item in queue) == sorted([first, second])
    assert queue[0]["audit_reasons"][0]["code"] == "random_sample"
    assert "audit passed" in run(ccx, "programmes", "audit", "pass", first)
    failed = run(ccx, "programmes", "audit", "fail", second, "--note", "no project")
    assert "pool" in failed
    assert "clawed back 200" in failed
    assert "clawed back 200" in run(ccx, "programmes", "audit", "fail", second)
    assert "failed_audit" in run(
        ccx, "consortia", "apply", str(consortium.id), "--programme", "7", "--key", "g3", code=1
    )
    assert "ok:" in run(ccx, "ledger", "verify")

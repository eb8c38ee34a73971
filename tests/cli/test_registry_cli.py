"""`ccx registry`, driven as a user would, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ccx.registry import format_brn
from tests.cli import session
from tests.registry_factories import brn


def run(ccx: CliRunner, *args: str, code: int = 0) -> str:
    """`ccx registry …`."""
    return session.run(ccx, "registry", *args, code=code)


def register(ccx: CliRunner, number: int, *extra: str, kind: str = "sme", code: int = 0) -> str:
    return run(
        ccx,
        "org",
        "register",
        "--kind",
        kind,
        "--brn",
        format_brn(brn(number)),
        "--name",
        f"Firm {number}",
        "--region",
        "KR-46",
        "--ksic",
        "C30",
        "--sales",
        "10000000000",
        "--assets",
        "5000000000",
        *extra,
        code=code,
    )


def test_register_show_list_and_check(ccx: CliRunner) -> None:
    assert "organisation 1: Firm 1 (sme, BRN" in register(
        ccx,
        1,
        "--employees",
        "12",
        "--founded",
        "2019-04-01",
        "--youth-led",
        "--shareholder",
        f"Parent Co|{brn(9)}|2500|yes|600000000000|yes",
        "--shareholder",
        "Kim||2000|no||no",
    )
    register(ccx, 2, "--sales", "120000000001", "--group", "Samsung")
    shown = json.loads(run(ccx, "org", "show", "1", "--json"))
    assert shown["brn"] == brn(1)
    assert shown["founded_on"] == "2019-04-01"
    assert shown["youth_led"] is True
    assert [h["holder_name"] for h in shown["shareholders"]] == ["Parent Co", "Kim"]
    assert "Parent Co (" in run(ccx, "org", "show", "1")
    listed = run(ccx, "org", "list")
    assert "Firm 1" in listed
    assert "Firm 2" in listed
    assert "Firm 1" not in run(ccx, "org", "list", "--after", "1")

    eligible = run(ccx, "org", "check-sme", "1", "--on", "2026-03-01")
    assert "eligible as an SME (sme-2025-09-01)" in eligible
    assert "size class: small" in eligible
    refused = run(ccx, "org", "check-sme", "2", "--on", "2026-03-01", code=1)
    assert "not eligible" in refused
    assert (
        "3-year average sales 120,000,000,001 KRW exceed the cap of 120,000,000,000 KRW for KSIC"
        " C30" in refused
    )
    assert "affiliate of business group 'Samsung'" in refused
    decision = json.loads(run(ccx, "org", "check-sme", "2", "--json", code=1))
    assert decision["eligible"] is False
    assert len(decision["reasons"]) == 2


def test_bad_input_exits_2_and_writes_nothing(ccx: CliRunner) -> None:
    output = run(
        ccx,
        "org",
        "register",
        "--kind",
        "sme",
        "--brn",
        "220-81-62518",
        "--name",
        "X",
        "--region",
        "KR-46",
        "--ksic",
        "Z9",
        "--email",
        "nobody",
        code=2,
    )
    assert "last digit should be 7" in output
    assert "'Z9' is not a KSIC code" in output
    assert "'nobody' is not an email address" in output
    assert "Firm" not in run(ccx, "org", "list")
    run(ccx, "org", "register", "--kind", "chaebol", code=2)
    register(ccx, 1, "--sales", "-1", code=2)
    register(ccx, 1, "--founded", "2019-02-30", code=2)
    assert "must have 6 parts" in register(ccx, 1, "--shareholder", "A|B", code=2)
    run(ccx, "org", "show", "0", code=2)
    run(ccx, "org", "check-sme", "1", "--on", "someday", code=2)


def test_refusals_exit_1(ccx: CliRunner) -> None:
    register(ccx, 1)
    assert "registered already" in register(ccx, 1, code=1)
    assert "organisation 7 not found" in run(ccx, "org", "show", "7", code=1)
    assert "organisation 7 not found" in run(ccx, "org", "check-sme", "7", code=1)
    assert "no SME rules were in force" in run(
        ccx, "org", "check-sme", "1", "--on", "2020-01-01", code=2
    )


def test_people(ccx: CliRunner) -> None:
    register(ccx, 1, kind="university")
    register(ccx, 2)
    for org in ("1", "2"):
        run(ccx, "person", "add", "--name", "Lee", "--email", "lee@u.ac.kr", "--org", org)
    assert "already" in run(
        ccx, "person", "add", "--name", "Lee", "--email", "LEE@u.ac.kr", "--org", "2", code=1
    )
    assert "not an email address" in run(
        ccx, "person", "add", "--name", "Lee", "--email", "lee", "--org", "2", code=2
    )
    assert "no organisation 9" in run(
        ccx, "person", "add", "--name", "Lee", "--email", "l@u.kr", "--org", "9", code=1
    )
    run(
        ccx,
        "person",
        "add",
        "--name",
        "P",
        "--email",
        "p@u.kr",
        "--org",
        "2",
        "--role",
        "boss",
        code=2,
    )
    listed = run(ccx, "person", "list", "--org", "2")
    assert listed.count("lee@u.ac.kr") == 1


def test_integrator_certification_and_conflicts(ccx: CliRunner) -> None:
    register(ccx, 1, "--shareholder", "Holding||5000|yes||yes")
    register(ccx, 2, "--shareholder", "holding||3000|yes||yes", kind="integrator")
    assert "integrator 2: applied" in run(ccx, "integrator", "apply", "2")
    assert "certified until 2026-12-31" in run(
        ccx, "integrator", "certify", "2", "--until", "2026-12-31"
    )
    run(ccx, "integrator", "suspend", "2", "--reason", "audit pending")
    assert "cannot renew integrator 2: its certification is suspended" in run(
        ccx, "integrator", "renew", "2", "--until", "2027-12-31", code=1
    )
    run(ccx, "integrator", "certify", "2", "--until", "2027-06-30")
    run(ccx, "integrator", "renew", "2", "--until", "2027-12-31")
    run(ccx, "integrator", "revoke", "2", "--reason", "kickbacks")
    shown = json.loads(run(ccx, "integrator", "show", "2", "--json"))
    assert shown["status"] == "revoked"
    assert [e["reason"] for e in shown["history"]] == [
        "application",
        "certification",
        "audit pending",
        "certification",
        "renewal",
        "kickbacks",
    ]
    assert "kickbacks" in run(ccx, "integrator", "show", "2")
    assert "of kind 'sme'" in run(ccx, "integrator", "apply", "1", code=1)
    assert "has not applied" in run(ccx, "integrator", "show", "1", code=1)
    run(ccx, "integrator", "certify", "2", "--until", "next-year", code=2)

    related = run(ccx, "conflicts", "--firm", "1", "--integrator", "2", code=1)
    assert "shared shareholder 'Holding'" in related
    register(ccx, 3)
    assert "no conflict" in run(ccx, "conflicts", "--firm", "3", "--integrator", "2")
    assert "no organisation 9" in run(ccx, "conflicts", "--firm", "9", "--integrator", "2", code=1)


def test_csv_import_is_all_or_nothing(ccx: CliRunner, tmp_path: Path) -> None:
    header = "kind,brn,name,region,ksic_code,sales_3y_avg_krw\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(header + f"sme,{brn(1)},A,KR-11,J62,1\nsme,{brn(2)},B,KR-11,J62,lots\n")
    output = " ".join(run(ccx, "org", "import", str(bad), code=1).split())  # unwrapped
    assert "row 3, column sales_3y_avg_krw: 'lots' is not a whole number" in output
    assert "1 problem(s)" in output
    assert "nothing imported" in output
    assert "A" not in run(ccx, "org", "list", "--kind", "sme")
    good = tmp_path / "good.csv"
    good.write_text(header + f"sme,{brn(1)},A,KR-11,J62,1\nsme,{brn(2)},B,KR-11,J62,2\n")
    assert "imported 2 organisations" in run(ccx, "org", "import", str(good))
    assert "registered already" in run(ccx, "org", "import", str(good), code=1)
    latin = tmp_path / "latin.csv"
    latin.write_bytes((header + "sme,1,Café,KR-11,J,1\n").encode("latin-1"))
    assert "not UTF-8" in run(ccx, "org", "import", str(latin), code=2)
    run(ccx, "org", "import", str(tmp_path / "missing.csv"), code=2)

"""`ccx metering`, `ccx centre` and `ccx worker`, driven as a user would, on both databases."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from ccx.clock import SimulatedClock
from ccx.db import Database
from tests.cli.session import count, run
from tests.programs_factories import certified_integrator, register

DATA = Path(__file__).parent.parent / "data"
SACCT = DATA / "slurm" / "sacct-jobs-and-steps.txt"
DCGM = DATA / "dcgm" / "dcgm-exporter-sample.prom"


def error_of(ccx: CliRunner, *args: str, code: int = 2) -> str:
    """A refused command's message, unwrapped."""
    return " ".join(run(ccx, *args, code=code).split())


def test_importing_a_sacct_file_twice_stores_it_once(ccx: CliRunner, database: Database) -> None:
    first = run(ccx, "metering", "import", str(SACCT))
    assert "14 new" in first
    again = run(ccx, "metering", "import", str(SACCT))
    assert "0 new, 0 updated, 14 unchanged" in again
    assert count(database, "usage_records") == 14
    listed = run(ccx, "metering", "list", "--limit", "2")
    assert "ccxtest" in listed


def test_a_malformed_file_names_its_line_and_imports_nothing(
    ccx: CliRunner, database: Database, tmp_path: Path
) -> None:
    broken = tmp_path / "sacct.txt"
    lines = SACCT.read_text().splitlines()
    broken.write_text(
        "\n".join([*lines[:5], "ccxtest|9|ccx-a1|root|COMPLETED|yesterday", *lines[5:]])
    )
    assert "line 6" in error_of(ccx, "metering", "import", str(broken))
    lines.insert(2, "ccxtest|x|")
    broken.write_text(
        "\n".join([*lines[:5], "ccxtest|9|ccx-a1|root|COMPLETED|yesterday", *lines[5:]])
    )
    both = error_of(ccx, "metering", "import", str(broken))
    assert "line 3" in both
    assert "line 6" in both
    assert "2 malformed lines; nothing imported" in both
    assert count(database, "usage_records") == 0
    assert (
        "no such file" in run(ccx, "metering", "import", str(tmp_path / "none.txt"), code=2).lower()
    )


def test_dcgm_utilisation_is_imported_once_per_scrape(
    ccx: CliRunner, database: Database, tmp_path: Path
) -> None:
    scrape = tmp_path / "node01.prom"
    shutil.copyfile(DCGM, scrape)
    at = "2026-11-22T02:20:27Z"
    assert "5 new" in run(
        ccx, "metering", "import", str(scrape), "--cluster", "ccxtest", "--at", at
    )
    assert "0 new" in run(
        ccx, "metering", "import", str(scrape), "--cluster", "ccxtest", "--at", at
    )
    assert count(database, "utilisation_samples") == 5
    assert "--cluster" in error_of(ccx, "metering", "import", str(scrape))
    scrape.write_text('DCGM_FI_DEV_GPU_UTIL{gpu="0" 87\n')
    assert "line 1: not a Prometheus sample" in error_of(
        ccx, "metering", "import", str(scrape), "--cluster", "c"
    )


def test_centre_logins_and_the_plan(ccx: CliRunner, database: Database) -> None:
    clock = SimulatedClock()
    integrator = certified_integrator(database, clock, 2)
    firm = register(database, clock, 3)
    run(ccx, "centre", "users", "add", "--integrator", str(integrator.id), "--login", "alice")
    refused = error_of(
        ccx, "centre", "users", "add", "--integrator", str(firm.id), "--login", "bob"
    )
    assert "not an integrator" in refused
    applied = run(ccx, "centre", "plan", "--apply")
    assert "applied create_qos" in applied


def test_one_worker_beat_runs_every_duty(ccx: CliRunner) -> None:
    output = run(ccx, "worker", "--once")
    for duty in ("import usage", "settle usage", "clear a round", "seal the journal"):
        assert f"{duty}: " in output
    assert "Error" not in output
    assert "--policy" in error_of(ccx, "worker", "--once", "--policy", "auction")

"""`ccx demo`: a synthetic national programme run end to end on the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import Progress

from ccx.cli.context import context_of, fail, out
from ccx.db import open_database
from ccx.demo.run import DemoOptions, run_demo
from ccx.demo.summary import render
from ccx.registry import queries as registry_queries


def _reset_sqlite(url: str) -> None:
    """Delete the SQLite file (and its WAL) so the demo starts afresh."""
    path = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def demo(
    ctx: typer.Context,
    firms: int = typer.Option(700, help="Firms in the synthetic nation (50 to 50,000)."),
    devices: int = typer.Option(4_000, help="Devices at the centre (50 to 200,000)."),
    days: int = typer.Option(30, help="Simulated days (1 to 365)."),
    seed: int = typer.Option(1, min=0, max=2**31 - 1, help="The same seed gives the same run."),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the summary here."),
    reset: bool = typer.Option(False, "--reset", help="Start afresh: delete the SQLite file."),
) -> None:
    """Generate a synthetic nation and run it day by day through the real services, with a
    simulated clock and centre; print where the credits went and who benefits. The database
    stays, so `ccx serve` shows the same data afterwards."""
    context = context_of(ctx)
    options = DemoOptions(firms=firms, devices=devices, days=days, seed=seed)
    problems = options.problems()
    if problems:
        fail("; ".join(problems))
    url = context.settings.database_url
    if reset:
        if not url.startswith("sqlite:///"):
            fail("--reset deletes a SQLite file; empty a PostgreSQL database yourself")
        _reset_sqlite(url)
    if json_path is not None and json_path.is_dir():
        fail(f"--json: {json_path} is a folder")
    database = open_database(url, pool_size=2)
    with database.read() as session:
        if registry_queries.list_organisations(session, limit=1):
            fail("the database already holds data: run `ccx demo --reset` to start afresh")
    with Progress(console=out, transient=True) as progress:
        task = progress.add_task("simulated days", total=days)
        summary = run_demo(database, options, on_day=lambda _: progress.advance(task))
    render(summary, out)
    if json_path is not None:
        json_path.write_text(json.dumps(summary.to_json(), indent=2, sort_keys=True) + "\n")
        out.print(f"summary written to {json_path}")

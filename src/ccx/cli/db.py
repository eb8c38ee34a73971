"""`ccx db`: the database schema."""

from __future__ import annotations

import typer

from ccx import db
from ccx.cli.context import context_of, out

app = typer.Typer(help="The database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply every migration (also done automatically on first use)."""
    database = context_of(ctx).database
    db.upgrade(database)
    out.print(f"schema up to date ({database.dialect.value})")

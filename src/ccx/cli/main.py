"""`ccx`: the command line. Each command parses, calls one service or query, and renders."""

from __future__ import annotations

import typer

from ccx.cli import consortia as consortium_commands
from ccx.cli import db as db_commands
from ccx.cli import demo as demo_commands
from ccx.cli import exchange as exchange_commands
from ccx.cli import keys as key_commands
from ccx.cli import ledger as ledger_commands
from ccx.cli import metering as metering_commands
from ccx.cli import programmes as programme_commands
from ccx.cli import registry as registry_commands
from ccx.cli import serve as serve_commands
from ccx.cli.context import CliContext, load_settings

app = typer.Typer(
    name="ccx",
    help="The Compute Credit Exchange: compute credits for a national AI computing centre.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(consortium_commands.app, name="consortia")
app.add_typer(db_commands.app, name="db")
app.add_typer(exchange_commands.app, name="exchange")
app.add_typer(key_commands.app, name="keys")
app.add_typer(ledger_commands.app, name="ledger")
app.add_typer(metering_commands.app, name="metering")
app.add_typer(metering_commands.centre_app, name="centre")
app.add_typer(programme_commands.app, name="programmes")
app.add_typer(programme_commands.mandates_app, name="mandates")
app.add_typer(registry_commands.app, name="registry")
serve_commands.register(app)
app.command("worker")(metering_commands.worker)
app.command("demo")(demo_commands.demo)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Settings come from CCX_* environment variables (CCX_DATABASE_URL, ...)."""
    ctx.obj = CliContext(settings=load_settings())


def main() -> None:
    app()

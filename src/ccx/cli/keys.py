"""`ccx keys`: API keys."""

from __future__ import annotations

import typer
from rich.table import Table

from ccx.auth import AuthError, Role
from ccx.auth import queries as auth_queries
from ccx.auth import service as auth_service
from ccx.cli.context import EXIT_REJECTED, context_of, fail, out
from ccx.ids import ID_MAX

app = typer.Typer(help="API keys (each carries a role and an organisation).", no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    role: Role = typer.Option(..., help="What the key may do."),
    org: int | None = typer.Option(
        None, min=1, max=ID_MAX, help="Organisation id (firm and integrator keys need one)."
    ),
    label: str = typer.Option("", help="A note on what the key is for."),
) -> None:
    """Issue a key. The token is printed once; only its hash is stored."""
    context = context_of(ctx)
    try:
        with context.database.write() as session:
            issued = auth_service.create_api_key(
                session, role=role, org_id=org, label=label, clock=context.clock
            )
    except AuthError as error:
        fail(str(error))
    out.print(
        f"key {issued.key.key_id} ({issued.key.role.value}, org {issued.key.org_id});"
        " token (shown once):"
    )
    print(issued.token)


@app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """List keys (never their secrets)."""
    with context_of(ctx).database.read() as session:
        keys = auth_queries.list_api_keys(session)
    table = Table("key", "role", "org", "label", "revoked")
    for key in keys:
        table.add_row(
            key.key_id,
            key.role.value,
            str(key.org_id or ""),
            key.label,
            "yes" if key.revoked else "",
        )
    out.print(table)


@app.command("revoke")
def revoke(ctx: typer.Context, key_id: str = typer.Argument(..., help="The key id.")) -> None:
    """Revoke a key: it stops working at once."""
    try:
        with context_of(ctx).database.write() as session:
            key = auth_service.revoke_api_key(session, key_id)
    except AuthError as error:
        fail(str(error), code=EXIT_REJECTED)
    out.print(f"key {key.key_id} revoked")

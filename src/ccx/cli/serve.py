"""`ccx serve`: the HTTP API."""

from __future__ import annotations

import typer

from ccx.cli.context import context_of

PORT_MAX = 65_535


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=PORT_MAX, help="Port to listen on."),
) -> None:
    """Serve the HTTP API (OpenAPI at /api/v1/openapi.json, health at /healthz)."""
    import uvicorn

    from ccx.api.app import create_app

    context = context_of(ctx)
    app = create_app(context.settings, clock=context.clock)  # its own pool (CCX_DATABASE_POOL_SIZE)
    uvicorn.run(app, host=host, port=port, log_level="info")

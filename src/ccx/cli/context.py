"""What every command needs: settings, the database (opened on first use), output, errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from ccx.clock import Clock, SystemClock
from ccx.config import Settings
from ccx.db import Database, DatabaseUrlError, open_database

EXIT_REJECTED = 1  # the request was understood and refused (a ledger rule, a failed check)
EXIT_BAD_INPUT = 2  # the request itself is wrong (Typer uses 2 for usage errors too)

out = Console()
err = Console(stderr=True)


def fail(message: str, *, code: int = EXIT_BAD_INPUT) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@dataclass
class CliContext:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    _database: Database | None = None

    @property
    def database(self) -> Database:
        if self._database is None:
            try:
                self._database = open_database(self.settings.database_url, pool_size=2)
            except DatabaseUrlError as error:
                fail(f"CCX_DATABASE_URL: {error}")
        return self._database


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"CCX_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
        )
        fail(f"bad settings: {problems}")


def context_of(ctx: typer.Context) -> CliContext:
    assert isinstance(ctx.obj, CliContext)
    return ctx.obj

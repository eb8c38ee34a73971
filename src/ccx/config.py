"""Settings, read from environment variables with the prefix ``CCX_``.

Settings are built at the edges (CLI entry, app factory) and passed down; nothing here runs at
import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """A SQLite file in the per-user data folder (created on first use)."""
    folder = Path(platformdirs.user_data_dir("ccx", appauthor=False))
    return f"sqlite:///{folder / 'ccx.sqlite3'}"


class Settings(BaseSettings):
    """Everything ccx can be configured with."""

    model_config = SettingsConfigDict(env_prefix="CCX_", extra="ignore", frozen=True)

    database_url: str = Field(default_factory=default_database_url)
    # Background duties of `ccx serve`: expire timed-out holds and seal the journal.
    pulse_interval_s: float = Field(default=1.0, gt=0, le=3600)
    # Connections per process on PostgreSQL.
    database_pool_size: int = Field(default=8, ge=1, le=256)
    # The computing centre: the in-memory simulation, or Slurm through its tools (SLURM_CONF).
    center: Literal["simulated", "slurm"] = "simulated"

"""Open the centre the settings name (`CCX_CENTER=simulated|slurm`)."""

from __future__ import annotations

from collections.abc import Mapping

from ccx.center.interfaces import Center
from ccx.center.simulated import SimulatedCenter
from ccx.center.slurm import SlurmCenter, SlurmRunner
from ccx.clock import Clock
from ccx.config import Settings

# Pools of the simulated centre when none are declared: the testbed's types, scaled up.
SIMULATED_POOLS_DEFAULT: Mapping[str, int] = {"h100": 64, "a100": 64, "b200": 16}


def open_center(settings: Settings, clock: Clock, pools: Mapping[str, int] | None = None) -> Center:
    """The simulated centre on `pools` (default `SIMULATED_POOLS_DEFAULT`), or Slurm through
    its command-line tools (SLURM_CONF names the cluster; `pools` does not apply)."""
    if settings.center == "slurm":
        return SlurmCenter(SlurmRunner())
    return SimulatedCenter(clock, dict(pools or SIMULATED_POOLS_DEFAULT))

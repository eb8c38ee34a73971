"""Finding the test Slurm (scripts/slurm-testbed.sh) and taking turns on it.

A Slurm test runs when `scontrol ping` answers UP (SLURM_CONF, else the testbed's default
config) and is skipped otherwise; with CCX_TEST_SLURM=1 (CI) a missing Slurm fails the run
instead. Slurm tests take a file lock: a plan is the whole desired state of ccx's accounts, so
two tests applying plans at once would zero each other's accounts.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTBED_SLURM_CONF = Path("/tmp/ccx-slurm/etc/slurm.conf")
LOCK_PATH = Path(tempfile.gettempdir()) / "ccx-slurm-contract.lock"
PING_TIMEOUT_S = 5


def _slurm_conf() -> str | None:
    return os.environ.get("SLURM_CONF") or (
        str(TESTBED_SLURM_CONF) if TESTBED_SLURM_CONF.exists() else None
    )


@functools.cache  # asked once per test process
def _slurm_up(conf: str) -> bool:
    try:
        ping = subprocess.run(
            ["scontrol", "ping"],
            env={**os.environ, "SLURM_CONF": conf},
            capture_output=True,
            text=True,
            timeout=PING_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "UP" in ping.stdout


def require_slurm() -> str:
    """The SLURM_CONF of a Slurm that answers; skips (or with CCX_TEST_SLURM=1 fails) without."""
    conf = _slurm_conf()
    if conf is not None and _slurm_up(conf):
        return conf
    reason = f"no Slurm answers (SLURM_CONF={conf}): run scripts/slurm-testbed.sh up"
    if os.environ.get("CCX_TEST_SLURM") == "1":
        pytest.fail(f"CCX_TEST_SLURM=1 but {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def slurm_lock() -> Iterator[None]:
    """One Slurm test at a time, across test processes."""
    with LOCK_PATH.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield

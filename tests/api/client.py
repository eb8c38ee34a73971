"""How the API tests talk to the application: the test client and API key headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2
from fastapi.testclient import TestClient

from ccx.auth import Role
from ccx.auth.service import create_api_key
from ccx.clock import SimulatedClock
from ccx.config import Settings
from ccx.db import Database

__all__ = ["Keys", "TestClient", "assert_error", "bearer", "issue_token", "settings_for"]

QUIET_PULSE_S = 3600.0
"""A pulse interval no test outlasts: the pulse fires only where a test asks for it."""


@dataclass(frozen=True)
class Keys:
    """Request headers carrying one API key of each kind."""

    admin: dict[str, str]
    operator: dict[str, str]
    auditor: dict[str, str]
    firm_a: dict[str, str]
    firm_b: dict[str, str]
    integrator_a: dict[str, str]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issue_token(database: Database, clock: SimulatedClock, role: Role, org_id: int | None) -> str:
    with database.write() as session:
        issued = create_api_key(session, role=role, org_id=org_id, label="test", clock=clock)
    return issued.token


def settings_for(database: Database, *, pulse_interval_s: float = QUIET_PULSE_S) -> Settings:
    url = database.url.render_as_string(hide_password=False)
    return Settings(database_url=url, pulse_interval_s=pulse_interval_s)


def assert_error(answer: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    """Check an error answer: its status, the one error shape, and its code."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str)
    assert error["message"]
    return error

"""HTTP API fixtures: an application on the test database and simulated clock, a client, keys.

The client runs the application's lifespan (so the pulse thread starts and stops with it), with
an interval long enough that the pulse never fires during a test unless the test asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from ccx.api import create_app
from ccx.auth import Role
from ccx.clock import SimulatedClock
from ccx.db import Database
from tests.api.client import Keys, TestClient, bearer, issue_token, settings_for
from tests.api.factories import ORG_A, ORG_B


@pytest.fixture
def app(database: Database, clock: SimulatedClock) -> FastAPI:
    return create_app(settings_for(database), database=database, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def keys(database: Database, clock: SimulatedClock) -> Keys:
    def headers(role: Role, org_id: int | None = None) -> dict[str, str]:
        return bearer(issue_token(database, clock, role, org_id))

    return Keys(
        admin=headers(Role.ADMIN),
        operator=headers(Role.OPERATOR),
        auditor=headers(Role.AUDITOR),
        firm_a=headers(Role.FIRM, ORG_A),
        firm_b=headers(Role.FIRM, ORG_B),
        integrator_a=headers(Role.INTEGRATOR, ORG_A),
    )

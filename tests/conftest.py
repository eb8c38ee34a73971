"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is reached over a real connection at ``CCX_TEST_POSTGRES_URL`` (default: the local
server as user postgres); each test process creates its own database, named after the URL's
with the process id appended, and drops it at the end. ``CCX_TEST_BACKENDS``
narrows the backends (``sqlite``, ``postgresql``, or both, comma-separated; default both).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ccx.clock import SimulatedClock
from ccx.db import Database, open_database
from ccx.exchange.catalogue import seed_catalogue

POSTGRES_URL = os.environ.get(
    "CCX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/ccx_test"
)
BACKENDS = [
    b.strip()
    for b in os.environ.get("CCX_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if b.strip()
]


def _run_url() -> str:
    """A database of this test process's own, so parallel runs never share one."""
    url = sa.make_url(POSTGRES_URL)
    return url.set(database=f"{url.database}_{os.getpid()}").render_as_string(hide_password=False)


def _admin_engine(url: str) -> sa.Engine:
    return sa.create_engine(sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _drop_postgres_database(url: str) -> None:
    admin = _admin_engine(url)
    with admin.connect() as connection:
        name = sa.make_url(url).database
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = _run_url()
    _drop_postgres_database(url)
    admin = _admin_engine(url)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{sa.make_url(url).database}"')
    admin.dispose()
    yield url
    _drop_postgres_database(url)


@pytest.fixture(scope="session")
def _postgres_database(postgres_url: str) -> Iterator[Database]:
    database = open_database(postgres_url, pool_size=32)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    database = open_database(f"sqlite:///{path}")
    database.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not Path(f"{path}-wal").exists()
    return path


def _truncate_all(database: Database) -> None:
    with database.engine.begin() as connection:
        names = [
            row[0]
            for row in connection.exec_driver_sql(
                "SELECT tablename FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
        connection.exec_driver_sql(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
        seed_catalogue(connection)  # what migration 0008 put in


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated, empty database on the backend under test."""
    if backend == "postgresql":
        shared: Database = request.getfixturevalue("_postgres_database")
        _truncate_all(shared)
        yield shared
        return
    template: Path = request.getfixturevalue("_sqlite_template")
    path = tmp_path / "ccx.sqlite3"
    shutil.copyfile(template, path)
    database = open_database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def database_url(database: Database) -> str:
    return database.url.render_as_string(hide_password=False)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()

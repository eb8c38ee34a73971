"""Database engines, transactions and migrations.

`Database` wraps the engine(s) for one database URL:

- ``write()`` opens one write transaction (``BEGIN IMMEDIATE`` on SQLite, so writers queue at
  the start instead of failing on lock upgrade) and commits at the end; services never commit.
- ``write_statement()`` gives a bare connection for one write statement that is its own
  transaction (autocommit on PostgreSQL; a write transaction on SQLite): a ledger-only batch is
  one call of the ledger's function, and BEGIN, COMMIT and the ORM session would cost more.
- ``read()`` opens a read-only transaction that sees one snapshot (``REPEATABLE READ`` on
  PostgreSQL; SQLite's WAL gives each transaction its own snapshot).

SQLite runs with WAL and ``synchronous=FULL``; PostgreSQL with its server durability settings.
Migrations (Alembic, shipped in the package) are applied by `upgrade` and on first use.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

T = TypeVar("T")
S = TypeVar("S")

# A write that loses a race (same new id inserted twice, deadlock, lock timeout) is re-run as
# the identical request; ids make that safe. Never more than this many attempts.
WRITE_ATTEMPTS_MAX = 5
SQLITE_BUSY_TIMEOUT_MS = 30_000
POOL_RECYCLE_S = 1_800


class Base(DeclarativeBase):
    """Base of every table. Enums are stored by value, in plain string columns."""


class Dialect(enum.StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class DatabaseUrlError(ValueError):
    """The database URL cannot be used."""


def parse_database_url(url: str) -> URL:
    """Parse and check a database URL; plain ``postgresql://`` selects psycopg 3."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as error:
        raise DatabaseUrlError(f"not a database URL: {url!r}") from error
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise DatabaseUrlError("SQLite needs a file (WAL does not work in memory)")
        return parsed
    raise DatabaseUrlError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
    )


def _sqlite_engine(url: URL, *, read_only: bool) -> Engine:
    Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _is_retryable(error: DBAPIError) -> bool:
    if error.connection_invalidated:
        return True  # the server or network dropped the connection before the commit
    if isinstance(error, IntegrityError):
        return True  # a concurrent request inserted the same id first: the re-run answers `exists`
    if isinstance(error, OperationalError):
        text = str(error.orig).lower()
        return any(
            word in text for word in ("deadlock", "could not serialize", "database is locked")
        )
    return False


def _run_retrying(
    transaction: Callable[[], AbstractContextManager[S]], action: Callable[[S], T]
) -> T:
    for attempt in range(1, WRITE_ATTEMPTS_MAX + 1):
        try:
            with transaction() as target:
                return action(target)
        except DBAPIError as error:
            if attempt == WRITE_ATTEMPTS_MAX or not _is_retryable(error):
                raise
    raise AssertionError("unreachable")


class Database:
    """The engines for one database and the transactions on it."""

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = parse_database_url(url)
        self.dialect = Dialect(self.url.get_backend_name())
        if self.dialect is Dialect.SQLITE:
            self.engine = _sqlite_engine(self.url, read_only=False)
            self._read_engine = _sqlite_engine(self.url, read_only=True)
            self._statement_engine = self.engine  # a statement write is a write transaction
        else:
            # No pre-ping (a round trip per transaction): a dropped connection fails its
            # transaction, which `run_write` re-runs on a fresh one.
            self.engine = sa.create_engine(
                self.url, pool_size=pool_size, max_overflow=0, pool_recycle=POOL_RECYCLE_S
            )
            # A read sees one snapshot (so `ccx ledger verify` can run beside live writes).
            self._read_engine = self.engine.execution_options(isolation_level="REPEATABLE READ")
            # Statement writes get a pool of their own, always in autocommit: setting and
            # resetting the isolation level on a shared connection costs more than the rest of
            # a one-transfer call's client side.
            self._statement_engine = sa.create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=0,
                pool_recycle=POOL_RECYCLE_S,
                isolation_level="AUTOCOMMIT",
            )
        self._writer = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._reader = sessionmaker(self._read_engine, expire_on_commit=False, autoflush=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commits on success, rolls back on any error."""
        with self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """One read-only transaction."""
        with self._reader() as session, session.begin():
            yield session

    @contextmanager
    def write_statement(self) -> Iterator[sa.Connection]:
        """A bare connection for ONE write statement, which is then its own transaction.

        On PostgreSQL the connection is in autocommit mode: the statement commits by itself,
        without BEGIN and COMMIT round trips. On SQLite it runs in a write transaction.
        """
        if self.dialect is Dialect.POSTGRESQL:
            with self._statement_engine.connect() as connection:
                yield connection
        else:
            with self.engine.begin() as connection:
                yield connection

    def run_write(self, action: Callable[[Session], T]) -> T:
        """Run `action` in one write transaction, re-running it when it loses a race.

        Only for actions that are idempotent by their ids (every ledger write is).
        """
        return _run_retrying(self.write, action)

    def run_statement_write(self, action: Callable[[sa.Connection], T]) -> T:
        """`run_write` for an action that sends one statement (`write_statement`)."""
        return _run_retrying(self.write_statement, action)

    def dispose(self) -> None:
        self.engine.dispose()
        self._read_engine.dispose()
        self._statement_engine.dispose()


def _alembic_config(connection: sa.Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", "ccx:migrations")
    config.attributes["connection"] = connection
    return config


def schema_is_current(database: Database) -> bool:
    with database.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
        head = ScriptDirectory.from_config(_alembic_config(connection)).get_heads()
    return set(current) == set(head)


def upgrade(database: Database) -> None:
    """Apply every migration up to head."""
    with database.engine.begin() as connection:
        if database.dialect is Dialect.POSTGRESQL:
            # One migrator at a time when several processes start together.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7243000001)")
        command.upgrade(_alembic_config(connection), "head")


def open_database(url: str, *, pool_size: int = 8) -> Database:
    """Open a database and bring its schema up to date (first use creates it)."""
    database = Database(url, pool_size=pool_size)
    if not schema_is_current(database):
        upgrade(database)
    return database

"""PostgreSQL 10+ adapter on psycopg 3.

Deadlines: ``connect_timeout`` bounds connect + startup + authentication
(psycopg enforces it itself; libpq's minimum is 2 s); ``statement_timeout`` is
set server-side for the whole session through the startup ``options`` (no
extra statement). TCP keepalives detect a peer that vanished mid-statement.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from instances.adapters.base import (
    AccountFacts,
    AccountRows,
    BaseAdapter,
    ConnectionParams,
    ConnectionTest,
    DatabaseInfo,
    DatabaseSize,
    TableSize,
)
from instances.adapters.common import StatementRunner, Stopwatch, target_error
from instances.adapters.postgresql import parse, sql
from whalefall.errors import (
    TargetAuthFailed,
    TargetError,
    TargetPermissionDenied,
    TargetQueryFailed,
    TargetTimeout,
    TargetUnreachable,
)

logger = logging.getLogger(__name__)

DEFAULT_DATABASE = "postgres"

_AUTH_STATES = {"28P01", "28000"}
_TIMEOUT_STATES = {"57014"}  # query_canceled: statement_timeout
_PERMISSION_STATES = {"42501"}
# Errors during connection carry no SQLSTATE in psycopg (libpq reports text
# only), so connection failures are recognised by libpq's (English) messages.
_CONNECT_PATTERNS: list[tuple[re.Pattern[str], type[TargetError]]] = [
    (re.compile(r"timeout expired", re.I), TargetTimeout),
    (re.compile(r"password authentication failed|authentication failed|no pg_hba\.conf entry|"
                r"role \".*\" does not exist|password is required|no password supplied", re.I), TargetAuthFailed),
    (re.compile(r"permission denied|does not have CONNECT privilege", re.I), TargetPermissionDenied),
    (re.compile(r"connection refused|could not translate host name|no route to host|network is unreachable|"
                r"server closed the connection|could not connect|Name or service not known", re.I), TargetUnreachable),
]  # fmt: skip


def classify(exc: BaseException) -> type[TargetError]:
    """The typed error for a psycopg exception: SQLSTATE first, then libpq's connection messages."""
    state = getattr(exc, "sqlstate", None)
    if state in _AUTH_STATES:
        return TargetAuthFailed
    if state in _TIMEOUT_STATES or isinstance(exc, psycopg.errors.ConnectionTimeout):
        return TargetTimeout
    if state in _PERMISSION_STATES:
        return TargetPermissionDenied
    if state is None and isinstance(exc, psycopg.OperationalError):
        for pattern, error in _CONNECT_PATTERNS:
            if pattern.search(str(exc)):
                return error
    return TargetQueryFailed


class PostgreSQLAdapter(BaseAdapter):
    """Reads login roles, databases and sizes of one PostgreSQL server.

    Every method opens its own connection and closes it. ``statements_executed``
    counts the statements this adapter sent (set-based contract).
    """

    db_type = "postgresql"

    def __init__(self, params: ConnectionParams):
        super().__init__(params)
        self.statements_executed = 0

    def _count(self) -> None:
        self.statements_executed += 1

    def _error(self, exc: BaseException, action: str) -> TargetError:
        return target_error(classify(exc), self.params, action, exc)

    @property
    def default_database(self) -> str:
        return self.params.database or DEFAULT_DATABASE

    @contextmanager
    def connect(self, database: str | None = None) -> Iterator[StatementRunner]:
        """An open autocommit connection to ``database`` (default: the instance's) with deadlines."""
        p = self.params
        try:
            # Keyword arguments, not a conninfo string: psycopg quotes each value, so any
            # database name (quotes, spaces, semicolons) is passed through intact.
            conn = psycopg.connect(
                host=p.host,
                port=p.port,
                user=p.username,
                password=p.password,
                dbname=database or self.default_database,
                connect_timeout=max(2, p.connect_timeout),
                options=f"-c statement_timeout={p.statement_timeout * 1000}",
                application_name="whalefall",
                keepalives=1,
                keepalives_idle=30,
                keepalives_interval=10,
                keepalives_count=3,
                autocommit=True,
            )
        except psycopg.Error as exc:
            raise self._error(exc, f"connect to database {database or self.default_database!r}") from exc
        try:
            yield StatementRunner(conn, on_error=self._error, driver_error=psycopg.Error, counter=self._count)
        finally:
            try:
                conn.close()
            except psycopg.Error as exc:  # closing a broken connection; the real error is already raised
                logger.debug("closing PostgreSQL connection failed: %s", type(exc).__name__)

    def test_connection(self) -> ConnectionTest:
        """Server version and the wall time of connect + one query, in milliseconds."""
        with Stopwatch() as watch, self.connect() as runner:
            version = runner.fetchall(sql.VERSION, action="read version")[0]["version"]
        return ConnectionTest(version=version, latency_ms=watch.elapsed_ms)

    def server_version(self) -> str:
        """``server_version``, e.g. '15.20 (Debian 15.20-0+deb12u1)'."""
        with self.connect() as runner:
            return runner.fetchall(sql.VERSION, action="read version")[0]["version"]

    def read_account_rows(self) -> AccountRows:
        """Set-based: 4 statements whatever the number of roles. Schema/table/column
        privileges are those of the instance's database only (default 'postgres')."""
        with self.connect() as runner:
            return {
                # object privileges are those of this database: part of what was read
                "connected_database": self.default_database,
                "roles": runner.fetchall(sql.ACCOUNTS, action="read pg_roles"),
                "memberships": runner.fetchall(sql.MEMBERSHIPS, action="read pg_auth_members"),
                "databases": runner.fetchall(sql.DATABASE_PRIVILEGES, action="read database privileges"),
                "objects": runner.fetchall(sql.OBJECT_PRIVILEGES, action="read object privileges"),
            }

    def parse_account_rows(self, rows: AccountRows) -> list[AccountFacts]:
        """Login roles with roles (transitive) and privileges; see ``parse`` for definitions."""
        return parse.parse_accounts(
            rows["roles"], rows["databases"], rows["objects"],
            membership_rows=rows["memberships"], connected_database=rows["connected_database"],
        )  # fmt: skip

    def fetch_database_inventory(self) -> list[DatabaseInfo]:
        """User databases (templates and invalid databases excluded; 'postgres' included), by name."""
        with self.connect() as runner:
            return parse.parse_databases(runner.fetchall(sql.DATABASES, action="list databases"))

    def fetch_database_sizes(self) -> list[DatabaseSize]:
        """``pg_database_size`` of every inventoried database, in bytes (WAL not included)."""
        with self.connect() as runner:
            return parse.parse_database_sizes(runner.fetchall(sql.DATABASE_SIZES, action="read database sizes"))

    def fetch_table_sizes(self, database: str) -> list[TableSize]:
        """Tables and materialized views of ``database`` in bytes, with ``reltuples`` as row estimate.

        Connects to ``database`` (a connection parameter, never SQL text): needs
        CONNECT on it; without it, ``TargetPermissionDenied``.
        """
        with self.connect(database) as runner:
            rows = runner.fetchall(sql.TABLE_SIZES, action=f"read table sizes of {database!r}")
        return parse.parse_table_sizes(rows)

"""SQL Server adapter: pymssql (the wheel bundles FreeTDS), read-only catalog queries.

Deadlines: ``login_timeout`` for connect/login and ``timeout`` for every
statement (both seconds, from ConnectionParams). FreeTDS gives up on a silent
server after about ``2 × login_timeout + 5`` s (measured), so the login timeout
passed is half the configured connect timeout: a 10 s setting answers within
≈ 15 s, a 2 s setting within ≈ 7 s.

Every driver failure becomes a typed ``TargetError`` naming the instance, with
the password redacted; nothing is returned after a failure.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymssql

from instances.adapters.base import (
    AccountFacts,
    AccountRows,
    BaseAdapter,
    ConnectionTest,
    DatabaseInfo,
    DatabaseSize,
    TableSize,
)
from instances.adapters.sqlserver import parse, sql
from whalefall.errors import (
    TargetAuthFailed,
    TargetError,
    TargetPermissionDenied,
    TargetQueryFailed,
    TargetTimeout,
    TargetUnreachable,
    redact,
)

logger = logging.getLogger(__name__)

# Server error numbers. 18456 login failed, 18452 untrusted domain login,
# 18486 locked out, 18487/18488 password expired / must change.
_AUTH_ERRORS = {18456, 18452, 18486, 18487, 18488}
# 229/230 object/column permission denied, 262 statement permission denied,
# 297 no permission for action, 300 VIEW … STATE denied, 916 cannot access
# database under current security context, 4060 cannot open database.
_PERMISSION_ERRORS = {229, 230, 262, 297, 300, 916, 4060}
# DB-Lib: 20003 timed out (connect or statement).
_TIMEOUT_ERRORS = {20003}
# DB-Lib: 20009 unable to connect, 20002 connection failed, 20004 read failed,
# 20006 write failed, 20017 unexpected EOF, 20047 DBPROCESS is dead.
_UNREACHABLE_ERRORS = {20002, 20004, 20006, 20009, 20017, 20047}


def login_timeout_for(connect_timeout: int) -> int:
    """pymssql login timeout (s) that keeps the real give-up time near ``connect_timeout`` + 5 s."""
    return max(1, int(connect_timeout) // 2)


def error_numbers_and_text(exc: BaseException) -> tuple[set[int], str]:
    """Error numbers (server and DB-Lib) and one-line text from a pymssql exception.

    pymssql raises ``Error((number, b"message"))`` for server and DB-Lib errors
    and ``Error("text")`` for its own; the message may name further DB-Lib errors.
    """
    arg: Any = exc.args[0] if exc.args else ""
    numbers: set[int] = set()
    text: Any = arg
    if isinstance(arg, tuple) and arg:
        if isinstance(arg[0], int):
            numbers.add(arg[0])
        text = arg[1] if len(arg) > 1 else ""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    text = " ".join(str(text).split())
    numbers.update(int(n) for n in re.findall(r"(?:error message|Msg) (\d+)", text))
    return numbers, text


def classify(numbers: set[int], text: str) -> type[TargetError]:
    """Which typed error a set of SQL Server / DB-Lib error numbers means (auth first)."""
    lowered = text.lower()
    if numbers & _AUTH_ERRORS or "login failed" in lowered:
        return TargetAuthFailed
    if numbers & _TIMEOUT_ERRORS or "timed out" in lowered or "timeout expired" in lowered:
        return TargetTimeout
    if numbers & _PERMISSION_ERRORS:
        return TargetPermissionDenied
    if numbers & _UNREACHABLE_ERRORS or "unable to connect" in lowered:
        return TargetUnreachable
    return TargetQueryFailed


class _Session:
    """An open connection that runs catalog statements and maps their failures."""

    def __init__(self, adapter: SQLServerAdapter, connection: Any):
        self.adapter = adapter
        self.connection = connection
        self.statements = 0

    def rows(self, statement: str, what: str) -> list[dict[str, Any]]:
        """All rows of ``statement`` as dicts keyed by column name."""
        self.statements += 1
        try:
            cursor = self.connection.cursor()
            try:
                cursor.execute(statement)
                columns = [column[0] for column in cursor.description or ()]
                data = cursor.fetchall()
            finally:
                cursor.close()
        except pymssql.Error as exc:
            raise self.adapter.wrap_error(exc, what) from exc
        return [dict(zip(columns, row, strict=True)) for row in data]


class SQLServerAdapter(BaseAdapter):
    """Reads logins, server/database permissions and sizes from SQL Server 2012+."""

    db_type = "sqlserver"
    # Seam for tests (a fake DB-API connection replaying recorded rows).
    driver_connect = staticmethod(pymssql.connect)

    def wrap_error(self, exc: BaseException, what: str) -> TargetError:
        """A typed error for driver failure ``exc`` during ``what``; password redacted."""
        numbers, text = error_numbers_and_text(exc)
        p = self.params
        message = redact(f"SQL Server {p.instance_name!r} ({p.host}:{p.port}): {what} failed: {text}", p.password)
        return classify(numbers, text)(message, instance_id=p.instance_id, instance_name=p.instance_name)

    @contextmanager
    def connect(self, database: str | None = None) -> Iterator[_Session]:
        """A session on ``database`` (default: the instance's), closed on exit.

        The database name travels in the login packet, never inside SQL text.
        """
        p = self.params
        try:
            connection = self.driver_connect(
                server=p.host,
                port=str(p.port),
                user=p.username,
                password=p.password,
                database=database or p.database or "",
                login_timeout=login_timeout_for(p.connect_timeout),
                timeout=int(p.statement_timeout),
                appname="whalefall",
                autocommit=True,
            )
        except pymssql.Error as exc:
            raise self.wrap_error(exc, "connect") from exc
        try:
            yield _Session(self, connection)
        finally:
            try:
                connection.close()
            except pymssql.Error:
                # Closing a broken connection must not hide the original error.
                logger.debug("closing SQL Server connection to instance %s failed", p.instance_id, exc_info=True)

    def _version(self, session: _Session) -> str:
        rows = session.rows(sql.SERVER_VERSION, "reading the server version")
        if not rows:
            raise TargetQueryFailed(
                f"SQL Server {self.params.instance_name!r}: SERVERPROPERTY returned no row.",
                instance_id=self.params.instance_id,
                instance_name=self.params.instance_name,
            )
        return parse.parse_version(rows[0])

    def test_connection(self) -> ConnectionTest:
        """Server version and the time (ms) to connect and read it."""
        started = time.monotonic()
        with self.connect() as session:
            version = self._version(session)
        return ConnectionTest(version=version, latency_ms=(time.monotonic() - started) * 1000)

    def server_version(self) -> str:
        """``ProductVersion (Edition)``."""
        with self.connect() as session:
            return self._version(session)

    def read_account_rows(self) -> AccountRows:
        """Statements: 4 per instance + 3 per ONLINE user database, never per login."""
        with self.connect() as session:
            rows: AccountRows = {
                "principals": session.rows(sql.SERVER_PRINCIPALS, "reading sys.server_principals"),
                "members": session.rows(sql.SERVER_ROLE_MEMBERS, "reading sys.server_role_members"),
                "permissions": session.rows(sql.SERVER_PERMISSIONS, "reading sys.server_permissions"),
            }
            databases = parse.parse_databases(session.rows(sql.ONLINE_USER_DATABASES, "reading sys.databases"))
            rows["security"] = {db.name: self._database_security(session, db.name) for db in databases}
        logger.info(
            "instance %s: SQL Server logins over %d databases read in %d statements",
            self.params.instance_id, len(databases), session.statements,
        )  # fmt: skip
        return rows

    def parse_account_rows(self, rows: AccountRows) -> list[AccountFacts]:
        """All logins (see parse module doc for the rules)."""
        return parse.build_accounts(rows["principals"], rows["members"], rows["permissions"], rows["security"])

    def _database_security(self, session: _Session, database: str) -> parse.DatabaseSecurityRows:
        where = f"in database {database!r}"
        return parse.DatabaseSecurityRows(
            principals=session.rows(sql.per_database(sql.DATABASE_PRINCIPALS, database), f"reading users {where}"),
            role_members=session.rows(
                sql.per_database(sql.DATABASE_ROLE_MEMBERS, database), f"reading role members {where}"
            ),
            permissions=session.rows(
                sql.per_database(sql.DATABASE_PERMISSIONS, database), f"reading permissions {where}"
            ),
        )

    def fetch_database_inventory(self) -> list[DatabaseInfo]:
        """ONLINE user databases (master, tempdb, model, msdb and distribution excluded)."""
        with self.connect() as session:
            return parse.parse_databases(session.rows(sql.ONLINE_USER_DATABASES, "reading sys.databases"))

    def fetch_database_sizes(self) -> list[DatabaseSize]:
        """Bytes per ONLINE user database from sys.master_files: data (ROWS) + log files."""
        with self.connect() as session:
            return parse.parse_database_sizes(session.rows(sql.DATABASE_SIZES, "reading sys.master_files"))

    def fetch_table_sizes(self, database: str) -> list[TableSize]:
        """Per-table bytes (reserved, data, nonclustered indexes) and rows of one database.

        Memory-optimized tables (no pages) are reported with 0 bytes or not at all.
        """
        with self.connect(database=database) as session:
            rows = session.rows(sql.TABLE_SIZES, f"reading table sizes in database {database!r}")
        return parse.parse_table_sizes(rows)

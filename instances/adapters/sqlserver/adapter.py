"""SQL Server adapter: pymssql (the wheel bundles FreeTDS), read-only catalog queries.

Deadlines: FreeTDS does not hold its login timeout against a server that
accepts TCP and never answers (it gives up after about ``2 × login_timeout + 5``
s, measured), so the connect runs under the session contract's outside
deadline: the caller gets ``TargetTimeout`` after ``connect_timeout`` seconds
and the abandoned attempt is closed by its thread when FreeTDS gives up.
Statements get pymssql's ``timeout`` (seconds). The version is read with one
statement when a session starts (the login does not report it).

Every driver failure becomes a typed ``TargetError`` naming the instance, with
the password redacted; nothing is returned after a failure.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pymssql

from instances.adapters.base import (
    AccountFacts,
    AccountRows,
    AdapterSession,
    BaseAdapter,
    DatabaseInfo,
    DatabaseSize,
    TableSize,
    UnreadScope,
)
from instances.adapters.privileges import PrivilegeCheck
from instances.adapters.sqlserver import parse, privileges, sql
from instances.adapters.sqlserver.features import SQLServerFeatures
from whalefall.errors import (
    TargetAuthFailed,
    TargetError,
    TargetPermissionDenied,
    TargetQueryFailed,
    TargetTimeout,
    TargetUnreachable,
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
    # 4060's own text ends "The login failed.": the number, not the text, says it is a permission problem
    if numbers & _AUTH_ERRORS or ("login failed" in lowered and not numbers & _PERMISSION_ERRORS):
        return TargetAuthFailed
    if numbers & _TIMEOUT_ERRORS or "timed out" in lowered or "timeout expired" in lowered:
        return TargetTimeout
    if numbers & _PERMISSION_ERRORS:
        return TargetPermissionDenied
    if numbers & _UNREACHABLE_ERRORS or "unable to connect" in lowered:
        return TargetUnreachable
    return TargetQueryFailed


class SQLServerAdapter(BaseAdapter):
    """Reads logins, server/database permissions and sizes from SQL Server 2012+
    (session contract in ``base.py``; ``session.features`` is a ``SQLServerFeatures``)."""

    db_type = "sqlserver"
    driver_errors = (pymssql.Error,)
    connect_deadline = True
    # Seam for tests (a fake DB-API connection replaying recorded rows).
    driver_connect = staticmethod(pymssql.connect)

    def classify(self, exc: BaseException) -> type[TargetError]:
        return classify(*error_numbers_and_text(exc))

    def error_text(self, exc: BaseException) -> str:
        return error_numbers_and_text(exc)[1] or type(exc).__name__

    def open_connection(self, database: str) -> Any:
        """The database name travels in the login packet, never inside SQL text."""
        p = self.params
        return self.driver_connect(
            server=p.host,
            port=str(p.port),
            user=p.username,
            password=p.password,
            database=database,
            login_timeout=max(1, int(p.connect_timeout)),
            timeout=int(p.statement_timeout),
            appname="whalefall",
            autocommit=True,
        )

    def start_session(self, session: AdapterSession) -> None:
        session.features = SQLServerFeatures()

    def read_version(self, session: AdapterSession) -> str:
        """``ProductVersion (Edition)``; also tells ``session.features`` the major version."""
        rows = session.rows(sql.SERVER_VERSION, action="read the server version")
        if not rows:
            raise TargetQueryFailed(
                f"Instance {self.params.instance_name!r}: SERVERPROPERTY returned no row.",
                instance_id=self.params.instance_id,
                instance_name=self.params.instance_name,
            )
        session.features = SQLServerFeatures(str(rows[0]["product_version"]))
        return parse.parse_version(rows[0])

    def read_account_rows(self) -> AccountRows:
        """Statements: 4 per instance + 4 per ONLINE user database the login can open
        (``HAS_DBACCESS``; the others — not ONLINE (restoring, offline, …) or not open to the
        login — are named in ``databases_not_read``: what was stored of them is kept, never logged
        as revoked), never per login (plus the version, read when the session starts)."""
        with self.connect() as session:
            rows: AccountRows = {
                "principals": session.rows(sql.SERVER_PRINCIPALS, action="read sys.server_principals"),
                "members": session.rows(sql.SERVER_ROLE_MEMBERS, action="read sys.server_role_members"),
                "permissions": session.rows(sql.SERVER_PERMISSIONS, action="read sys.server_permissions"),
            }
            listed = session.rows(sql.ACCOUNT_DATABASES, action="read sys.databases")
            databases = [row["name"] for row in listed if row["state"] == 0 and row["has_dbaccess"] == 1]
            rows["databases_not_read"] = [
                {"database": row["name"], "reason": _not_read_because(row)}
                for row in listed if row["name"] not in databases
            ]  # fmt: skip
            rows["security"] = {name: self._database_security(session, name) for name in databases}
        logger.info(
            "instance %s: SQL Server logins over %d databases read in %d statements",
            self.params.instance_id, len(databases), self.statements_executed,
        )  # fmt: skip
        return rows

    def account_unread_scopes(self, rows: AccountRows) -> tuple[UnreadScope, ...]:
        """Each user database not read (not ONLINE, or the login cannot open it): everything in it (database, schema,
        object and column permissions, its ``db.role`` roles, the snapshot's ``databases`` entry)."""
        return tuple(
            UnreadScope(
                "database",
                d["database"],
                d["reason"],
                role_prefix=f"{d['database']}.",
                snapshot_path=("databases", d["database"]),
            )  # fmt: skip
            for d in rows.get("databases_not_read", ())
        )

    def parse_account_rows(self, rows: AccountRows) -> list[AccountFacts]:
        """All logins (see parse module doc for the rules)."""
        return parse.build_accounts(rows["principals"], rows["members"], rows["permissions"], rows["security"])

    def _database_security(self, session: AdapterSession, database: str) -> parse.DatabaseSecurityRows:
        where = f"in database {database!r}"
        return parse.DatabaseSecurityRows(
            principals=session.rows(sql.per_database(sql.DATABASE_PRINCIPALS, database), action=f"read users {where}"),
            role_members=session.rows(
                sql.per_database(sql.DATABASE_ROLE_MEMBERS, database), action=f"read role members {where}"
            ),
            permissions=session.rows(
                sql.per_database(sql.DATABASE_PERMISSIONS, database), action=f"read permissions {where}"
            ),
            ownerships=session.rows(
                sql.per_database(sql.DATABASE_OWNERSHIPS, database), action=f"read schema and object owners {where}"
            ),
        )

    def fetch_database_inventory(self) -> list[DatabaseInfo]:
        """ONLINE user databases (master, tempdb, model, msdb and distribution excluded)."""
        with self.connect() as session:
            return parse.parse_databases(session.rows(sql.ONLINE_USER_DATABASES, action="read sys.databases"))

    def fetch_database_sizes(self) -> list[DatabaseSize]:
        """Bytes per ONLINE user database from sys.master_files: data (ROWS) + log files."""
        with self.connect() as session:
            return parse.parse_database_sizes(session.rows(sql.DATABASE_SIZES, action="read sys.master_files"))

    def fetch_table_sizes(self, database: str) -> list[TableSize]:
        """Per-table bytes (reserved, data, nonclustered indexes) and rows of one database.

        Memory-optimized tables (no pages) are reported with 0 bytes or not at all.
        """
        with self.connect(database) as session:
            rows = session.rows(sql.TABLE_SIZES, action=f"read table sizes in database {database!r}")
        return parse.parse_table_sizes(rows)

    def check_privileges(self) -> list[PrivilegeCheck]:
        """One session (on master): the server permissions and CONNECT on every ONLINE user
        database, as ``HAS_PERMS_BY_NAME`` evaluates them for the login. Only reads."""
        with self.connect() as session:
            (server,) = session.rows(sql.SERVER_PERMISSION_CHECK, action="read server permissions")
            databases = session.rows(sql.DATABASE_CONNECT_CHECK, action="read database permissions")
            major = session.features.version[0]
        return privileges.decide(login=self.params.username, major_version=major, server=server, databases=databases)


def _not_read_because(database: dict) -> str:
    if database["state"] != 0:  # sys.databases.state: 0 ONLINE, 1 RESTORING, 2 RECOVERING, 6 OFFLINE, …
        return f"it is {database['state_desc']}, not ONLINE: its permissions cannot be read now"
    return ("the monitoring login cannot open it (HAS_DBACCESS is 0: no user for the login, guest not enabled, "
            "and no CONNECT ANY DATABASE)")

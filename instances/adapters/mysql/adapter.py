"""MySQL 5.7+/8.x and MariaDB 10.x adapter on PyMySQL.

Deadlines (PyMySQL has no overall deadline, and without these a server that
accepts TCP and never answers hangs a worker for minutes):

- TCP connect and the handshake/login: ``connect_timeout`` (socket timeouts);
- each statement: server-side ``max_statement_time`` (MariaDB) /
  ``MAX_EXECUTION_TIME`` (MySQL) = ``statement_timeout``, backed by client
  socket read/write timeouts of ``statement_timeout`` + a grace period in case
  the server itself stops answering.
"""

from __future__ import annotations

from typing import Any

import pymysql
from pymysql.constants import CR

from instances.adapters.base import (
    AccountFacts,
    AccountRows,
    AdapterSession,
    BaseAdapter,
    DatabaseInfo,
    DatabaseSize,
    TableSize,
    UnreadScope,
    target_error,
)
from instances.adapters.mysql import parse, privileges, sql
from instances.adapters.mysql.features import MySQLFeatures
from instances.adapters.mysql.grants import ROUTINE_PRIVILEGES, TABLE_PRIVILEGES
from instances.adapters.privileges import PrivilegeCheck
from whalefall.errors import (
    TargetAuthFailed,
    TargetError,
    TargetPermissionDenied,
    TargetQueryFailed,
    TargetTimeout,
    TargetUnreachable,
    redact,
)

# Seconds the client waits beyond the server-side statement limit, so the server's
# own (clean) timeout error normally wins and the socket timeout is only the backstop.
CLIENT_GRACE_SECONDS = 2

_AUTH_CODES = {1045, 1698, 2059}  # access denied (password), unix-socket-only account, auth plugin
_PERMISSION_CODES = {1044, 1142, 1143, 1227, 1370}  # db, table, column, SUPER-ish, routine
_TIMEOUT_CODES = {1969, 3024}  # MariaDB max_statement_time, MySQL MAX_EXECUTION_TIME
# the privilege tables a sync reads besides the accounts, and the entries each holds: (levels,
# (level, privilege) pairs) as ``UnreadScope.covers`` / ``covers_privileges`` name them — tables and
# routines are both objects, told apart by their privileges
_TABLE_SCOPES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "mysql.db": (("database",), ()),
    "mysql.tables_priv": ((), tuple(("object", name) for name in sorted(TABLE_PRIVILEGES))),
    "mysql.columns_priv": (("column",), ()),
    "mysql.procs_priv": ((), tuple(("object", name) for name in sorted(ROUTINE_PRIVILEGES))),
}
_NETWORK_CODES = {CR.CR_CONN_HOST_ERROR, CR.CR_UNKNOWN_HOST, CR.CR_SERVER_GONE_ERROR, CR.CR_SERVER_LOST}


def _timed_out(exc: BaseException) -> bool:
    original = getattr(exc, "original_exception", None) or exc.__context__ or exc.__cause__
    return isinstance(original, TimeoutError) or "timed out" in str(exc)


def classify(exc: BaseException) -> type[TargetError]:
    """The typed error for a PyMySQL exception (by MySQL error number)."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    if code in _TIMEOUT_CODES or (code in _NETWORK_CODES and _timed_out(exc)):
        return TargetTimeout
    if code in _AUTH_CODES:
        return TargetAuthFailed
    if code in _PERMISSION_CODES:
        return TargetPermissionDenied
    if code in _NETWORK_CODES:
        return TargetUnreachable
    return TargetQueryFailed


class MySQLAdapter(BaseAdapter):
    """Reads accounts, databases and sizes of one MySQL/MariaDB server (session
    contract in ``base.py``; ``session.features`` is a ``MySQLFeatures``)."""

    db_type = "mysql"
    driver_errors = (pymysql.Error,)
    version_in_handshake = True

    def classify(self, exc: BaseException) -> type[TargetError]:
        return classify(exc)

    def open_connection(self, database: str) -> pymysql.connections.Connection:
        p = self.params
        # read/write timeouts start at connect_timeout so the handshake and login
        # are bounded by the connect deadline, not the (longer) statement deadline.
        conn = pymysql.connect(
            host=p.host,
            port=p.port,
            user=p.username,
            password=p.password,
            database=database or None,
            connect_timeout=p.connect_timeout,
            read_timeout=p.connect_timeout,
            write_timeout=p.connect_timeout,
            charset="utf8mb4",
            autocommit=True,
        )
        # PyMySQL reads these attributes before every socket read/write; there is
        # no public setter for changing the timeouts of an open connection.
        conn._read_timeout = conn._write_timeout = p.statement_timeout + CLIENT_GRACE_SECONDS
        return conn

    def start_session(self, session: AdapterSession) -> None:
        """Features and version from the handshake (no statement); server-side statement limits."""
        features = MySQLFeatures(session.connection.get_server_info() or "")
        session.features, session.server_version = features, features.server_version
        if features.is_mariadb:
            session.rows(sql.MARIADB_SESSION, (self.params.statement_timeout,), action="session setup")
        elif features.version >= (5, 7, 8):
            session.rows(sql.MYSQL_SESSION, (self.params.statement_timeout * 1000,), action="session setup")
        if features.has_stats_expiry:
            session.rows(sql.MYSQL_STATS_EXPIRY, action="session setup")

    def close_connection(self, connection: Any) -> None:
        if connection.open:  # PyMySQL already closed it after a socket error
            super().close_connection(connection)

    def read_version(self, session: AdapterSession) -> str:
        """``VERSION()``, e.g. '8.0.36' or '10.11.19-MariaDB-0+deb12u1'."""
        return session.rows(sql.VERSION, action="read version")[0]["version"]

    def read_account_rows(self) -> AccountRows:
        """Set-based: 5 privilege-table queries, plus 1 (MariaDB roles_mapping) or 4
        (MySQL 8 role_edges, default_roles, activate_all_roles_on_login and
        mandatory_roles, global_grants), plus 1 for the password policy, whatever the number of
        accounts. Needs SELECT on the mysql tables listed in docs/adapters.md; without it on
        mysql.db, mysql.tables_priv, mysql.columns_priv or mysql.procs_priv the read goes on and names the table in
        ``unread_tables`` (the accounts table and the role tables are needed)."""
        with self.connect() as session:
            features: MySQLFeatures = session.features
            db_sql, db_columns = sql.db_privileges_sql(features)
            unread: list[dict[str, str]] = []
            rows: AccountRows = {
                "mariadb": features.is_mariadb,
                # decoding MariaDB's access bitmask depends on the version (bit 20's name)
                "version": list(features.version),
                # one row per account (and per database grant, role grant below): built into
                # dicts only if the listing changed
                "users": session.lazy_rows(sql.accounts_sql(features), action=f"read {sql.accounts_table(features)}"),
                "db_privs": self._unless_denied(session, db_sql, "mysql.db", unread),
                "db_priv_columns": list(db_columns) if db_columns else None,
                "table_privs": self._unless_denied(session, sql.TABLE_PRIVILEGES, "mysql.tables_priv", unread),
                "column_privs": self._unless_denied(session, sql.COLUMN_PRIVILEGES, "mysql.columns_priv", unread),
                "routine_privs": self._unless_denied(session, sql.ROUTINE_PRIVILEGES, "mysql.procs_priv", unread),
                "mariadb_roles": [], "role_edges": [], "default_roles": [], "dynamic": [], "activate_all": False,
                "mandatory_roles": "", "unread_tables": unread,
            }  # fmt: skip
            if features.has_roles_mapping:
                rows["mariadb_roles"] = session.lazy_rows(sql.MARIADB_ROLE_GRANTS, action="read mysql.roles_mapping")
            if features.has_role_edges:
                rows["role_edges"] = session.rows(sql.MYSQL_ROLE_EDGES, action="read mysql.role_edges")
                rows["default_roles"] = session.rows(sql.MYSQL_DEFAULT_ROLES, action="read mysql.default_roles")
                (setting,) = session.rows(sql.MYSQL_ROLE_SETTINGS, action="read activate_all_roles_on_login")
                rows["activate_all"] = bool(int(setting["activate_all"]))
                rows["mandatory_roles"] = str(setting["mandatory_roles"] or "")
            if features.has_dynamic_privileges:
                rows["dynamic"] = session.rows(sql.MYSQL_DYNAMIC_PRIVILEGES, action="read mysql.global_grants")
            rows["password_check"] = self._password_check(session, features)
        return rows

    def _unless_denied(self, session: AdapterSession, statement: str, table: str, unread: list) -> list:
        """The rows of one privilege table below the accounts themselves; when the monitoring login
        may not read it, [] and the table with the server's words in ``unread`` (a partial read:
        ``account_unread_scopes``). Any other failure raises as in every read."""
        try:
            return session.lazy_rows(statement, action=f"read {table}")
        except TargetPermissionDenied as exc:
            cause = exc.__cause__.args if exc.__cause__ is not None else ()
            reason = str(cause[1]) if len(cause) > 1 else exc.message
            unread.append({"table": table, "reason": redact(reason, self.params.password)})
            return []

    def account_unread_scopes(self, rows: AccountRows) -> tuple[UnreadScope, ...]:
        """Each privilege table the login may not read: the whole instance's entries it holds
        (``mysql.db``: database, ``mysql.tables_priv``: the objects' table privileges,
        ``mysql.columns_priv``: column, ``mysql.procs_priv``: the objects' EXECUTE and ALTER ROUTINE)."""
        return tuple(
            UnreadScope("global", "", t["reason"], source=t["table"], covers=_TABLE_SCOPES[t["table"]][0],
                        covers_privileges=_TABLE_SCOPES[t["table"]][1])  # fmt: skip
            for t in rows.get("unread_tables", ())
        )

    @staticmethod
    def _password_check(session: AdapterSession, features: MySQLFeatures) -> dict | None:
        """What checks new passwords (one statement): MariaDB's active validation plugins and
        strict_password_validation, MySQL's validate_password variables; None before MariaDB 10.1.2."""
        if not features.has_password_validation:
            return None
        if features.is_mariadb:
            (row,) = session.rows(sql.MARIADB_PASSWORD_CHECK, action="read password validation plugins")
            return {"plugins": row["plugins"] or "", "strict_validation": bool(int(row["strict_validation"]))}
        variables = session.rows(sql.MYSQL_PASSWORD_CHECK, action="read validate_password variables")
        return {"validate_password": {str(r["Variable_name"]): str(r["Value"]) for r in variables}}

    def parse_account_rows(self, rows: AccountRows) -> list[AccountFacts]:
        """All accounts (roles excluded) with roles and effective privileges; see ``parse`` for definitions."""
        role_grants = parse.mariadb_role_grants(rows["mariadb_roles"]) + parse.mysql_role_grants(rows["role_edges"])
        role_grants += parse.mandatory_role_grants(rows.get("mandatory_roles") or "", rows["users"], role_grants)
        return parse.parse_accounts(
            rows["users"], rows["db_privs"], rows["table_privs"], rows["column_privs"], role_grants,
            rows["default_roles"], rows["dynamic"], mariadb=rows["mariadb"], version=rows["version"],
            activate_all_roles=rows["activate_all"], db_priv_columns=rows["db_priv_columns"],
            password_check=rows.get("password_check"), routine_privs=rows.get("routine_privs", ()),
        )  # fmt: skip

    def fetch_database_inventory(self) -> list[DatabaseInfo]:
        """User schemas (mysql, information_schema, performance_schema, sys excluded), by name."""
        with self.connect() as session:
            return parse.parse_databases(session.rows(sql.DATABASES, action="list databases"))

    def fetch_database_sizes(self) -> list[DatabaseSize]:
        """Bytes per user schema: DATA_LENGTH + INDEX_LENGTH over all storage engines; empty schemas = 0.

        Not covered: binary logs, undo/redo logs and free space inside shared tablespaces.
        """
        with self.connect() as session:
            return parse.parse_database_sizes(session.rows(sql.DATABASE_SIZES, action="read database sizes"))

    def fetch_table_sizes(self, database: str) -> list[TableSize]:
        """Tables of ``database`` (views excluded) in bytes with the engine's row estimate.

        ``database`` is sent as a parameter, never pasted into SQL. A database
        that does not exist (or is invisible to the account) is an error, not [].
        """
        with self.connect() as session:
            if not session.rows(sql.DATABASE_EXISTS, (database,), action="check database"):
                raise target_error(
                    TargetQueryFailed, self.params, "read table sizes", f"database {database!r} not found"
                )
            rows = session.rows(sql.TABLE_SIZES, (database,), action=f"read table sizes of {database!r}")
        return parse.parse_table_sizes(rows)

    def check_privileges(self) -> list[PrivilegeCheck]:
        """One session: the account the login matched, its global privileges, and each privilege
        table the account sync reads, read with ``LIMIT 0`` (denied → a failing check with its
        GRANT). Only reads; other errors raise as in every read."""
        with self.connect() as session:
            (row,) = session.rows(sql.CURRENT_ACCOUNT, action="read the current account")
            user, host = privileges.split_account(row["account"])
            granted = session.rows(sql.GLOBAL_PRIVILEGES, (privileges.grantee(user, host),),
                                   action="read global privileges")  # fmt: skip
            tables, denied = sql.account_tables(session.features), {}
            for table in tables:
                try:
                    session.rows(sql.table_probe_sql(table), action=f"read {table}")
                except TargetPermissionDenied as exc:  # the server's own words, e.g. "SELECT command denied …"
                    cause = exc.__cause__.args if exc.__cause__ is not None else ()
                    reason = str(cause[1]) if len(cause) > 1 else exc.message
                    denied[table] = redact(reason, self.params.password)
        return privileges.decide(user=user, host=host, global_privileges={r["privilege"] for r in granted},
                                 tables=tables, denied=denied)  # fmt: skip

"""PostgreSQL 10+ adapter on psycopg 3.

Deadlines: ``connect_timeout`` bounds connect + startup + authentication
(psycopg enforces it itself; libpq's minimum is 2 s); ``statement_timeout`` is
set server-side for the whole session through the startup ``options`` (no
extra statement). TCP keepalives detect a peer that vanished mid-statement.
"""

from __future__ import annotations

import re

import psycopg

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
from instances.adapters.postgresql import parse, privileges, sql
from instances.adapters.postgresql.features import PostgreSQLFeatures
from instances.adapters.privileges import PrivilegeCheck
from instances.adapters.rows import Rows
from whalefall.errors import (
    TargetAuthFailed,
    TargetError,
    TargetPermissionDenied,
    TargetQueryFailed,
    TargetTimeout,
    TargetUnreachable,
)

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


def quiet_superusers(roles: Rows, memberships: Rows) -> list[int]:
    """The oids of the superusers nobody is a member of (``sql.OBJECT_PRIVILEGES``' ``quiet``), from
    the ACCOUNTS and MEMBERSHIPS rows of the same read: roles are shared by every database, so one
    answer serves each database's object read (parse.py leaves the same roles' ownership out).
    Reads the columns only: an unchanged listing never builds the rows' dicts."""
    granted = set(memberships.column("roleid"))
    return [oid for oid, superuser in zip(roles.column("oid"), roles.column("rolsuper"), strict=True)
            if superuser and oid not in granted]  # fmt: skip


class PostgreSQLAdapter(BaseAdapter):
    """Reads login roles, databases and sizes of one PostgreSQL server (session
    contract in ``base.py``; ``session.features`` is a ``PostgreSQLFeatures``)."""

    db_type = "postgresql"
    driver_errors = (psycopg.Error,)
    version_in_handshake = True

    def classify(self, exc: BaseException) -> type[TargetError]:
        return classify(exc)

    @property
    def default_database(self) -> str:
        return self.params.database or DEFAULT_DATABASE

    def open_connection(self, database: str) -> psycopg.Connection:
        p = self.params
        # Keyword arguments, not a conninfo string: psycopg quotes each value, so any
        # database name (quotes, spaces, semicolons) is passed through intact.
        return psycopg.connect(
            host=p.host,
            port=p.port,
            user=p.username,
            password=p.password,
            dbname=database,
            connect_timeout=max(2, p.connect_timeout),
            # search_path: pg_catalog only, so that a function's argument types print the same way
            # whatever the login's default (sql.OBJECT_PRIVILEGES names functions by them)
            options=f"-c statement_timeout={p.statement_timeout * 1000} -c search_path=pg_catalog",
            application_name="whalefall",
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
            autocommit=True,
        )

    def start_session(self, session: AdapterSession) -> None:
        """Version from the startup parameters (no statement); the statement timeout
        is already set by the startup ``options``."""
        info = session.connection.info
        session.server_version = info.parameter_status("server_version") or ""
        session.features = PostgreSQLFeatures(info.server_version)

    def read_version(self, session: AdapterSession) -> str:
        """``server_version``, e.g. '15.20 (Debian 15.20-0+deb12u1)'."""
        return session.rows(sql.VERSION, action="read version")[0]["version"]

    def read_account_rows(self) -> AccountRows:
        """Set-based: 7 statements on the instance's database (roles, memberships,
        database privileges, tablespace and parameter privileges, its object privileges, the
        password policy, the databases to read; an 8th, which roles have a password, when
        pg_authid is readable) plus one
        connection and one statement per other database the monitor may connect to,
        whatever the number of roles. Each database read is bounded by the connect
        and statement timeouts; a database that cannot be read (no CONNECT,
        connections not allowed, refused, too slow, dropped while being read) is named in
        ``databases_not_read`` and the others are still read."""
        with self.connect() as session:
            features: PostgreSQLFeatures = session.features
            memberships_sql = sql.MEMBERSHIPS_16 if features.has_grant_inherit_set_options else sql.MEMBERSHIPS
            # one row per role and per membership: built into dicts only if the listing changed
            roles = session.lazy_rows(sql.ACCOUNTS, action="read pg_roles")
            memberships = session.lazy_rows(memberships_sql, action="read pg_auth_members")
            quiet = {"quiet": quiet_superusers(roles, memberships)}
            rows: AccountRows = {
                "connected_database": session.database,
                "roles": roles,
                "memberships": memberships,
                "databases": session.rows(sql.DATABASE_PRIVILEGES, action="read database privileges"),
                "shared_objects": session.rows(
                    sql.SHARED_OBJECT_PRIVILEGES_15 if features.has_parameter_acl else sql.SHARED_OBJECT_PRIVILEGES,
                    action="read tablespace and parameter privileges",
                ),
                "objects": {
                    session.database: session.rows(sql.OBJECT_PRIVILEGES, quiet, action="read object privileges")
                },
                "databases_not_read": [],
                "per_grant_options": features.has_grant_inherit_set_options,
            }
            rows["password_check"] = self._password_check(session)
            listed = session.rows(sql.OBJECT_DATABASES, action="list databases")
            rows["database_owners"] = {d["datname"]: d["owner"] for d in listed}
            others = [d for d in listed if d["datname"] != session.database]
        for database in others:
            reason = self._read_objects(database, rows["objects"], quiet)
            if reason:
                rows["databases_not_read"].append({"database": database["datname"], "reason": reason})
        return rows

    @staticmethod
    def _password_check(session: AdapterSession) -> dict:
        """shared_preload_libraries (None when not visible to the login) and, when pg_authid is
        readable, the roles that have a password (else None): one statement, two with pg_authid."""
        (row,) = session.rows(sql.PASSWORD_CHECK, action="read shared_preload_libraries")
        with_password = None
        if row["authid_readable"]:
            names = session.rows(sql.ROLES_WITH_PASSWORD, action="read which roles have a password")
            with_password = [r["rolname"] for r in names]
        return {"shared_preload_libraries": row["shared_preload_libraries"], "with_password": with_password}

    def _read_objects(self, database: dict, objects: dict, quiet: dict) -> str:
        """Object privileges of one more database into ``objects``; or why they could not be read.
        ``quiet``: the parameters of ``sql.OBJECT_PRIVILEGES``."""
        name = database["datname"]
        if not database["datallowconn"]:
            return "connections to it are not allowed (datallowconn is false)"
        if not database["can_connect"]:
            return "the monitoring login has no CONNECT privilege on it"
        try:
            with self.connect(name) as session:
                objects[name] = session.rows(sql.OBJECT_PRIVILEGES, quiet, action=f"read object privileges of {name!r}")
        except (TargetPermissionDenied, TargetAuthFailed, TargetTimeout) as exc:
            return str(exc)
        except TargetError as exc:
            # dropped since it was listed (its connection refused or terminated): nothing of it
            # can be read now; anything else is the server's failure, and the read fails with it
            if self._database_listed(name):
                raise
            return f"it was dropped while being read ({exc})"
        return ""

    def _database_listed(self, name: str) -> bool:
        """Is ``name`` still one of the databases whose privileges are read? (A new connection.)"""
        with self.connect() as session:
            listed = session.rows(sql.OBJECT_DATABASES, action="list databases")
        return any(d["datname"] == name for d in listed)

    def account_unread_scopes(self, rows: AccountRows) -> tuple[UnreadScope, ...]:
        """Each database whose object privileges could not be read: its schemas, tables, sequences,
        functions, types, languages, foreign-data wrappers and servers, columns and the default
        privileges set for every schema in it (``DEFAULT … ON …`` entries on the database). Its
        database-level privileges (CONNECT, CREATE, TEMPORARY, ownership) come from ``pg_database``,
        and tablespaces' and parameters' are the server's, read from the instance's database: they
        are not inside the scope."""
        return tuple(
            UnreadScope(
                "database",
                d["database"],
                d["reason"],
                covers=("schema", "object", "column"),
                covers_privileges=(("database", "DEFAULT "),),
            )  # fmt: skip
            for d in rows.get("databases_not_read", ())
        )

    def parse_account_rows(self, rows: AccountRows) -> list[AccountFacts]:
        """Login roles with roles (transitive) and effective privileges; see ``parse`` for definitions."""
        return parse.parse_accounts(
            rows["roles"], rows["databases"], rows["objects"], shared_object_rows=rows.get("shared_objects", ()),
            membership_rows=rows["memberships"],
            database_owners=rows.get("database_owners") or {}, password_check=rows.get("password_check"),
            per_grant_options=rows.get("per_grant_options"),
        )  # fmt: skip

    def fetch_database_inventory(self) -> list[DatabaseInfo]:
        """User databases (templates and invalid databases excluded; 'postgres' included), by name."""
        with self.connect() as session:
            return parse.parse_databases(session.rows(sql.DATABASES, action="list databases"))

    def fetch_database_sizes(self) -> list[DatabaseSize]:
        """``pg_database_size`` of every inventoried database, in bytes (WAL not included)."""
        with self.connect() as session:
            return parse.parse_database_sizes(session.rows(sql.DATABASE_SIZES, action="read database sizes"))

    def fetch_table_sizes(self, database: str) -> list[TableSize]:
        """Tables and materialized views of ``database`` in bytes, with ``reltuples`` as row estimate.

        Connects to ``database`` (a connection parameter, never SQL text): needs
        CONNECT on it; without it, ``TargetPermissionDenied``.
        """
        with self.connect(database) as session:
            rows = session.rows(sql.TABLE_SIZES, action=f"read table sizes of {database!r}")
        return parse.parse_table_sizes(rows)

    def check_privileges(self) -> list[PrivilegeCheck]:
        """One session on the instance's database: the login, its pg_read_all_stats membership,
        the catalogs it reads and CONNECT on every database (``has_database_privilege``); then,
        when those say database sizes should work, ``pg_database_size`` is tried. Only reads."""
        with self.connect() as session:
            (login,) = session.rows(sql.PRIVILEGE_LOGIN, action="read the login's roles")
            catalogs = session.rows(sql.CATALOG_PRIVILEGES_15 if session.features.has_parameter_acl
                                    else sql.CATALOG_PRIVILEGES, action="read catalog privileges")  # fmt: skip
            databases = session.rows(sql.DATABASE_CONNECT_PRIVILEGES, action="read database privileges")
            size_error = None
            if login["read_all_stats"] or all(row["can_connect"] for row in databases):
                try:
                    session.rows(sql.DATABASE_SIZES, action="read database sizes")
                except TargetPermissionDenied as exc:
                    size_error = exc.message.split("read database sizes: ", 1)[-1]
        return privileges.decide(login=login["login"], read_all_stats=login["read_all_stats"], catalogs=catalogs,
                                 databases=databases, size_error=size_error)  # fmt: skip

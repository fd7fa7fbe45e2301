"""Oracle adapter: python-oracledb in thin mode (no client libraries), read-only catalog queries.

Thin mode connects to Oracle Database 12.1 and newer only; an older server is
refused with ``AdapterUnavailable`` saying so (python-oracledb's thick mode,
which needs Oracle Instant Client, is not supported).

Deadlines: thin mode does not bound the whole connect handshake (a listener
that accepts TCP and never answers hangs it forever), so the connect runs
under the session contract's outside deadline (``TargetTimeout`` after
``connect_timeout`` s); ``tcp_connect_timeout`` bounds the TCP part.
Statements get ``connection.call_timeout`` (ms) and, as a backstop, the
outside deadline (``statement_timeout`` + 2 s). Closing is bounded too.

``ConnectionParams.database`` is the service name. Every driver failure
becomes a typed ``TargetError`` naming the instance, password redacted.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import oracledb

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
from instances.adapters.common import DeadlineExceeded, call_with_deadline
from instances.adapters.oracle import parse, privileges, sql
from instances.adapters.oracle.features import OracleFeatures
from instances.adapters.privileges import PrivilegeCheck
from whalefall.errors import (
    AdapterUnavailable,
    TargetAuthFailed,
    TargetError,
    TargetPermissionDenied,
    TargetQueryFailed,
    TargetTimeout,
    TargetUnreachable,
    redact,
)

logger = logging.getLogger(__name__)

# DPY-3010: this database version is not supported by python-oracledb in thin mode (< 12.1).
_THIN_UNSUPPORTED = "DPY-3010"

# ORA-01017 invalid credentials, 01005 null password, 28000 account locked,
# 28001 password expired; DPY-4001 no credentials.
_AUTH = {"ORA-01017", "ORA-01005", "ORA-28000", "ORA-28001", "DPY-4001"}
# DPY-4024 call timeout exceeded, DPY-4011 connection closed (what a timed-out
# call leaves behind), ORA-03136 inbound connect timeout, ORA-12170 connect
# timeout, ORA-01013 call cancelled.
_TIMEOUT = {"DPY-4024", "DPY-4011", "ORA-03136", "ORA-12170", "ORA-01013"}
# ORA-01031 insufficient privileges, ORA-00942 table or view does not exist
# (what a missing SELECT on a DBA_ view looks like), ORA-01045 no CREATE SESSION.
_PERMISSION = {"ORA-01031", "ORA-00942", "ORA-01045"}
# The DBA_* → USER_* fallback applies to exactly these.
FALLBACK_CODES = {"ORA-01031", "ORA-00942"}
# the privilege views an account read can do without, and the level of the entries each holds
# what each optional view holds, as an unread scope's ``covers`` / ``covers_privileges``: object and
# column grants, and the owners' ALL on their schemas (parse.OWNER)
_VIEW_SCOPES: dict[str, dict] = {
    "DBA_TAB_PRIVS": {"covers": ("object",)},
    "DBA_COL_PRIVS": {"covers": ("column",)},
    "DBA_OBJECTS": {"covers": (), "covers_privileges": (("schema", "ALL"),)},
}
# ORA-03113/03114/03135 lost connection; ORA-125xx listener/TNS; DPY-6xxx connect.
_UNREACHABLE = {"ORA-03113", "ORA-03114", "ORA-03135"}
_CODE = re.compile(r"\b(ORA|DPY|DPI)-(\d{4,5})\b")


def error_codes(exc: BaseException) -> set[str]:
    """Every ORA-/DPY- code in an oracledb exception (its own and nested causes in the text)."""
    codes = {f"{prefix}-{number}" for prefix, number in _CODE.findall(str(exc))}
    full_code = getattr(exc.args[0] if exc.args else None, "full_code", None)
    if full_code:
        codes.add(full_code)
    return codes


def classify(codes: set[str], text: str) -> type[TargetError]:
    """Which typed error a set of Oracle / python-oracledb codes means (auth first)."""
    if codes & _AUTH:
        return TargetAuthFailed
    if codes & _TIMEOUT or "timed out" in text.lower():
        return TargetTimeout
    if codes & _PERMISSION:
        return TargetPermissionDenied
    if codes & _UNREACHABLE or any(c.startswith(("DPY-6", "ORA-125")) for c in codes):
        return TargetUnreachable
    return TargetQueryFailed


class OracleAdapter(BaseAdapter):
    """Reads users, roles, system/object privileges and tablespace sizes from Oracle 12.1+
    (session contract in ``base.py``; ``session.features`` is an ``OracleFeatures``)."""

    db_type = "oracle"
    driver_errors = (oracledb.Error,)
    connect_deadline = True
    statement_deadline = True
    # Seam for tests (a fake DB-API connection replaying recorded rows).
    driver_connect = staticmethod(oracledb.connect)

    def classify(self, exc: BaseException) -> type[TargetError]:
        return classify(error_codes(exc), str(exc))

    def wrap_error(self, exc: BaseException, action: str) -> TargetError:
        if _THIN_UNSUPPORTED in error_codes(exc):
            p = self.params
            return AdapterUnavailable(
                f"Instance {p.instance_name!r} ({p.host}:{p.port}): Oracle Database older than 12.1 cannot be "
                "monitored: python-oracledb thin mode (the only mode WhaleFall uses) supports 12.1 and newer.",
                instance_id=p.instance_id,
                instance_name=p.instance_name,
            )
        return super().wrap_error(exc, action)

    def open_connection(self, database: str) -> Any:
        p = self.params
        return self.driver_connect(
            user=p.username,
            password=p.password,
            host=p.host,
            port=int(p.port),
            service_name=database or None,
            tcp_connect_timeout=float(p.connect_timeout),
            retry_count=0,
        )

    def start_session(self, session: AdapterSession) -> None:
        session.connection.call_timeout = int(self.params.statement_timeout * 1000)
        session.features = OracleFeatures(getattr(session.connection, "version", None))

    def execute(self, connection: Any, sql: str, params: Any) -> tuple[list[str], list[tuple]]:
        cursor = connection.cursor()
        try:
            cursor.arraysize = 1000
            cursor.execute(sql, params or {})
            return [column[0] for column in cursor.description or ()], cursor.fetchall()
        finally:
            cursor.close()

    def close_connection(self, connection: Any) -> None:
        try:
            call_with_deadline(lambda: super(OracleAdapter, self).close_connection(connection), 2)
        except DeadlineExceeded:
            logger.warning("instance %s: closing the Oracle connection hung; abandoned", self.params.instance_id)

    def read_version(self, session: AdapterSession) -> str:
        """``<product> <version>``: VERSION_FULL on 18c+ (every 19c release update reads
        19.0.0.0.0 in VERSION), else VERSION; the driver's version when the view is empty."""
        features: OracleFeatures = session.features
        statement = sql.SERVER_VERSION_FULL if features.has_version_full else sql.SERVER_VERSION
        rows = session.rows(statement, action="read PRODUCT_COMPONENT_VERSION")
        return parse.parse_version(rows, features.driver_version)

    def _rows_unless_denied(self, session: AdapterSession, statement: str, action: str, binds=None) -> list | None:
        """Rows, or None when the view is denied (ORA-00942/ORA-01031) so the caller can fall back."""
        try:
            return session.rows(statement, binds, action=action)
        except TargetPermissionDenied as exc:
            if exc.__cause__ is not None and error_codes(exc.__cause__) & FALLBACK_CODES:
                logger.warning("instance %s: %s denied, falling back to USER_ views", self.params.instance_id, action)
                return None
            raise

    def read_account_rows(self) -> AccountRows:
        """8 statements, never per user (plus the version, read when the session
        starts). Needs the DBA_ views; a denial raises TargetPermissionDenied, except on
        DBA_TAB_PRIVS, DBA_COL_PRIVS (object and column privileges) and DBA_OBJECTS (who owns
        objects): without those the read goes on and names the view in ``unread_views``
        (``account_unread_scopes``)."""
        unread: list[dict[str, str]] = []

        def optional(statement: str, view: str) -> list:
            try:
                return session.rows(statement, action=f"read {view}")
            except TargetPermissionDenied as exc:
                codes = error_codes(exc.__cause__) & FALLBACK_CODES if exc.__cause__ is not None else set()
                if not codes:
                    raise
                detail = redact(" ".join(str(exc.__cause__).split()), self.params.password)
                unread.append({"view": view, "reason": f"the monitoring login may not select it: {detail}"})
                return []

        with self.connect() as session:
            return {
                "users": session.rows(sql.USERS, action="read DBA_USERS"),
                "role_privs": session.rows(sql.ROLE_PRIVS, action="read DBA_ROLE_PRIVS"),
                "sys_privs": session.rows(sql.SYS_PRIVS, action="read DBA_SYS_PRIVS"),
                "tab_privs": optional(sql.TAB_PRIVS, "DBA_TAB_PRIVS"),
                "col_privs": optional(sql.COL_PRIVS, "DBA_COL_PRIVS"),
                "owners": optional(sql.OBJECT_OWNERS, "DBA_OBJECTS"),
                "pwfile": session.rows(sql.PWFILE_USERS, action="read V$PWFILE_USERS"),
                "profiles": session.rows(sql.PROFILES, action="read DBA_PROFILES"),
                "unread_views": unread,
            }

    def account_unread_scopes(self, rows: AccountRows) -> tuple[UnreadScope, ...]:
        """Each privilege view the login may not select: every entry it gives, instance-wide
        (DBA_TAB_PRIVS: object, DBA_COL_PRIVS: column, DBA_OBJECTS: the owners' ALL on their schemas)."""
        return tuple(
            UnreadScope("global", "", v["reason"], source=v["view"], **_VIEW_SCOPES[v["view"]])
            for v in rows.get("unread_views", ())
        )

    def parse_account_rows(self, rows: AccountRows) -> list[AccountFacts]:
        """All non-Oracle-maintained users (rules in the parse module doc)."""
        return parse.build_accounts(
            rows["users"], rows["role_privs"], rows["sys_privs"], rows["tab_privs"], rows["col_privs"], rows["pwfile"],
            profiles=rows.get("profiles"), owners=[row["USERNAME"] for row in rows.get("owners", ())],
        )  # fmt: skip

    def _tablespaces(self, session: AdapterSession) -> list[DatabaseInfo]:
        rows = self._rows_unless_denied(session, sql.TABLESPACES, "read DBA_TABLESPACES")
        if rows is None:
            rows = session.rows(sql.USER_TABLESPACES, action="read USER_TABLESPACES")
        return parse.parse_tablespaces(rows)

    def fetch_database_inventory(self) -> list[DatabaseInfo]:
        """PERMANENT tablespaces except SYSTEM/SYSAUX (DBA_TABLESPACES, else USER_TABLESPACES)."""
        with self.connect() as session:
            return self._tablespaces(session)

    def fetch_database_sizes(self) -> list[DatabaseSize]:
        """Bytes per tablespace as ``TablespaceSize`` (a DatabaseSize recording its ``source``).

        DBA_DATA_FILES (allocated) + DBA_SEGMENTS (used); when either is denied,
        USER_SEGMENTS only (the connected user's segments; ``complete`` False).
        """
        with self.connect() as session:
            tablespaces = self._tablespaces(session)
            data_files = self._rows_unless_denied(session, sql.DATA_FILE_BYTES, "read DBA_DATA_FILES")
            segments = None
            if data_files is not None:
                segments = self._rows_unless_denied(session, sql.SEGMENT_BYTES, "read DBA_SEGMENTS")
            if data_files is None or segments is None:
                own = session.rows(sql.USER_SEGMENT_BYTES, action="read USER_SEGMENTS")
                return list(parse.parse_tablespace_sizes(tablespaces, None, own, source="user_segments"))
        return list(parse.parse_tablespace_sizes(tablespaces, data_files, segments))

    def fetch_table_sizes(self, database: str) -> list[TableSize]:
        """Per-table segment bytes in tablespace ``database`` (bound as :tablespace), as ``SegmentTableSize``.

        Falls back to USER_SEGMENTS (own tables only, ``complete`` False) when DBA_ views are denied.
        """
        binds = {"tablespace": database}
        with self.connect() as session:
            rows = self._rows_unless_denied(session, sql.TABLE_SIZES, "read DBA_SEGMENTS", binds)
            if rows is None:
                rows = session.rows(sql.USER_TABLE_SIZES, binds, action="read USER_SEGMENTS")
                return list(parse.parse_table_sizes(rows, source="user_segments"))
        return list(parse.parse_table_sizes(rows))

    def check_privileges(self) -> list[PrivilegeCheck]:
        """One session: the roles and system privileges enabled in it (``SESSION_ROLES``,
        ``SESSION_PRIVS``), which decide whether the DBA_ views are readable. Only reads."""
        with self.connect() as session:
            roles = session.rows(sql.SESSION_ROLES, action="read SESSION_ROLES")
            granted = session.rows(sql.SESSION_PRIVS, action="read SESSION_PRIVS")
        return privileges.decide(login=self.params.username, roles=roles, privileges=granted)

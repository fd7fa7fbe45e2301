"""Oracle adapter: python-oracledb in thin mode (no client libraries), read-only catalog queries.

Deadlines: thin mode does not bound the whole connect handshake (a listener
that accepts TCP and never answers hangs it forever), so connect runs in a
daemon worker thread and is abandoned after ``connect_timeout`` seconds
(``TargetTimeout``); ``tcp_connect_timeout`` bounds the TCP part. Statements
get ``connection.call_timeout`` (ms) and, as a backstop, the same outside
deadline (``statement_timeout`` + 2 s). An abandoned connect that completes
later is closed by its worker.

``ConnectionParams.database`` is the service name. Every driver failure
becomes a typed ``TargetError`` naming the instance, password redacted.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import oracledb

from instances.adapters.base import (
    AccountFacts,
    AccountRows,
    BaseAdapter,
    ConnectionTest,
    DatabaseInfo,
    DatabaseSize,
    TableSize,
)
from instances.adapters.oracle import parse, sql
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

T = TypeVar("T")

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
# ORA-03113/03114/03135 lost connection; ORA-125xx listener/TNS; DPY-6xxx connect.
_UNREACHABLE = {"ORA-03113", "ORA-03114", "ORA-03135"}
_CODE = re.compile(r"\b(ORA|DPY|DPI)-(\d{4,5})\b")


class DeadlineExceeded(Exception):
    """The outside deadline of ``call_with_deadline`` passed."""


def call_with_deadline(fn: Callable[[], T], seconds: float, on_late_result: Callable[[T], None] | None = None) -> T:
    """``fn()`` run in a daemon thread; its result, its exception, or DeadlineExceeded after ``seconds``.

    A result that arrives after the deadline is handed to ``on_late_result``
    (e.g. to close a connection nobody will use).
    """
    lock = threading.Lock()
    done = threading.Event()
    state: dict[str, Any] = {"abandoned": False}

    def worker() -> None:
        try:
            state["value"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            state["error"] = exc
        with lock:
            late = state["abandoned"]
            done.set()
        if late and "value" in state and on_late_result is not None:
            on_late_result(state["value"])

    threading.Thread(target=worker, name="whalefall-oracle-call", daemon=True).start()
    done.wait(seconds)
    with lock:
        if not done.is_set():
            state["abandoned"] = True
            raise DeadlineExceeded(f"no answer within {seconds:g} s")
    if "error" in state:
        raise state["error"]
    return state["value"]


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


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except oracledb.Error:
        # The session is gone either way; the server cleans it up.
        logger.debug("closing an abandoned Oracle connection failed", exc_info=True)


class _Session:
    """An open connection that runs catalog statements under deadlines and maps their failures."""

    def __init__(self, adapter: OracleAdapter, connection: Any):
        self.adapter = adapter
        self.connection = connection
        self.statements = 0

    def rows(self, statement: str, what: str, binds: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """All rows of ``statement`` as dicts keyed by (upper-case) column name."""
        self.statements += 1
        seconds = self.adapter.params.statement_timeout + 2
        try:
            return call_with_deadline(lambda: self._fetch(statement, binds or {}), seconds)
        except DeadlineExceeded as exc:
            raise self.adapter.timeout_error(what, seconds) from exc
        except oracledb.Error as exc:
            raise self.adapter.wrap_error(exc, what) from exc

    def rows_unless_denied(
        self, statement: str, what: str, binds: dict[str, Any] | None = None
    ) -> list[dict[str, Any]] | None:
        """Rows, or None when the view is denied (ORA-00942/ORA-01031) so the caller can fall back."""
        try:
            return self.rows(statement, what, binds)
        except TargetPermissionDenied as exc:
            if exc.__cause__ is not None and error_codes(exc.__cause__) & FALLBACK_CODES:
                logger.warning(
                    "instance %s: %s denied, falling back to USER_ views", self.adapter.params.instance_id, what
                )
                return None
            raise

    def _fetch(self, statement: str, binds: dict[str, Any]) -> list[dict[str, Any]]:
        cursor = self.connection.cursor()
        try:
            cursor.arraysize = 1000
            cursor.execute(statement, binds)
            columns = [column[0] for column in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()


class OracleAdapter(BaseAdapter):
    """Reads users, roles, system/object privileges and tablespace sizes from Oracle 11.2+."""

    db_type = "oracle"
    # Seam for tests (a fake DB-API connection replaying recorded rows).
    driver_connect = staticmethod(oracledb.connect)

    def _where(self) -> str:
        p = self.params
        return f"Oracle {p.instance_name!r} ({p.host}:{p.port})"

    def wrap_error(self, exc: BaseException, what: str) -> TargetError:
        """A typed error for driver failure ``exc`` during ``what``; password redacted."""
        p = self.params
        text = " ".join(str(exc).split())
        message = redact(f"{self._where()}: {what} failed: {text}", p.password)
        return classify(error_codes(exc), text)(message, instance_id=p.instance_id, instance_name=p.instance_name)

    def timeout_error(self, what: str, seconds: float) -> TargetTimeout:
        p = self.params
        return TargetTimeout(
            f"{self._where()}: {what} got no answer within {seconds:g} s.",
            instance_id=p.instance_id,
            instance_name=p.instance_name,
        )

    def _open(self) -> Any:
        p = self.params

        def open_connection() -> Any:
            return self.driver_connect(
                user=p.username,
                password=p.password,
                host=p.host,
                port=int(p.port),
                service_name=p.database or None,
                tcp_connect_timeout=float(p.connect_timeout),
                retry_count=0,
            )

        try:
            return call_with_deadline(open_connection, p.connect_timeout, on_late_result=_close_quietly)
        except DeadlineExceeded as exc:
            raise self.timeout_error("connect", p.connect_timeout) from exc
        except oracledb.Error as exc:
            raise self.wrap_error(exc, "connect") from exc

    @contextmanager
    def connect(self) -> Iterator[_Session]:
        """A session with ``call_timeout`` set, closed (within 2 s) on exit."""
        connection = self._open()
        connection.call_timeout = int(self.params.statement_timeout * 1000)
        try:
            yield _Session(self, connection)
        finally:
            try:
                call_with_deadline(lambda: _close_quietly(connection), 2)
            except DeadlineExceeded:
                logger.warning("instance %s: closing the Oracle connection hung; abandoned", self.params.instance_id)

    def _version(self, session: _Session) -> str:
        rows = session.rows(sql.SERVER_VERSION, "reading PRODUCT_COMPONENT_VERSION")
        return parse.parse_version(rows, getattr(session.connection, "version", None))

    def test_connection(self) -> ConnectionTest:
        """Server version and the time (ms) to connect and read it."""
        started = time.monotonic()
        with self.connect() as session:
            version = self._version(session)
        return ConnectionTest(version=version, latency_ms=(time.monotonic() - started) * 1000)

    def server_version(self) -> str:
        """``<product> <version>``, e.g. ``Oracle Database 19c Enterprise Edition 19.0.0.0.0``."""
        with self.connect() as session:
            return self._version(session)

    def read_account_rows(self) -> AccountRows:
        """6 statements, never per user. Needs the DBA_ views: no fallback here,
        a denial raises TargetPermissionDenied."""
        with self.connect() as session:
            major = parse.major_version(getattr(session.connection, "version", None))
            users_sql = sql.USERS_11G if major is not None and major < 12 else sql.USERS_12C
            return {
                "users": session.rows(users_sql, "reading DBA_USERS"),
                "role_privs": session.rows(sql.ROLE_PRIVS, "reading DBA_ROLE_PRIVS"),
                "sys_privs": session.rows(sql.SYS_PRIVS, "reading DBA_SYS_PRIVS"),
                "tab_privs": session.rows(sql.TAB_PRIVS, "reading DBA_TAB_PRIVS"),
                "col_privs": session.rows(sql.COL_PRIVS, "reading DBA_COL_PRIVS"),
                "pwfile": session.rows(sql.PWFILE_USERS, "reading V$PWFILE_USERS"),
            }

    def parse_account_rows(self, rows: AccountRows) -> list[AccountFacts]:
        """All non-Oracle-maintained users (rules in the parse module doc)."""
        return parse.build_accounts(
            rows["users"], rows["role_privs"], rows["sys_privs"], rows["tab_privs"], rows["col_privs"], rows["pwfile"]
        )

    def _tablespaces(self, session: _Session) -> list[DatabaseInfo]:
        rows = session.rows_unless_denied(sql.TABLESPACES, "reading DBA_TABLESPACES")
        if rows is None:
            rows = session.rows(sql.USER_TABLESPACES, "reading USER_TABLESPACES")
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
            data_files = session.rows_unless_denied(sql.DATA_FILE_BYTES, "reading DBA_DATA_FILES")
            segments = None
            if data_files is not None:
                segments = session.rows_unless_denied(sql.SEGMENT_BYTES, "reading DBA_SEGMENTS")
            if data_files is None or segments is None:
                own = session.rows(sql.USER_SEGMENT_BYTES, "reading USER_SEGMENTS")
                return list(parse.parse_tablespace_sizes(tablespaces, None, own, source="user_segments"))
        return list(parse.parse_tablespace_sizes(tablespaces, data_files, segments))

    def fetch_table_sizes(self, database: str) -> list[TableSize]:
        """Per-table segment bytes in tablespace ``database`` (bound as :tablespace), as ``SegmentTableSize``.

        Falls back to USER_SEGMENTS (own tables only, ``complete`` False) when DBA_ views are denied.
        """
        binds = {"tablespace": database}
        with self.connect() as session:
            rows = session.rows_unless_denied(sql.TABLE_SIZES, "reading DBA_SEGMENTS", binds)
            if rows is None:
                rows = session.rows(sql.USER_TABLE_SIZES, "reading USER_SEGMENTS", binds)
                return list(parse.parse_table_sizes(rows, source="user_segments"))
        return list(parse.parse_table_sizes(rows))

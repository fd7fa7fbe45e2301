"""Oracle adapter: the query flow executed on the emulated data dictionary (tests/instances/adapters/
emulated: the adapter's own SQL runs there), incl. the DBA_ → USER_ fallback when the DBA_ views are
denied (ORA-00942), error mapping, the outside deadline, and python-oracledb thin-mode faults against
local sockets (no Oracle server exists here).

The dictionary facts (who holds what, sizes) are asserted scenario by scenario in
test_oracle_executed.py; here: which statements a session sends, with which binds, and how driver
errors become typed errors.
"""

from __future__ import annotations

import re
import threading
import time

import oracledb
import pytest

from instances.adapters.base import ConnectionParams
from instances.adapters.oracle import sql
from instances.adapters.oracle.adapter import DeadlineExceeded, OracleAdapter, call_with_deadline
from tests.instances.adapters.emulated import dbapi
from tests.instances.adapters.emulated.oracle import Oracle
from whalefall import errors

PASSWORD = "0racle-Pa55!"
TAG = re.compile(r"-- whalefall:(\S+)")
DENIED = "ORA-01031: insufficient privileges"


def params(**overrides) -> ConnectionParams:
    values = dict(instance_id=9, instance_name="ora-prod", host="ora.example", port=1521, username="WHALEFALL")
    values.update(database="ORCLPDB1")
    values.update(overrides)
    return ConnectionParams(password=PASSWORD, **values)


def build(version: str = "19.21.0.0.0", *, catalog_role: bool = True) -> Oracle:
    """The monitoring account (CREATE SESSION, SELECT_CATALOG_ROLE unless ``catalog_role`` is False), an
    application user, a tablespace with a table, and a table the monitoring account owns in USERS."""
    database = Oracle(version)
    database.user("WHALEFALL")
    database.grant_role("CONNECT", "WHALEFALL")
    if catalog_role:
        database.grant_role("SELECT_CATALOG_ROLE", "WHALEFALL")
    database.user("APP")
    database.grant_role("CONNECT", "APP")
    database.tablespace("APP_DATA", files=(2 << 30,))
    database.table("APP", "ORDERS", "APP_DATA", 64 << 20, num_rows=10)
    database.table("WHALEFALL", "PROBE", "USERS", 192 << 10, num_rows=1)
    return database


@pytest.fixture
def database() -> Oracle:
    return build()


def make_adapter(database: Oracle, **overrides) -> OracleAdapter:
    adapter = OracleAdapter(params(**overrides))
    adapter.connect_calls = []
    adapter.connections = []

    def driver_connect(**kwargs):
        adapter.connect_calls.append(kwargs)
        connection = database.connect(**kwargs)
        adapter.connections.append(connection)
        return connection

    adapter.driver_connect = driver_connect
    return adapter


def tags(adapter: OracleAdapter) -> list[str]:
    return [TAG.match(statement).group(1) for c in adapter.connections for statement, _ in c.executed]


# --- SQL text -------------------------------------------------------------------


def test_fallback_sql_reads_no_dba_view():
    assert "dba_" not in sql.USER_TABLE_SIZES
    assert "all_segments" not in sql.USER_TABLE_SIZES.lower()  # Oracle has no ALL_SEGMENTS view


# --- query flow -----------------------------------------------------------------


def test_fetch_accounts_flow_and_deadlines(database):
    adapter = make_adapter(database)
    accounts = adapter.fetch_accounts()
    assert {a.username for a in accounts} == {"APP", "WHALEFALL"}
    assert tags(adapter) == ["server_version", "dba_users", "dba_role_privs", "dba_sys_privs", "dba_tab_privs",
                             "dba_col_privs", "dba_objects", "v$pwfile_users", "dba_profiles"]  # fmt: skip
    (connection,) = adapter.connections
    assert connection.call_timeout == 60_000 and connection.closed
    (kwargs,) = adapter.connect_calls
    assert kwargs["tcp_connect_timeout"] == 10 and kwargs["service_name"] == "ORCLPDB1"


def test_oracle_older_than_12_1_is_refused_with_a_clear_error():
    """python-oracledb thin mode refuses 11.2 at connect (DPY-3010): say what is supported."""
    adapter = OracleAdapter(params())

    def refuse(**kwargs):
        raise oracledb.NotSupportedError(
            "DPY-3010: connections to this database server version are not supported by python-oracledb in thin mode"
        )

    adapter.driver_connect = refuse
    with pytest.raises(errors.AdapterUnavailable, match=r"older than 12\.1 cannot be monitored") as caught:
        adapter.fetch_accounts()
    assert caught.value.instance_id == 9 and PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("version", "statement", "stored"),
    [
        ("19.21.0.0.0", sql.SERVER_VERSION_FULL, "Oracle Database 19c Enterprise Edition 19.21.0.0.0"),
        ("12.2.0.1.0", sql.SERVER_VERSION, "Oracle Database 12c Enterprise Edition 12.2.0.1.0"),
    ],
)
def test_version_reads_version_full_on_18c_and_later(version, statement, stored):
    adapter = make_adapter(build(version))
    assert adapter.server_version() == stored
    assert adapter.connections[0].executed[0][0] == statement
    adapter.fetch_database_inventory()
    assert adapter.server_version_seen == stored  # every session records it, so syncs can store it


@pytest.mark.parametrize("count", [10, 300])
def test_statement_count_does_not_depend_on_users(database, count):
    database.role("APP_READ")
    for i in range(count):
        database.user(f"U{i}")
        database.grant_role("CONNECT", f"U{i}")
        database.grant_role("APP_READ", f"U{i}")
    database.grant_object("SELECT", "APP", "ORDERS", "APP_READ")
    adapter = make_adapter(database)
    accounts = {a.username: a for a in adapter.fetch_accounts()}
    assert len(accounts) == count + 2
    assert all(accounts[f"U{i}"].can_login and "APP_READ" in accounts[f"U{i}"].roles for i in range(count))
    assert len(adapter.connections[0].executed) == 1 + 8  # the version, then 8 reads: for 10 and for 300 users


def test_sizes_from_dba_views(database):
    adapter = make_adapter(database)
    sizes = adapter.fetch_database_sizes()
    assert tags(adapter) == ["server_version", "dba_tablespaces", "dba_data_files", "dba_segments"]
    assert [(s.name, s.size_bytes, s.used_bytes, s.source) for s in sizes] == [
        ("APP_DATA", 2 << 30, 64 << 20, "dba"),
        ("USERS", 5 << 20, 192 << 10, "dba"),
    ]


@pytest.mark.parametrize("denied", ["dba_data_files", "dba_segments"])
def test_sizes_fall_back_to_user_segments_when_one_view_is_denied(database, denied):
    # Injected: the emulator denies the DBA_ views all together (no grants on single views).
    database.failures[denied] = oracledb.DatabaseError(DENIED)
    adapter = make_adapter(database)
    sizes = adapter.fetch_database_sizes()
    assert tags(adapter)[-1] == "user_segments"
    assert {(s.name, s.size_bytes, s.source, s.complete) for s in sizes} == {
        ("APP_DATA", 0, "user_segments", False),
        ("USERS", 192 << 10, "user_segments", False),
    }


def test_without_the_dba_views_everything_falls_back():
    adapter = make_adapter(build(catalog_role=False))
    assert [t.name for t in adapter.fetch_database_inventory()] == ["APP_DATA", "USERS"]
    assert tags(adapter) == ["server_version", "dba_tablespaces", "user_tablespaces"]
    sizes = adapter.fetch_database_sizes()
    assert {(s.name, s.size_bytes, s.source) for s in sizes} == {("APP_DATA", 0, "user_segments"),
                                                                 ("USERS", 192 << 10, "user_segments")}  # fmt: skip


def test_table_sizes_bind_the_tablespace_and_fall_back(database):
    adapter = make_adapter(database)
    (orders,) = adapter.fetch_table_sizes("APP_DATA")
    statement, binds = adapter.connections[0].executed[1]  # after the version
    assert binds == {"tablespace": "APP_DATA"} and "APP_DATA" not in statement
    assert (orders.schema, orders.table, orders.source) == ("APP", "ORDERS", "dba_segments")
    (probe,) = make_adapter(build(catalog_role=False)).fetch_table_sizes("USERS")
    assert (probe.schema, probe.table, probe.source, probe.complete) == ("WHALEFALL", "PROBE", "user_segments", False)


def test_binds_must_match_the_placeholders(database):
    """The emulated driver, like python-oracledb, refuses binds that do not match the statement."""
    connection = database.connect(user="WHALEFALL")
    with pytest.raises(dbapi.EmulatorError, match="bind variables"):
        connection.cursor().execute(sql.TABLE_SIZES, {"tablespace": "USERS", "extra": 1})


def test_accounts_do_not_fall_back():
    with pytest.raises(errors.TargetPermissionDenied) as caught:
        make_adapter(build(catalog_role=False)).fetch_accounts()
    assert "ORA-00942" in str(caught.value) and caught.value.instance_id == 9


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("ORA-01017: invalid credential or not authorized; logon denied", errors.TargetAuthFailed),
        ("ORA-28000: The account is locked.", errors.TargetAuthFailed),
        ("DPY-4024: call timeout of 60000 ms exceeded", errors.TargetTimeout),
        ("DPY-4011: the database or network closed the connection", errors.TargetTimeout),
        ("ORA-03136: inbound connection timed out", errors.TargetTimeout),
        ("ORA-01045: user WHALEFALL lacks CREATE SESSION privilege", errors.TargetPermissionDenied),
        ("DPY-6005: cannot connect to database.\n[Errno 111] Connection refused", errors.TargetUnreachable),
        ("ORA-12514: Cannot connect to database. Service ORCLPDB1 is not registered", errors.TargetUnreachable),
        (f"ORA-00904: invalid identifier; password={PASSWORD}", errors.TargetQueryFailed),
    ],
)
def test_errors_are_typed_and_redacted(database, message, expected):
    # Injected: executing dictionary SQL cannot time out, lose the listener or expire a password.
    database.failures["dba_role_privs"] = oracledb.DatabaseError(message)
    adapter = make_adapter(database)
    with pytest.raises(expected) as caught:
        adapter.fetch_accounts()
    assert PASSWORD not in str(caught.value) and caught.value.instance_name == "ora-prod"
    assert adapter.connections[0].closed


def test_statement_outside_deadline(database):
    release = threading.Event()

    class Hanging(dbapi.EmulatedCursor):  # a statement that never answers (cannot be produced by SQL)
        def execute(self, statement, params=None):
            release.wait(10)

    def hanging_connect(**kwargs):
        connection = database.connect(**kwargs)
        connection.cursor = lambda: Hanging(connection)
        return connection

    adapter = OracleAdapter(params(statement_timeout=0))  # deadline = 0 + 2 s
    adapter.driver_connect = hanging_connect
    started = time.monotonic()
    with pytest.raises(errors.TargetTimeout):
        adapter.server_version()
    assert time.monotonic() - started < 4
    release.set()


def test_call_with_deadline_hands_late_results_over():
    closed = threading.Event()
    with pytest.raises(DeadlineExceeded):
        call_with_deadline(lambda: time.sleep(0.3) or "conn", 0.05, on_late_result=lambda _: closed.set())
    assert closed.wait(2)
    with pytest.raises(ZeroDivisionError):
        call_with_deadline(lambda: 1 / 0, 1)


# --- real driver faults (no server needed) --------------------------------------






def test_closed_port_is_unreachable(closed_port):
    adapter = OracleAdapter(params(host="127.0.0.1", port=closed_port, connect_timeout=2))
    started = time.monotonic()
    with pytest.raises(errors.TargetUnreachable) as caught:
        adapter.test_connection()
    assert time.monotonic() - started < 2 + 2
    assert PASSWORD not in str(caught.value)


def test_silent_listener_hits_the_outside_deadline(blackhole_port):
    adapter = OracleAdapter(params(host="127.0.0.1", port=blackhole_port, connect_timeout=2))
    started = time.monotonic()
    with pytest.raises(errors.TargetTimeout) as caught:
        adapter.test_connection()
    assert time.monotonic() - started < 2 + 2
    assert PASSWORD not in str(caught.value) and "ora-prod" in str(caught.value)

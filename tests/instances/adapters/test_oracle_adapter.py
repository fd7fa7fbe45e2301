"""Oracle adapter: SQL text, query flow over a fake connection replaying recorded rows
(incl. the DBA_ → USER_ fallback on ORA-01031), error mapping, the outside deadline,
and python-oracledb thin-mode faults against local sockets (no Oracle server exists here).

The fake (``fake_dbapi``) names the result columns from each statement's SELECT
list (upper case, as Oracle reports unquoted identifiers), rejects recorded rows
whose keys differ and binds that do not match the placeholders; fixture values
are typed as python-oracledb returns them.
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
from tests.instances.adapters import fake_dbapi
from tests.instances.adapters.fake_dbapi import FakeConnection, FakeDBError
from whalefall import errors

PASSWORD = "0racle-Pa55!"
TAG = re.compile(r"-- whalefall:(\S+)")
DENIED = "ORA-01031: insufficient privileges"


def load(name: str):
    return fake_dbapi.load_fixture("oracle", name)


TAGS = (
    "server_version", "dba_users", "dba_role_privs", "dba_sys_privs", "dba_tab_privs", "dba_col_privs",
    "v$pwfile_users", "dba_profiles", "dba_tablespaces", "user_tablespaces", "dba_data_files", "dba_segments",
    "user_segments", "dba_segments_tables", "user_segments_tables",
)  # fmt: skip


def oracle_connection(responses: dict, version: str = "19.3.0.0.0") -> FakeConnection:
    return FakeConnection(responses, dialect="oracle", version=version)


def params(**overrides) -> ConnectionParams:
    values = dict(instance_id=9, instance_name="ora-prod", host="ora.example", port=1521, username="WHALEFALL")
    values.update(database="ORCLPDB1")
    values.update(overrides)
    return ConnectionParams(password=PASSWORD, **values)


def make_adapter(fake: FakeConnection, **overrides) -> OracleAdapter:
    adapter = OracleAdapter(params(**overrides))
    adapter.connect_calls = []

    def driver_connect(**kwargs):
        adapter.connect_calls.append(kwargs)
        return fake

    adapter.driver_connect = driver_connect
    return adapter


@pytest.fixture
def fake():
    return oracle_connection({tag: load(tag) for tag in TAGS})


def tags(fake: FakeConnection) -> list[str]:
    return [TAG.match(statement).group(1) for statement, _ in fake.executed]


# --- SQL text -------------------------------------------------------------------


def test_sql_text():
    assert "oracle_maintained = 'N'" in sql.USERS
    assert "version_full AS version" in sql.SERVER_VERSION_FULL and "version_full" not in sql.SERVER_VERSION
    assert ":tablespace" in sql.TABLE_SIZES and "FROM dba_segments" in sql.TABLE_SIZES
    assert "FROM user_segments" in sql.USER_TABLE_SIZES and "USER AS owner" in sql.USER_TABLE_SIZES
    assert "dba_" not in sql.USER_TABLE_SIZES
    assert "all_segments" not in sql.USER_TABLE_SIZES.lower()  # Oracle has no ALL_SEGMENTS view


# --- query flow -----------------------------------------------------------------


def test_fetch_accounts_flow_and_deadlines(fake):
    adapter = make_adapter(fake)
    accounts = adapter.fetch_accounts()
    assert len(accounts) == 10
    assert tags(fake) == ["server_version", "dba_users", "dba_role_privs", "dba_sys_privs", "dba_tab_privs",
                          "dba_col_privs", "v$pwfile_users", "dba_profiles"]  # fmt: skip
    assert fake.call_timeout == 60_000 and fake.closed
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
    ("driver_version", "tag_sql", "stored"),
    [
        ("19.21.0.0.0", "version_full AS version", "Oracle Database 19c Enterprise Edition 19.21.0.0.0"),
        ("12.2.0.1.0", "SELECT product, version FROM", "Oracle Database 12c Enterprise Edition 12.2.0.1.0"),
    ],
)
def test_version_reads_version_full_on_18c_and_later(driver_version, tag_sql, stored):
    responses = {tag: load(tag) for tag in TAGS}
    product = "Oracle Database 19c Enterprise Edition" if driver_version.startswith("19") else (
        "Oracle Database 12c Enterprise Edition"
    )
    responses["server_version"] = [{"PRODUCT": product, "VERSION": driver_version}]
    fake = oracle_connection(responses)
    fake.version = driver_version
    adapter = make_adapter(fake)
    assert adapter.server_version() == stored
    assert tag_sql in fake.executed[0][0]
    adapter.fetch_database_inventory()
    assert adapter.server_version_seen == stored  # every session records it, so syncs can store it


def generated_users(count: int) -> dict:
    responses = {tag: load(tag) for tag in TAGS}
    template = load("dba_users")[0]
    responses["dba_users"] = [dict(template, USERNAME=f"U{i}", USER_ID=1000 + i) for i in range(count)]
    responses["dba_role_privs"] = load("dba_role_privs") + [
        {"GRANTEE": f"U{i}", "GRANTED_ROLE": "APP_READ", "ADMIN_OPTION": "NO", "DEFAULT_ROLE": "YES"}
        for i in range(count)
    ]
    responses["dba_tab_privs"] = [dict(load("dba_tab_privs")[0], GRANTEE=f"U{i}") for i in range(count)]
    return responses


@pytest.mark.parametrize("count", [10, 1000])
def test_statement_count_does_not_depend_on_users(count):
    fake = oracle_connection(generated_users(count))
    accounts = make_adapter(fake).fetch_accounts()
    assert len(accounts) == count
    assert all(account.can_login and "CONNECT" in account.roles for account in accounts)
    assert len(fake.executed) == 1 + 7  # the version, then 7 reads: for 10 and for 1,000 users


def test_sizes_from_dba_views(fake):
    sizes = make_adapter(fake).fetch_database_sizes()
    assert tags(fake) == ["server_version", "dba_tablespaces", "dba_data_files", "dba_segments"]
    assert [(s.name, s.size_bytes, s.source) for s in sizes] == [
        ("APP_DATA", 2147483648, "dba"),
        ("USERS", 5242880, "dba"),
    ]


@pytest.mark.parametrize("denied", ["dba_data_files", "dba_segments"])
def test_sizes_fall_back_to_user_segments_when_denied(fake, denied):
    fake.responses[denied] = oracledb.DatabaseError(DENIED)
    sizes = make_adapter(fake).fetch_database_sizes()
    assert tags(fake)[-1] == "user_segments"
    assert {(s.name, s.size_bytes, s.source, s.complete) for s in sizes} == {
        ("APP_DATA", 0, "user_segments", False),
        ("USERS", 196608, "user_segments", False),
    }


def test_inventory_falls_back_to_user_tablespaces(fake):
    fake.responses["dba_tablespaces"] = oracledb.DatabaseError("ORA-00942: table or view does not exist")
    assert [t.name for t in make_adapter(fake).fetch_database_inventory()] == ["APP_DATA", "USERS"]
    assert tags(fake) == ["server_version", "dba_tablespaces", "user_tablespaces"]


def test_table_sizes_bind_the_tablespace_and_fall_back(fake):
    tables = make_adapter(fake).fetch_table_sizes("APP_DATA")
    statement, binds = fake.executed[1]  # after the version
    assert binds == {"tablespace": "APP_DATA"} and "APP_DATA" not in statement
    assert tables[0].source == "dba_segments" and len(tables) == 4
    fake.responses["dba_segments_tables"] = oracledb.DatabaseError(DENIED)
    (probe,) = make_adapter(fake).fetch_table_sizes("USERS")
    assert (probe.schema, probe.source, probe.complete) == ("MONITOR", "user_segments", False)


def test_recorded_rows_that_drift_from_the_sql_are_rejected(fake):
    fake.responses["dba_sys_privs"] = [dict(row, COMMON="NO") for row in fake.responses["dba_sys_privs"]]
    with pytest.raises(FakeDBError, match=r"extra \['COMMON'\]"):
        make_adapter(fake).fetch_accounts()


def test_accounts_do_not_fall_back(fake):
    fake.responses["dba_sys_privs"] = oracledb.DatabaseError(DENIED)
    with pytest.raises(errors.TargetPermissionDenied) as caught:
        make_adapter(fake).fetch_accounts()
    assert "ORA-01031" in str(caught.value) and caught.value.instance_id == 9


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
def test_errors_are_typed_and_redacted(fake, message, expected):
    fake.responses["dba_role_privs"] = oracledb.DatabaseError(message)
    with pytest.raises(expected) as caught:
        make_adapter(fake).fetch_accounts()
    assert PASSWORD not in str(caught.value) and caught.value.instance_name == "ora-prod"
    assert fake.closed


def test_statement_outside_deadline(fake):
    release = threading.Event()

    def hang(statement, binds=None):
        release.wait(10)
        return []

    class Hanging(fake_dbapi.FakeCursor):
        execute = staticmethod(hang)

    fake.cursor = lambda: Hanging(fake)
    adapter = make_adapter(fake, statement_timeout=0)  # deadline = 0 + 2 s
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

"""SQL Server adapter: SQL text, query flow over a fake connection replaying recorded rows,
error mapping, and driver faults against local sockets (no SQL Server exists here).

The fake (``fake_dbapi``) names the result columns from each statement's SELECT
list and rejects recorded rows whose keys differ, so the fixtures cannot drift
from the SQL; their values are typed as pymssql returns them.
"""

from __future__ import annotations

import re
import time

import pymssql
import pytest

from instances.adapters.base import ConnectionParams
from instances.adapters.sqlserver import sql
from instances.adapters.sqlserver.adapter import SQLServerAdapter, classify, error_numbers_and_text
from tests.instances.adapters import fake_dbapi
from tests.instances.adapters.fake_dbapi import FakeConnection, FakeDBError
from whalefall import errors

PASSWORD = "S3cret-Pa55!"
TAG = re.compile(r"-- whalefall:(\S+)")


def load(name: str):
    return fake_dbapi.load_fixture("tsql", name)


def recorded_responses() -> dict:
    responses = {
        tag: load(tag)
        for tag in ("server_version", "server_principals", "server_role_members", "server_permissions", "databases")
    }
    responses.update(database_sizes=load("database_sizes"), table_sizes=load("table_sizes"))
    for tag in ("database_principals", "database_role_members", "database_permissions"):
        responses[tag] = load(tag)  # {database: rows}
    return responses


def params(**overrides) -> ConnectionParams:
    values = dict(instance_id=7, instance_name="mssql-prod", host="db.example", port=1433, username="whalefall")
    values.update(overrides)
    return ConnectionParams(password=PASSWORD, **values)


@pytest.fixture
def fake():
    return FakeConnection(recorded_responses(), dialect="tsql")


@pytest.fixture
def adapter(fake):
    instance = SQLServerAdapter(params())
    instance.connect_calls = []

    def driver_connect(**kwargs):
        instance.connect_calls.append(kwargs)
        return fake

    instance.driver_connect = driver_connect
    return instance


# --- SQL text -------------------------------------------------------------------


def test_size_query_reads_data_and_log_files_in_bytes():
    text = sql.DATABASE_SIZES
    assert "sys.master_files" in text
    assert "mf.type = 0" in text and "mf.type = 1" in text
    assert text.count("CAST(mf.size AS bigint) * 8192") == 2


def test_identifiers_are_bracket_escaped():
    assert sql.quote_name("we]ird") == "[we]]ird]"
    statement = sql.per_database(sql.DATABASE_PRINCIPALS, "we]ird")
    assert "FROM [we]]ird].sys.database_principals" in statement
    assert "{db}" not in statement
    with pytest.raises(ValueError):
        sql.quote_name("")


def test_principal_query_excludes_certificate_logins_and_states_are_read():
    assert "NOT LIKE '##%##'" in sql.SERVER_PRINCIPALS
    assert "LOGINPROPERTY(sp.name, 'IsLocked')" in sql.SERVER_PRINCIPALS
    assert "pe.state" in sql.SERVER_PERMISSIONS and "pe.state" in sql.DATABASE_PERMISSIONS


def test_table_sizes_use_pages_times_8192():
    assert "sys.allocation_units" in sql.TABLE_SIZES and "* 8192" in sql.TABLE_SIZES


# --- query flow -----------------------------------------------------------------


def test_fetch_accounts_runs_fixed_statements(adapter, fake):
    accounts = adapter.fetch_accounts()
    assert {a.username for a in accounts} >= {"sa", "app_sales"}
    tags = [TAG.match(s).group(1) for s in fake.statements]
    # the version when the session starts, then the server-level reads
    assert tags[:5] == ["server_version", "server_principals", "server_role_members", "server_permissions", "databases"]
    assert len(fake.statements) == 1 + 4 + 3 * 2  # 2 online user databases
    assert any("FROM [sales].sys.database_permissions" in s for s in fake.statements)
    assert fake.closed


def test_connect_passes_deadlines_and_never_pastes_password(adapter):
    adapter.fetch_database_inventory()
    (kwargs,) = adapter.connect_calls
    # FreeTDS gets the whole connect timeout; the outside deadline holds it (see the blackhole test)
    assert kwargs["login_timeout"] == 10 and kwargs["timeout"] == 60
    assert kwargs["password"] == PASSWORD


def test_table_sizes_connect_to_the_database(adapter, fake):
    tables = adapter.fetch_table_sizes("we]ird")
    assert adapter.connect_calls[0]["database"] == "we]ird"
    assert [t.table for t in tables] == ["customers", "orders", "empty_heap"]
    assert all("we]ird" not in statement for statement in fake.statements)


def test_sizes_version_and_connection_test(adapter):
    assert [s.name for s in adapter.fetch_database_sizes()] == ["hr", "sales"]
    assert adapter.server_version().startswith("15.0.4345.5")
    result = adapter.test_connection()
    assert result.version.startswith("15.0") and result.latency_ms >= 0


def generated_logins(count: int) -> dict:
    responses = recorded_responses()
    principals, permissions, users, members = [], [], [], []
    for i in range(count):
        sid = f"{i:032X}"
        principals.append(dict(load("server_principals")[0], principal_id=1000 + i, name=f"login{i}", sid=sid))
        permissions.append(dict(load("server_permissions")[3], grantee_name=f"login{i}"))
        users.append(dict(load("database_principals")["sales"][-4], name=f"user{i}", sid=sid))
        members.append({"role_name": "db_datareader", "member_name": f"user{i}", "member_type": "S"})
    responses.update(server_principals=principals, server_permissions=permissions)
    responses["database_principals"] = {"sales": users, "hr": users}
    responses["database_role_members"] = {"sales": members, "hr": []}
    return responses


@pytest.mark.parametrize("count", [10, 1000])
def test_statement_count_does_not_depend_on_logins(count):
    fake = FakeConnection(generated_logins(count), dialect="tsql")
    adapter = SQLServerAdapter(params())
    adapter.driver_connect = lambda **kwargs: fake
    accounts = adapter.fetch_accounts()
    assert len(accounts) == count
    assert all(account.roles == ("sales.db_datareader",) for account in accounts)
    # version + 4 server-level + 3 per database (2 databases), for 10 and 1,000 logins
    assert len(fake.statements) == 11


def test_recorded_rows_that_drift_from_the_sql_are_rejected(adapter, fake):
    row, *rest = fake.responses["server_principals"]
    drifted = {("is_disabld" if key == "is_disabled" else key): value for key, value in row.items()}
    fake.responses["server_principals"] = [drifted, *rest]
    with pytest.raises(FakeDBError, match=r"missing \['is_disabled'\], extra \['is_disabld'\]"):
        adapter.fetch_accounts()


# --- errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (pymssql.OperationalError((18456, f"Login failed for user 'whalefall'. pwd={PASSWORD}".encode())),
         errors.TargetAuthFailed),
        (pymssql.ProgrammingError((229, b"The SELECT permission was denied on the object 'x'.")),
         errors.TargetPermissionDenied),
        (pymssql.OperationalError((916, b"The server principal is not able to access the database")),
         errors.TargetPermissionDenied),
        (pymssql.OperationalError((20003, b"DB-Lib error message 20003, severity 6: TDS server connection timed out")),
         errors.TargetTimeout),
        (pymssql.OperationalError((20047, b"DB-Lib error message 20047, severity 9: DBPROCESS is dead")),
         errors.TargetUnreachable),
        (pymssql.ProgrammingError((208, b"Invalid object name 'sys.nope'.")), errors.TargetQueryFailed),
    ],
)  # fmt: skip
def test_query_errors_are_typed_and_redacted(fake, exc, expected):
    fake.responses["server_role_members"] = exc
    adapter = SQLServerAdapter(params())
    adapter.driver_connect = lambda **kwargs: fake
    with pytest.raises(expected) as caught:
        adapter.fetch_accounts()
    assert caught.value.instance_id == 7 and caught.value.instance_name == "mssql-prod"
    assert PASSWORD not in str(caught.value)
    assert caught.value.__cause__ is exc
    assert fake.closed


def test_pymssql_error_shapes():
    numbers, text = error_numbers_and_text(
        pymssql.OperationalError((20009, b"DB-Lib error message 20003, severity 6:\nTDS server connection timed out"))
    )
    assert numbers == {20009, 20003} and "\n" not in text
    assert classify(numbers, text) is errors.TargetTimeout
    assert error_numbers_and_text(pymssql.InterfaceError("Connection is closed."))[1] == "Connection is closed."


# --- real driver faults (no server needed) --------------------------------------






def test_closed_port_is_unreachable(closed_port):
    adapter = SQLServerAdapter(params(host="127.0.0.1", port=closed_port, connect_timeout=2))
    started = time.monotonic()
    with pytest.raises(errors.TargetUnreachable) as caught:
        adapter.test_connection()
    assert time.monotonic() - started < 2 + 2
    assert PASSWORD not in str(caught.value)


def test_silent_server_times_out_within_the_connect_timeout(blackhole_port):
    adapter = SQLServerAdapter(params(host="127.0.0.1", port=blackhole_port, connect_timeout=2))
    started = time.monotonic()
    with pytest.raises(errors.TargetTimeout) as caught:
        adapter.test_connection()
    # FreeTDS alone takes ≈ 2 × login_timeout + 5 s; the outside deadline answers at the connect timeout.
    assert time.monotonic() - started < 2 + 2
    assert PASSWORD not in str(caught.value) and "mssql-prod" in str(caught.value)
    assert "no answer within 2 s" in caught.value.message

"""SQL Server adapter: SQL text, query flow over a fake connection replaying recorded rows,
error mapping, and driver faults against local sockets (no SQL Server exists here).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pymssql
import pytest

from instances.adapters.base import ConnectionParams
from instances.adapters.sqlserver import sql
from instances.adapters.sqlserver.adapter import SQLServerAdapter, classify, error_numbers_and_text, login_timeout_for
from whalefall import errors

FIXTURES = Path(__file__).parent / "fixtures"
PASSWORD = "S3cret-Pa55!"
TAG = re.compile(r"-- whalefall:(\S+)")
PER_DB_NAME = re.compile(r"FROM \[((?:[^\]]|\]\])+)\]\.sys\.")


def load(name: str):
    return json.loads((FIXTURES / f"sqlserver2019_{name}.json").read_text())


def recorded_responses() -> dict:
    responses = {
        tag: load(tag)
        for tag in ("server_version", "server_principals", "server_role_members", "server_permissions", "databases")
    }
    responses.update(database_sizes=load("database_sizes"), table_sizes=load("table_sizes"))
    for tag in ("database_principals", "database_role_members", "database_permissions"):
        responses[tag] = load(tag)  # {database: rows}
    return responses


class FakeCursor:
    def __init__(self, connection: FakeConnection):
        self.connection = connection
        self.description = None
        self._rows: list[tuple] = []

    def execute(self, statement: str, params=None):
        self.connection.executed.append(statement)
        response = self.connection.responses[TAG.match(statement).group(1)]
        if isinstance(response, BaseException):
            raise response
        if isinstance(response, dict):  # per-database: pick by the bracket-quoted name
            response = response[PER_DB_NAME.search(statement).group(1).replace("]]", "]")]
        columns = list(response[0]) if response else ["column"]
        self.description = [(column, None, None, None, None, None, None) for column in columns]
        self._rows = [tuple(row[column] for column in columns) for row in response]

    def fetchall(self):
        return self._rows

    def close(self):
        pass


class FakeConnection:
    def __init__(self, responses: dict):
        self.responses = responses
        self.executed: list[str] = []
        self.closed = False

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True


def params(**overrides) -> ConnectionParams:
    values = dict(instance_id=7, instance_name="mssql-prod", host="db.example", port=1433, username="whalefall")
    values.update(overrides)
    return ConnectionParams(password=PASSWORD, **values)


@pytest.fixture
def fake():
    return FakeConnection(recorded_responses())


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
    tags = [TAG.match(s).group(1) for s in fake.executed]
    assert tags[:4] == ["server_principals", "server_role_members", "server_permissions", "databases"]
    assert len(fake.executed) == 4 + 3 * 2  # 2 online user databases
    assert any("FROM [sales].sys.database_permissions" in s for s in fake.executed)
    assert fake.closed


def test_connect_passes_deadlines_and_never_pastes_password(adapter):
    adapter.fetch_database_inventory()
    (kwargs,) = adapter.connect_calls
    assert kwargs["login_timeout"] == 5 and kwargs["timeout"] == 60
    assert kwargs["password"] == PASSWORD


def test_table_sizes_connect_to_the_database(adapter, fake):
    tables = adapter.fetch_table_sizes("we]ird")
    assert adapter.connect_calls[0]["database"] == "we]ird"
    assert [t.table for t in tables] == ["customers", "orders", "empty_heap"]
    assert "we]ird" not in fake.executed[0]


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
    fake = FakeConnection(generated_logins(count))
    adapter = SQLServerAdapter(params())
    adapter.driver_connect = lambda **kwargs: fake
    accounts = adapter.fetch_accounts()
    assert len(accounts) == count
    assert all(account.roles == ("sales.db_datareader",) for account in accounts)
    assert len(fake.executed) == 10  # 4 server-level + 3 per database (2 databases), for 10 and 1,000 logins


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
    assert login_timeout_for(2) == 1 and login_timeout_for(1) == 1 and login_timeout_for(10) == 5


# --- real driver faults (no server needed) --------------------------------------






def test_closed_port_is_unreachable(closed_port):
    adapter = SQLServerAdapter(params(host="127.0.0.1", port=closed_port, connect_timeout=2))
    started = time.monotonic()
    with pytest.raises(errors.TargetUnreachable) as caught:
        adapter.test_connection()
    assert time.monotonic() - started < 2 + 2
    assert PASSWORD not in str(caught.value)


def test_silent_server_times_out_within_login_deadline(blackhole_port):
    adapter = SQLServerAdapter(params(host="127.0.0.1", port=blackhole_port, connect_timeout=2))
    started = time.monotonic()
    with pytest.raises(errors.TargetTimeout) as caught:
        adapter.test_connection()
    # FreeTDS: ≈ 2 × login_timeout + 5 s (login_timeout = 1 for connect_timeout = 2), + 2 s slack.
    assert time.monotonic() - started < 2 * login_timeout_for(2) + 5 + 2
    assert PASSWORD not in str(caught.value) and "mssql-prod" in str(caught.value)

"""SQL Server adapter: the query flow executed on the emulated catalog (tests/instances/adapters/
emulated: the adapter's own SQL runs there), error mapping, and driver faults against local sockets
(no SQL Server exists here).

The catalog facts (who holds what, sizes) are asserted scenario by scenario in
test_sqlserver_executed.py; here: which statements a session sends, how it connects, and how driver
errors become typed errors.
"""

from __future__ import annotations

import re
import time

import pymssql
import pytest

from instances.adapters.base import ConnectionParams
from instances.adapters.sqlserver import sql
from instances.adapters.sqlserver.adapter import SQLServerAdapter, classify, error_numbers_and_text
from tests.instances.adapters.emulated.sqlserver import SQLServer
from whalefall import errors

PASSWORD = "S3cret-Pa55!"
TAG = re.compile(r"-- whalefall:(\S+)")


def params(**overrides) -> ConnectionParams:
    values = dict(instance_id=7, instance_name="mssql-prod", host="db.example", port=1433, username="whalefall")
    values.update(overrides)
    return ConnectionParams(password=PASSWORD, **values)


@pytest.fixture
def server() -> SQLServer:
    """An instance with the monitoring login (docs: VIEW ANY DEFINITION, CONNECT ANY DATABASE), two user
    databases and an application login mapped into one of them."""
    server = SQLServer()
    server.login("whalefall")
    server.grant("VIEW ANY DEFINITION", "whalefall")
    server.grant("CONNECT ANY DATABASE", "whalefall")
    server.login("app_sales")
    server.database("sales").user("app_sales")
    server.database("hr")
    return server


def emulated(server: SQLServer, **overrides) -> SQLServerAdapter:
    instance = SQLServerAdapter(params(**overrides))
    instance.connect_calls = []
    instance.connections = []

    def driver_connect(**kwargs):
        instance.connect_calls.append(kwargs)
        connection = server.connect(**kwargs)
        instance.connections.append(connection)
        return connection

    instance.driver_connect = driver_connect
    return instance


@pytest.fixture
def adapter(server):
    return emulated(server)


def tags(connection) -> list[str]:
    return [TAG.match(statement).group(1) for statement in connection.statements]


# --- SQL text -------------------------------------------------------------------


def test_identifiers_are_bracket_escaped():
    assert sql.quote_name("we]ird") == "[we]]ird]"
    statement = sql.per_database(sql.DATABASE_PRINCIPALS, "we]ird")
    assert "FROM [we]]ird].sys.database_principals" in statement
    assert "{db}" not in statement
    with pytest.raises(ValueError):
        sql.quote_name("")


# --- query flow -----------------------------------------------------------------


def test_fetch_accounts_runs_fixed_statements(adapter):
    accounts = adapter.fetch_accounts()
    assert {a.username for a in accounts} == {"sa", "app_sales", "whalefall"}
    (connection,) = adapter.connections
    # the version when the session starts, the server-level reads, then 4 per ONLINE user database it may open
    assert tags(connection) == ["server_version", "server_principals", "server_role_members", "server_permissions",
                                "account_databases"] + ["database_principals", "database_role_members",
                                                "database_permissions", "database_ownerships"] * 2  # fmt: skip
    assert any("FROM [sales].sys.database_permissions" in s for s in connection.statements)
    assert connection.closed


def test_connect_passes_deadlines_and_never_pastes_password(adapter):
    adapter.fetch_database_inventory()
    (kwargs,) = adapter.connect_calls
    # FreeTDS gets the whole connect timeout; the outside deadline holds it (see the blackhole test)
    assert kwargs["login_timeout"] == 10 and kwargs["timeout"] == 60
    assert kwargs["password"] == PASSWORD
    assert all(PASSWORD not in statement for statement in adapter.connections[0].statements)


def test_table_sizes_connect_to_the_database(server):
    odd = server.database("we]ird")
    orders = odd.table("dbo", "orders")
    odd.partition(orders, index_id=1, rows=3, in_row=(2, 2))
    adapter = emulated(server)
    tables = adapter.fetch_table_sizes("we]ird")
    assert adapter.connect_calls[0]["database"] == "we]ird"
    assert [t.table for t in tables] == ["orders"]
    assert all("we]ird" not in statement for statement in adapter.connections[0].statements)


def test_sizes_version_and_connection_test(adapter):
    assert [s.name for s in adapter.fetch_database_sizes()] == ["hr", "sales"]
    assert adapter.server_version() == "15.0.4345.5 (Developer Edition (64-bit))"
    result = adapter.test_connection()
    assert result.version.startswith("15.0") and result.latency_ms >= 0


@pytest.mark.parametrize("count", [10, 100])
def test_statement_count_does_not_depend_on_logins(server, count):
    sales = server.databases["sales"]
    for i in range(count):
        server.login(f"login{i}")
        sales.user(f"user{i}", f"login{i}")
        sales.add_member("db_datareader", f"user{i}")
    adapter = emulated(server)
    accounts = {a.username: a for a in adapter.fetch_accounts()}
    assert len(accounts) == count + 3
    assert all(accounts[f"login{i}"].roles == ("sales.db_datareader",) for i in range(count))
    # version + 4 server-level + 4 per database (2 databases), for 10 and 100 logins
    assert len(adapter.connections[0].statements) == 13


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
def test_query_errors_are_typed_and_redacted(server, exc, expected):
    # Injected: executing catalog SQL cannot make a server time out or drop the connection.
    server.failures["server_role_members"] = exc
    adapter = emulated(server)
    with pytest.raises(expected) as caught:
        adapter.fetch_accounts()
    assert caught.value.instance_id == 7 and caught.value.instance_name == "mssql-prod"
    assert PASSWORD not in str(caught.value)
    assert caught.value.__cause__ is exc
    assert adapter.connections[0].closed


def test_errors_the_emulated_server_raises_are_typed(server):
    """Real failures of the emulated server: the login fails (18456), a database cannot be opened (4060)."""
    with pytest.raises(errors.TargetAuthFailed):
        emulated(server, username="nobody").fetch_accounts()
    with pytest.raises(errors.TargetPermissionDenied, match="Cannot open database"):
        emulated(server, username="app_sales").fetch_table_sizes("hr")


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

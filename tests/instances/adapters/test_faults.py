"""Fault injection: every failure is a typed error, within its deadline + 2 s, naming
the instance and never the password. Run for both engines."""

from __future__ import annotations

import dataclasses
import secrets
import time
from contextlib import contextmanager

import pytest
from psycopg import sql as pgsql

from instances.adapters.base import ConnectionParams, target_error
from instances.adapters.mysql.adapter import MySQLAdapter
from instances.adapters.oracle.adapter import OracleAdapter
from instances.adapters.postgresql.adapter import PostgreSQLAdapter
from instances.adapters.sqlserver.adapter import SQLServerAdapter
from tests.live_targets import RUN_PREFIX, mysql_params, pg_drop_role
from tests.support.factories import make_instance
from whalefall.errors import (
    CredentialError,
    TargetAuthFailed,
    TargetPermissionDenied,
    TargetQueryFailed,
    TargetTimeout,
    TargetUnreachable,
)

ADAPTERS = {"mysql": MySQLAdapter, "postgresql": PostgreSQLAdapter}
ENGINES = pytest.mark.parametrize("engine", ["mysql", "postgresql"])
PASSWORD = "Sup3r-s3cret-pw"
DEADLINE = 2  # seconds, for connect and statement


def fake_params(port: int, **overrides) -> ConnectionParams:
    values = {"connect_timeout": DEADLINE, "statement_timeout": DEADLINE}
    values.update(overrides)
    return ConnectionParams(7, "faulty", "127.0.0.1", port, "monitor", PASSWORD, **values)


@contextmanager
def within(seconds: float):
    start = time.monotonic()
    yield
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"took {elapsed:.1f}s, deadline {seconds}s"


def assert_clean(exc: Exception, instance_name: str = "faulty") -> None:
    text = str(exc)
    assert PASSWORD not in text and instance_name in text
    assert exc.__cause__ is not None  # raised ``from`` the driver error


@ENGINES
def test_closed_port_is_unreachable(engine, closed_port):
    adapter = ADAPTERS[engine](fake_params(closed_port))
    with within(DEADLINE + 2), pytest.raises(TargetUnreachable) as info:
        adapter.test_connection()
    assert_clean(info.value)
    assert info.value.instance_id == 7 and info.value.instance_name == "faulty"


ALL_ADAPTERS = {**ADAPTERS, "sqlserver": SQLServerAdapter, "oracle": OracleAdapter}


@pytest.mark.parametrize("engine", sorted(ALL_ADAPTERS))
@pytest.mark.parametrize("connect_timeout", [2, 4])
def test_server_that_never_answers_times_out_within_the_connect_timeout(engine, connect_timeout, blackhole_port):
    """A port that accepts TCP and never speaks: every engine gives up after its connect
    timeout (+ 2 s slack), with a typed timeout error a DBA can read. The real drivers
    run (PyMySQL, psycopg, pymssql/FreeTDS, python-oracledb thin): no server needed."""
    adapter = ALL_ADAPTERS[engine](fake_params(blackhole_port, connect_timeout=connect_timeout))
    started = time.monotonic()
    with pytest.raises(TargetTimeout) as info:
        adapter.fetch_accounts()
    elapsed = time.monotonic() - started
    assert elapsed < connect_timeout + 2, f"{engine}: {elapsed:.1f} s for a {connect_timeout} s connect timeout"
    assert_clean(info.value)
    assert "connect" in info.value.message
    assert "DB-Lib" not in info.value.message and "Operation now in progress" not in info.value.message


def test_postgresql_wrong_password(pg_wrong_password_port):
    # The local PostgreSQL trusts 127.0.0.1, so a fake server answers 28P01 as a password-checking one would.
    adapter = PostgreSQLAdapter(fake_params(pg_wrong_password_port))
    with within(DEADLINE + 2), pytest.raises(TargetAuthFailed) as info:
        adapter.test_connection()
    assert_clean(info.value)


@pytest.mark.live
def test_postgresql_unknown_role_is_auth_failure(pg_admin_conn, pg_target):
    adapter = PostgreSQLAdapter(pg_target.params(f"{RUN_PREFIX}nobody", PASSWORD, connect_timeout=DEADLINE))
    with within(DEADLINE + 2), pytest.raises(TargetAuthFailed) as info:
        adapter.test_connection()
    assert_clean(info.value, "postgresql-live")


@pytest.mark.live
def test_mysql_wrong_password(mysql_monitor):
    adapter = MySQLAdapter(dataclasses.replace(mysql_monitor, password=PASSWORD, connect_timeout=DEADLINE))
    with within(DEADLINE + 2), pytest.raises(TargetAuthFailed) as info:
        adapter.test_connection()
    assert_clean(info.value, "mysql-live")
    assert mysql_monitor.username in str(info.value)  # the driver's message is kept


@pytest.mark.live
def test_mysql_account_without_catalog_privileges(mysql_scratch):
    name, password = f"{RUN_PREFIX}usage", secrets.token_urlsafe(12)
    mysql_scratch.later(f"DROP USER IF EXISTS '{name}'@'%'")
    mysql_scratch.run(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'")  # USAGE only
    adapter = MySQLAdapter(mysql_params(name, password))
    with pytest.raises(TargetPermissionDenied, match="mysql.global_priv") as info:
        adapter.fetch_accounts()
    assert_clean(info.value, "mysql-live")
    assert password not in str(info.value)


@pytest.fixture
def pg_plain_role(pg_scratch, pg_target):
    """A login role with no grants at all, and a database whose CONNECT is revoked from PUBLIC."""
    name, password = f"{RUN_PREFIX}plain", secrets.token_urlsafe(12)
    locked_db = f"{RUN_PREFIX}noconnect"
    pg_scratch.later(pg_drop_role(name))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(pgsql.Identifier(name), password))
    pg_scratch.later(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(locked_db)))
    pg_scratch.run(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(locked_db)))
    pg_scratch.run(pgsql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(pgsql.Identifier(locked_db)))
    return pg_target.params(name, password), locked_db


@pytest.mark.live
def test_postgresql_connect_revoked_denies_table_sizes(pg_plain_role, pg_monitor):
    plain, locked_db = pg_plain_role
    for account in (plain, pg_monitor):  # the documented grants do not include CONNECT on such a database
        with pytest.raises(TargetPermissionDenied, match="CONNECT|permission denied") as info:
            PostgreSQLAdapter(account).fetch_table_sizes(locked_db)
        assert_clean(info.value, "postgresql-live")


@pytest.mark.live
def test_postgresql_database_size_needs_read_all_stats(pg_plain_role, pg_monitor):
    plain, locked_db = pg_plain_role
    with pytest.raises(TargetPermissionDenied):
        PostgreSQLAdapter(plain).fetch_database_sizes()
    sizes = {d.name for d in PostgreSQLAdapter(pg_monitor).fetch_database_sizes()}  # pg_read_all_stats suffices
    assert locked_db in sizes


@pytest.mark.live
def test_mysql_statement_timeout(mysql_monitor):
    adapter = MySQLAdapter(dataclasses.replace(mysql_monitor, statement_timeout=1))
    with within(1 + 2), pytest.raises(TargetTimeout), adapter.connect() as session:
        session.rows("SELECT SLEEP(10) AS s")


@pytest.mark.live
def test_postgresql_statement_timeout(pg_monitor):
    adapter = PostgreSQLAdapter(dataclasses.replace(pg_monitor, statement_timeout=1))
    with within(1 + 2), pytest.raises(TargetTimeout, match="statement timeout"), adapter.connect() as session:
        session.rows("SELECT pg_sleep(10)")


@pytest.mark.live
@ENGINES
def test_other_driver_errors_are_query_failed(engine, mysql_monitor, pg_monitor):
    adapter = ADAPTERS[engine](mysql_monitor if engine == "mysql" else pg_monitor)
    with pytest.raises(TargetQueryFailed), adapter.connect() as session:
        session.rows("SELECT no_such_column FROM no_such_table_wf")


def test_target_error_redacts_password_from_driver_message():
    params_ = fake_params(1)
    exc = RuntimeError(f"connect failed: password={PASSWORD} host=x (also {PASSWORD})")
    error = target_error(TargetQueryFailed, params_, "connect", exc)
    assert PASSWORD not in str(error) and "faulty" in str(error) and "127.0.0.1:1" in str(error)


def test_instance_without_credential_is_credential_error(db):
    instance = make_instance(db_type="mysql", credential=None)
    with pytest.raises(CredentialError, match=instance.name):
        MySQLAdapter.for_instance(instance)

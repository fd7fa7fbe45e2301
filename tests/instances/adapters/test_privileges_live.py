"""The monitoring-account self-check against the live MariaDB and PostgreSQL.

A login with too few privileges is checked: the failing collectors and their exact
GRANTs are asserted; then the suggested GRANTs are run on the target as they are,
and the check (and the collectors themselves) must pass — which proves the GRANTs
right. Skipped without the targets, failing under ``CI`` (tests/live_targets.py).
"""

from __future__ import annotations

import secrets

import pytest
from psycopg import sql as pgsql

from instances.adapters.mysql import sql as mysql_sql
from instances.adapters.mysql.adapter import MySQLAdapter
from instances.adapters.mysql.features import MySQLFeatures
from instances.adapters.postgresql.adapter import PostgreSQLAdapter
from tests.live_targets import RUN_PREFIX, mysql_params, pg_drop_role

pytestmark = pytest.mark.live


def statements(fix: str) -> list[str]:
    """The statements of a fix ("GRANT …; GRANT …;"), each without its semicolon."""
    return [part.strip() for part in fix.split(";") if part.strip()]


# --- MariaDB ------------------------------------------------------------------------------------


@pytest.fixture
def mysql_restricted(mysql_scratch):
    """A login that may read mysql.db only: every other privilege table and both global
    privileges are missing."""
    name, password = f"{RUN_PREFIX}pc_my", secrets.token_hex(8)
    mysql_scratch.later(f"DROP USER IF EXISTS '{name}'@'%'")
    mysql_scratch.run(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'")
    mysql_scratch.run(f"GRANT SELECT ON mysql.db TO '{name}'@'%'")
    return name, mysql_params(name, password)


def test_mariadb_names_the_missing_grants_and_they_are_enough(mysql_scratch, mysql_restricted):
    name, login = mysql_restricted
    adapter = MySQLAdapter(login)
    checks = adapter.check_privileges()
    account = f"'{name}'@'%'"
    tables = mysql_sql.account_tables(MySQLFeatures(adapter.server_version_seen))
    assert [(c.collector, c.target) for c in checks] == [*(("account_sync", t) for t in tables),
                                                         ("database_sizes", ""), ("table_sizes", "")]  # fmt: skip
    failing = {(c.collector, c.target): c.fix for c in checks if not c.ok}
    assert failing == {
        **{("account_sync", t): f"GRANT SELECT ON {t} TO {account};" for t in tables if t != "mysql.db"},
        ("database_sizes", ""): f"GRANT SHOW DATABASES, SHOW VIEW ON *.* TO {account};",
        ("table_sizes", ""): f"GRANT SHOW VIEW ON *.* TO {account};",
    }
    assert "mysql.global_priv" in tables  # MariaDB 10.4+: the accounts come from global_priv
    denied = next(c for c in checks if c.target == "mysql.global_priv")
    assert "denied" in denied.detail.lower() and login.password not in denied.detail
    assert adapter.statements_executed == 3 + len(tables)  # session setup, account, privileges, one per table

    for fix in failing.values():
        for statement in statements(fix):
            mysql_scratch.run(statement)
    again = MySQLAdapter(login).check_privileges()
    assert [c for c in again if not c.ok] == []
    assert any(a.username == name for a in adapter.fetch_accounts())  # the collectors work now
    assert {d.name for d in adapter.fetch_database_inventory()} == {s.name for s in adapter.fetch_database_sizes()}


def test_mariadb_documented_monitor_passes(mysql_monitor):
    checks = MySQLAdapter(mysql_monitor).check_privileges()
    assert [c for c in checks if not c.ok] == []


# --- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def pg_restricted(pg_scratch, pg_target):
    """A login without pg_read_all_stats, and a database (a name that needs quoting) whose
    CONNECT is revoked from PUBLIC."""
    name, database = f"{RUN_PREFIX}pc_pg", f"{RUN_PREFIX}pc Locked"
    pg_scratch.later(pg_drop_role(name))
    pg_scratch.later(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(database)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN").format(pgsql.Identifier(name)))
    pg_scratch.run(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(database)))
    pg_scratch.run(pgsql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(pgsql.Identifier(database)))
    return name, database, pg_target.params(name, "unused-with-trust")


def _ours(checks, database: str):
    """The checks about the whole server and about this test's database (the shared server
    may hold other runs' databases)."""
    return [c for c in checks if c.target in ("", database)]


def test_postgresql_names_the_missing_grants_and_they_are_enough(pg_scratch, pg_restricted):
    name, database, login = pg_restricted
    adapter = PostgreSQLAdapter(login)
    checks = adapter.check_privileges()
    assert [c.collector for c in checks][:2] == ["account_sync", "database_sizes"]
    assert {c.target for c in checks if c.collector == "database"} >= {"postgres", database}
    failing = {(c.collector, c.target): c.fix for c in _ours(checks, database) if not c.ok}
    assert failing == {
        ("database_sizes", ""): f"GRANT pg_read_all_stats TO {name};",
        ("database", database): f'GRANT CONNECT ON DATABASE "{database}" TO {name};',
    }
    (locked,) = [c for c in checks if c.target == database]
    assert "CONNECT" in locked.detail
    assert next(c for c in checks if c.target == "postgres").ok  # CONNECT to PUBLIC by default

    for fix in failing.values():
        for statement in statements(fix):
            pg_scratch.run(statement)
    again = PostgreSQLAdapter(login)
    checks = again.check_privileges()
    assert [c for c in _ours(checks, database) if not c.ok] == []
    # through the role, not because every database of the shared server happens to allow CONNECT now
    (sizes,) = [c for c in checks if c.collector == "database_sizes"]
    assert sizes.ok and sizes.detail.startswith("member of pg_read_all_stats")
    assert again.fetch_table_sizes(database) == []  # connects now (an empty database)
    assert database in {s.name for s in again.fetch_database_sizes()}


def test_postgresql_documented_monitor_passes(pg_monitor):
    checks = PostgreSQLAdapter(pg_monitor).check_privileges()
    assert [c for c in checks if c.target in ("", "postgres") and not c.ok] == []

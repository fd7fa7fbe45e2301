"""Set-based reads: the statements sent for 1,000 accounts equal those for 10.

Counted by the adapter itself (``statements_executed`` increments once per
statement sent), on live servers with real accounts.
"""

from __future__ import annotations

import pytest
from psycopg import sql as pgsql

from instances.adapters.mysql.adapter import MySQLAdapter
from instances.adapters.postgresql.adapter import PostgreSQLAdapter
from tests.live_targets import RUN_PREFIX

pytestmark = pytest.mark.live

BULK = f"{RUN_PREFIX}bulk_"


def _count_and_names(adapter) -> tuple[int, set[str]]:
    accounts = adapter.fetch_accounts()
    return adapter.statements_executed, {a.username for a in accounts if a.username.startswith(BULK)}


def _mysql_create(scratch, first: int, last: int) -> None:
    users = [f"'{BULK}{i}'@'%'" for i in range(first, last)]
    scratch.run("CREATE USER " + ", ".join(users))
    scratch.run(f"GRANT SELECT ON mysql.db TO {users[0]}")  # a table grant for at least one of them


def test_mysql_statement_count_independent_of_accounts(mysql_scratch, mysql_monitor):
    mysql_scratch.later("DROP USER IF EXISTS " + ", ".join(f"'{BULK}{i}'@'%'" for i in range(1000)))
    _mysql_create(mysql_scratch, 0, 10)
    n10, names10 = _count_and_names(MySQLAdapter(mysql_monitor))
    _mysql_create(mysql_scratch, 10, 1000)
    n1000, names1000 = _count_and_names(MySQLAdapter(mysql_monitor))
    assert len(names10) == 10 and len(names1000) == 1000
    assert n10 == n1000 == 8  # session limit + user, db, tables_priv, columns_priv, procs_priv, roles_mapping,
    # password plugins


def _pg_create(scratch, first: int, last: int) -> None:
    scratch.run(
        f"DO $$ BEGIN FOR i IN {first}..{last - 1} LOOP "
        f"EXECUTE format('CREATE ROLE %I LOGIN', '{BULK}' || i); END LOOP; END $$"
    )


def test_postgresql_statement_count_independent_of_accounts(pg_scratch, pg_monitor):
    pg_scratch.later(
        "DO $$ DECLARE r text; BEGIN FOR r IN SELECT rolname FROM pg_roles WHERE starts_with(rolname, "
        f"'{BULK}') LOOP EXECUTE format('DROP ROLE %I', r); END LOOP; END $$"
    )
    database = f"{BULK}db"
    pg_scratch.later(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(database)))
    pg_scratch.run(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(database)))
    _pg_create(pg_scratch, 0, 10)
    n10, names10, other10 = _pg_count(PostgreSQLAdapter(pg_monitor))
    _pg_create(pg_scratch, 10, 1000)
    n1000, names1000, other1000 = _pg_count(PostgreSQLAdapter(pg_monitor))
    assert len(names10) == 10 and len(names1000) == 1000
    # roles, memberships, database privileges, tablespace and parameter privileges, object
    # privileges, password policy (the monitor may not read pg_authid: no 8th), databases to read;
    # then one statement per other database read (other tests may create databases meanwhile)
    assert n10 - other10 == n1000 - other1000 == 7
    assert other10 >= 1 and other1000 >= 1  # at least the one created here


def _pg_count(adapter) -> tuple[int, set[str], int]:
    rows = adapter.read_account_rows()
    names = {a.username for a in adapter.parse_account_rows(rows) if a.username.startswith(BULK)}
    return adapter.statements_executed, names, len(rows["objects"]) - 1


def test_every_account_query_has_an_order_by():
    """Identical catalogs must read as identical rows: the account sync's
    unchanged-listing fingerprint (accounts/fingerprint.py) relies on it."""
    from instances.adapters.mysql import sql as mysql_sql
    from instances.adapters.mysql.features import MySQLFeatures
    from instances.adapters.oracle import sql as oracle_sql
    from instances.adapters.postgresql import sql as pg_sql
    from instances.adapters.sqlserver import sql as mssql_sql

    queries = {
        **{f"mysql {name}": getattr(mysql_sql, name) for name in (
            "TABLE_PRIVILEGES", "COLUMN_PRIVILEGES", "MARIADB_ROLE_GRANTS", "MYSQL_ROLE_EDGES",
            "MYSQL_DEFAULT_ROLES", "MYSQL_DYNAMIC_PRIVILEGES")},
        **{f"mysql accounts {v}": mysql_sql.accounts_sql(MySQLFeatures(v)) for v in ("10.11.6-MariaDB", "8.0.36")},
        **{f"mysql db {v}": mysql_sql.db_privileges_sql(MySQLFeatures(v))[0]
           for v in ("10.11.6-MariaDB", "11.4.2-MariaDB", "8.0.36")},
        **{f"postgresql {name}": getattr(pg_sql, name) for name in (
            "ACCOUNTS", "MEMBERSHIPS", "DATABASE_PRIVILEGES", "OBJECT_PRIVILEGES")},
        **{f"sqlserver {name}": getattr(mssql_sql, name) for name in (
            "SERVER_PRINCIPALS", "SERVER_ROLE_MEMBERS", "SERVER_PERMISSIONS", "ONLINE_USER_DATABASES",
            "DATABASE_PRINCIPALS", "DATABASE_ROLE_MEMBERS", "DATABASE_PERMISSIONS")},
        **{f"oracle {name}": getattr(oracle_sql, name) for name in (
            "USERS", "ROLE_PRIVS", "SYS_PRIVS", "TAB_PRIVS", "COL_PRIVS", "PWFILE_USERS")},
    }  # fmt: skip
    assert [name for name, text in queries.items() if "ORDER BY" not in text.upper()] == []

"""Set-based reads: the statements sent for 1,000 accounts equal those for 10.

Counted by the adapter itself (``statements_executed`` increments once per
statement sent), on live servers with real accounts.
"""

from __future__ import annotations

import pytest

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
    assert n10 == n1000 == 6  # session limit + user, db, tables_priv, columns_priv, roles_mapping


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
    _pg_create(pg_scratch, 0, 10)
    n10, names10 = _count_and_names(PostgreSQLAdapter(pg_monitor))
    _pg_create(pg_scratch, 10, 1000)
    n1000, names1000 = _count_and_names(PostgreSQLAdapter(pg_monitor))
    assert len(names10) == 10 and len(names1000) == 1000
    assert n10 == n1000 == 4  # roles, memberships, database privileges, object privileges

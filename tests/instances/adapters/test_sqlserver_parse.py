"""SQL Server parse.py: the pure conversions no catalog scenario isolates (rows built from the
statements' columns, typed as pymssql returns them). Every rule of the account summary decides a
test of its own in test_sqlserver_rules.py; the SQL that produces the rows runs in
test_sqlserver_executed.py.
"""

from __future__ import annotations

import json
from datetime import datetime

from instances.adapters.base import DatabaseSize, TableSize
from instances.adapters.sqlserver import parse, sql
from tests.instances.adapters import sqlcheck
from tests.instances.adapters.sqlcheck import SQLSERVER


def principal(name: str = "sa", **values) -> dict:
    values = dict(principal_id=1, name=name, type="S", type_desc="SQL_LOGIN", is_disabled=0, sid="01",
                  create_date=datetime(2021, 3, 4, 10, 15), **values)  # fmt: skip
    return sqlcheck.driver_row(SQLSERVER, sql.SERVER_PRINCIPALS, **values)


def test_snapshot_is_json_and_converts_driver_datetimes():
    (account,) = parse.build_accounts([principal()], [], [], {})
    assert account.snapshot["create_date"] == "2021-03-04T10:15:00"
    json.dumps(account.snapshot)


def test_cyclic_role_memberships_end():
    rows = [sqlcheck.driver_row(SQLSERVER, sql.SERVER_ROLE_MEMBERS, role_name=role, member_name=member,
                                member_type=kind)
            for role, member, kind in (("a", "b", "R"), ("b", "a", "R"), ("a", "sa", "S"))]  # fmt: skip
    (sa,) = parse.build_accounts([principal()], rows, [], {})
    assert sa.roles == ("a", "b")


def test_sizes_treat_null_as_zero():
    row = sqlcheck.driver_row(SQLSERVER, sql.DATABASE_SIZES, name="empty")
    assert parse.parse_database_sizes([row]) == [DatabaseSize("empty", 0, 0, 0)]
    row = sqlcheck.driver_row(SQLSERVER, sql.TABLE_SIZES, schema_name="dbo", table_name="memory_optimized")
    assert parse.parse_table_sizes([row]) == [TableSize("dbo", "memory_optimized", 0, 0, 0, 0)]


def test_version_includes_the_edition_when_there_is_one():
    row = sqlcheck.driver_row(SQLSERVER, sql.SERVER_VERSION, product_version="15.0.4345.5",
                              edition="Developer Edition (64-bit)")  # fmt: skip
    assert parse.parse_version(row) == "15.0.4345.5 (Developer Edition (64-bit))"
    assert parse.parse_version(dict(row, edition=None)) == "15.0.4345.5"

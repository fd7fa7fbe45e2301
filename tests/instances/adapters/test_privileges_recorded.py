"""The monitoring-account self-check on recorded rows (SQL Server, Oracle: no server here) and
the decisions of every engine, with every suggested GRANT checked against the documented ones.

The SQL Server and Oracle statements are checked against the vendors' documented columns and
functions by test_catalog_sql.py (they are tagged like every catalog statement); here the rows
the drivers return are replayed through the real adapters (tests/instances/adapters/fake_dbapi.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import oracledb
import pymssql
import pytest

from instances.adapters.base import ConnectionParams
from instances.adapters.mysql import privileges as mysql_privileges
from instances.adapters.oracle import privileges as oracle_privileges
from instances.adapters.oracle import sql as oracle_sql
from instances.adapters.oracle.adapter import OracleAdapter
from instances.adapters.postgresql import privileges as pg_privileges
from instances.adapters.privileges import PrivilegeCheck, PrivilegeReport, ordered
from instances.adapters.sqlserver import privileges as sqlserver_privileges
from instances.adapters.sqlserver import sql as sqlserver_sql
from instances.adapters.sqlserver.adapter import SQLServerAdapter
from tests.instances.adapters import fake_dbapi, sqlcheck
from tests.instances.adapters.fake_dbapi import FakeConnection
from tests.live_targets import documented_grants
from whalefall import errors

DOCS = Path(__file__).resolve().parents[3] / "docs"
SQLSERVER_ORACLE_DOCS = (DOCS / "adapters_sqlserver_oracle.md").read_text()
ADAPTERS_DOCS = (DOCS / "adapters.md").read_text()
PASSWORD = "Pa55-never-shown!"
MONITOR = "whalefall_monitor"


def params(**overrides) -> ConnectionParams:
    values = dict(instance_id=7, instance_name="target", host="db.example", port=1433, username=MONITOR)
    values.update(overrides)
    return ConnectionParams(password=PASSWORD, **values)


def replaying(adapter, fake: FakeConnection):
    adapter.driver_connect = lambda **kwargs: fake
    return adapter


def summary(checks: list[PrivilegeCheck]) -> list[tuple]:
    return [(c.collector, c.target, c.ok, c.fix) for c in checks]


# --- SQL Server ---------------------------------------------------------------------------------


def sqlserver(responses: dict, **overrides) -> SQLServerAdapter:
    recorded = {tag: fake_dbapi.load_fixture("tsql", tag)
                for tag in ("server_version", "server_permission_check", "database_connect_check")}  # fmt: skip
    recorded.update(responses)
    return replaying(SQLServerAdapter(params(**overrides)), FakeConnection(recorded, dialect="tsql"))


def test_sqlserver_recorded_rows():
    adapter = sqlserver({})
    checks = adapter.check_privileges()
    assert summary(checks) == [
        ("account_sync", "", True, None),
        ("database_sizes", "", True, None),
        ("table_sizes", "", True, None),
        ("database", "hr", False, "GRANT CONNECT ANY DATABASE TO [whalefall_monitor];"),
        ("database", "sales", True, None),
    ]
    assert adapter.statements_executed == 3  # version, server permissions, database permissions


def test_sqlserver_missing_server_permissions_name_the_documented_grants():
    row = sqlcheck.driver_row(sqlcheck.SQLSERVER, sqlserver_sql.SERVER_PERMISSION_CHECK,
                              view_any_definition=0, view_any_database=0)  # fmt: skip
    checks = sqlserver({"server_permission_check": [row]}, username="dom\\mon]itor").check_privileges()
    failing = {c.collector: c.fix for c in checks if not c.ok and not c.target}
    assert failing == {
        "account_sync": "GRANT VIEW ANY DEFINITION TO [dom\\mon]]itor];",
        "database_sizes": "GRANT VIEW ANY DEFINITION TO [dom\\mon]]itor]; GRANT VIEW ANY DATABASE TO [dom\\mon]]itor];",
        "table_sizes": "GRANT VIEW ANY DEFINITION TO [dom\\mon]]itor];",
    }


def test_sqlserver_2012_gets_a_user_per_database():
    version = [dict(fake_dbapi.load_fixture("tsql", "server_version")[0], product_version="11.0.7507.2")]
    (hr,) = [c for c in sqlserver({"server_version": version}).check_privileges() if c.target == "hr"]
    assert hr.fix == "USE [hr]; CREATE USER [whalefall_monitor] FOR LOGIN [whalefall_monitor];"


def test_sqlserver_connection_errors_are_typed_not_an_empty_report():
    adapter = sqlserver({"database_connect_check": pymssql.OperationalError(
        (20003, b"DB-Lib error message 20003, severity 6: TDS server connection timed out"))})  # fmt: skip
    with pytest.raises(errors.TargetTimeout):
        adapter.check_privileges()


# --- Oracle ---------------------------------------------------------------------------------------


def oracle(responses: dict, **overrides) -> OracleAdapter:
    recorded = {tag: fake_dbapi.load_fixture("oracle", tag) for tag in ("server_version", "session_roles",
                                                                        "session_privs")}  # fmt: skip
    recorded.update(responses)
    fake = FakeConnection(recorded, dialect="oracle", version="19.3.0.0.0")
    return replaying(OracleAdapter(params(port=1521, database="ORCLPDB1", **overrides)), fake)


def test_oracle_recorded_rows_with_select_catalog_role():
    adapter = oracle({})
    assert summary(adapter.check_privileges()) == [
        ("account_sync", "", True, None), ("database_sizes", "", True, None), ("table_sizes", "", True, None),
    ]  # fmt: skip
    assert adapter.statements_executed == 3  # version, roles, privileges


def test_oracle_without_the_role_names_the_documented_grant():
    roles = [sqlcheck.driver_row(sqlcheck.ORACLE, oracle_sql.SESSION_ROLES, ROLE="CONNECT")]
    checks = oracle({"session_roles": roles}).check_privileges()
    assert {c.fix for c in checks} == {"GRANT SELECT_CATALOG_ROLE TO whalefall_monitor;"}
    assert not any(c.ok for c in checks)
    assert "USER_SEGMENTS" in checks[1].detail  # sizes fall back, stored as incomplete


def test_oracle_select_any_dictionary_is_enough_and_odd_names_are_quoted():
    roles = [sqlcheck.driver_row(sqlcheck.ORACLE, oracle_sql.SESSION_ROLES, ROLE="CONNECT")]
    privs = [sqlcheck.driver_row(sqlcheck.ORACLE, oracle_sql.SESSION_PRIVS, PRIVILEGE="SELECT ANY DICTIONARY")]
    assert all(c.ok for c in oracle({"session_roles": roles, "session_privs": privs}).check_privileges())
    assert oracle_privileges.quote_identifier('we"ird-name') == '"we""ird-name"'


def test_oracle_denied_session_view_is_a_typed_error():
    adapter = oracle({"session_privs": oracledb.DatabaseError("ORA-01031: insufficient privileges")})
    with pytest.raises(errors.TargetPermissionDenied):
        adapter.check_privileges()


# --- decisions of MariaDB and PostgreSQL (the live tests run them on real rows) -------------------


def test_mariadb_decisions():
    checks = mysql_privileges.decide(user="mon", host="10.0.%", global_privileges={"SHOW VIEW"},
                                     tables=("mysql.global_priv", "mysql.db"), denied={"mysql.db": "denied"})
    assert summary(checks) == [
        ("account_sync", "mysql.global_priv", True, None),
        ("account_sync", "mysql.db", False, "GRANT SELECT ON mysql.db TO 'mon'@'10.0.%';"),
        ("database_sizes", "", False, "GRANT SHOW DATABASES ON *.* TO 'mon'@'10.0.%';"),
        ("table_sizes", "", True, None),
    ]  # fmt: skip
    assert mysql_privileges.split_account("a@b@%") == ("a@b", "%")
    assert mysql_privileges.account_literal("o'k", "%") == "'o''k'@'%'"


def test_postgresql_decisions():
    databases = [
        {"datname": "app", "quoted": "app", "datallowconn": True, "can_connect": False},
        {"datname": "closed", "quoted": "closed", "datallowconn": False, "can_connect": True},
        {"datname": "postgres", "quoted": "postgres", "datallowconn": True, "can_connect": True},
    ]
    catalogs = [{"name": "pg_catalog.pg_roles", "readable": True}]
    checks = pg_privileges.decide(login="mon", read_all_stats=False, catalogs=catalogs, databases=databases)
    assert summary(checks) == [
        ("account_sync", "", True, None),
        ("database_sizes", "", False, "GRANT pg_read_all_stats TO mon;"),
        ("database", "app", False, "GRANT CONNECT ON DATABASE app TO mon;"),
        ("database", "closed", False, None),  # no GRANT can help: datallowconn
        ("database", "postgres", True, None),
    ]
    tried = pg_privileges.decide(login="mon", read_all_stats=True, catalogs=catalogs, databases=databases[2:],
                                 size_error="permission denied for function pg_database_size")  # fmt: skip
    assert summary(tried)[1] == ("database_sizes", "", False, "GRANT pg_read_all_stats TO mon;")


def test_report_orders_by_collector_and_says_ok():
    checks = [PrivilegeCheck("database", "x", True, ""), PrivilegeCheck("account_sync", "", False, "", "GRANT …;")]
    report = PrivilegeReport(1, "i", ordered(checks))
    assert [c.collector for c in report.checks] == ["account_sync", "database"]
    assert not report.ok and report.failures == (checks[1],)


# --- every suggested GRANT is a documented one -------------------------------------------------


_GRANT = re.compile(r"GRANT (?P<what>.+?) (?:ON (?P<on>\S+) )?TO (?P<who>\S+?);?$")


def _parsed(statement: str) -> tuple[frozenset[str], str, str]:
    match = _GRANT.match(statement.strip())
    assert match, statement
    return frozenset(p.strip() for p in match["what"].split(",")), match["on"] or "", match["who"]


def test_mariadb_fixes_are_within_the_documented_grants():
    documented = [_parsed(s) for s in documented_grants("mariadb", MONITOR, "x") if s.startswith("GRANT")]
    checks = mysql_privileges.decide(
        user=MONITOR, host="%", global_privileges=set(), denied=dict.fromkeys(("mysql.global_priv", "mysql.db",
        "mysql.tables_priv", "mysql.columns_priv", "mysql.roles_mapping", "mysql.user"), "denied"),
        tables=("mysql.global_priv", "mysql.db", "mysql.tables_priv", "mysql.columns_priv", "mysql.roles_mapping",
                "mysql.user"),
    )  # fmt: skip
    for check in checks:
        what, on, who = _parsed(check.fix)
        assert any(what <= d_what and (on, who) == (d_on, d_who) for d_what, d_on, d_who in documented), check.fix


def test_postgresql_fixes_are_the_documented_grants():
    databases = [{"datname": "some database", "quoted": '"some database"', "datallowconn": True,
                  "can_connect": False}]  # fmt: skip
    checks = pg_privileges.decide(login=MONITOR, read_all_stats=False, catalogs=[], databases=databases)
    fixes = [c.fix for c in checks if c.fix]
    assert fixes == [f"GRANT pg_read_all_stats TO {MONITOR};",
                     f'GRANT CONNECT ON DATABASE "some database" TO {MONITOR};']
    for fix in fixes:
        assert fix in ADAPTERS_DOCS


def test_sqlserver_and_oracle_fixes_are_the_documented_grants():
    documented = {" ".join(line.split("--")[0].split()) for line in SQLSERVER_ORACLE_DOCS.splitlines()}
    row = {"view_any_definition": 0, "view_any_database": 0}
    mssql = [c.fix for c in sqlserver_privileges.decide(login=MONITOR, major_version=15, server=row,
                                                        databases=[{"name": "db", "can_connect": 0}])]  # fmt: skip
    statements = {part.strip() + ";" for fix in mssql for part in fix.split(";") if part.strip()}
    assert statements == {"GRANT VIEW ANY DEFINITION TO [whalefall_monitor];",
                          "GRANT VIEW ANY DATABASE TO [whalefall_monitor];",
                          "GRANT CONNECT ANY DATABASE TO [whalefall_monitor];"}  # fmt: skip
    assert statements <= documented
    (fix,) = {c.fix for c in oracle_privileges.decide(login=MONITOR, roles=[], privileges=[])}
    assert fix in documented

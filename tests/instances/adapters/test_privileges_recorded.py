"""The monitoring-account self-check: the decisions of every engine from rows, and every suggested
GRANT checked against the documented ones.

SQL Server and Oracle run their privilege-check SQL end to end on the emulated catalogs
(test_sqlserver_executed.py, test_oracle_executed.py § the privilege check); MariaDB and PostgreSQL
on the live targets (test_privileges_live.py).
"""

from __future__ import annotations

import re
from pathlib import Path

from instances.adapters.mysql import privileges as mysql_privileges
from instances.adapters.oracle import privileges as oracle_privileges
from instances.adapters.postgresql import privileges as pg_privileges
from instances.adapters.privileges import PrivilegeCheck, PrivilegeReport, ordered
from instances.adapters.sqlserver import privileges as sqlserver_privileges
from tests.live_targets import documented_grants

DOCS = Path(__file__).resolve().parents[3] / "docs"
SQLSERVER_ORACLE_DOCS = (DOCS / "adapters_sqlserver_oracle.md").read_text()
ADAPTERS_DOCS = (DOCS / "adapters.md").read_text()
MONITOR = "whalefall_monitor"


def summary(checks: list[PrivilegeCheck]) -> list[tuple]:
    return [(c.collector, c.target, c.ok, c.fix) for c in checks]


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


def test_odd_login_names_are_quoted_in_the_fixes():
    checks = sqlserver_privileges.decide(login="dom\\mon]itor", major_version=15, databases=[],
                                         server={"view_any_definition": 0, "view_any_database": 1})  # fmt: skip
    assert {c.fix for c in checks if not c.ok} == {"GRANT VIEW ANY DEFINITION TO [dom\\mon]]itor];"}
    assert oracle_privileges.quote_identifier('we"ird-name') == '"we""ird-name"'
    assert oracle_privileges.quote_identifier("WHALEFALL") == "WHALEFALL"

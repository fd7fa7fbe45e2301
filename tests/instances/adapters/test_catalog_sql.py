"""The SQL Server and Oracle catalog SQL against the documented columns of the views it reads.

No SQL Server or Oracle server exists here. Every statement constant of ``instances/adapters/{sqlserver,oracle}/sql.py``
is parsed with sqlglot, each column reference is resolved to its view (or derived
table), and the column must be in ``catalog/*.json`` (transcribed from the vendor
documentation, see ``catalog/README.md``) and not newer than the oldest supported
release. Every statement is also executed on the emulated catalogs (``emulated/``): its rows have
exactly its columns, typed as the drivers return them for the documented column types.
"""

from __future__ import annotations

import functools
from datetime import datetime

import pytest

from instances.adapters.oracle import sql as oracle_sql
from instances.adapters.sqlserver import sql as sqlserver_sql
from tests.instances.adapters import sqlcheck
from tests.instances.adapters.emulated.oracle import Oracle
from tests.instances.adapters.emulated.sqlserver import SQLServer
from tests.instances.adapters.sqlcheck import ORACLE, SQLSERVER, CatalogError
from tests.instances.adapters.statements import StatementError, bind_names, output_columns, tag_of

# Statements the adapter only sends to servers of at least this release; their
# columns may be newer than the minimum supported version, up to this one.
VERSION_GATED = {
    ("oracle", "SERVER_VERSION_FULL"): "18.0",  # OracleFeatures.has_version_full: VERSION_FULL is 18c+
}

CATALOGS = {engine.name: sqlcheck.load_catalog(engine) for engine in (SQLSERVER, ORACLE)}
STATEMENTS = [
    pytest.param(engine, name, id=f"{engine.name}-{name}")
    for engine in (SQLSERVER, ORACLE)
    for name in sorted(sqlcheck.statements(engine))
]


def _text(engine: sqlcheck.Engine, name: str) -> str:
    return sqlcheck.concrete(engine, sqlcheck.statements(engine)[name])


def _check(engine: sqlcheck.Engine, text: str, gated: str | None = None) -> sqlcheck.Checked:
    return sqlcheck.check_statement(CATALOGS[engine.name], text, gated_version=gated)


# --- discovery ------------------------------------------------------------------


def test_every_tagged_constant_is_discovered():
    for engine in (SQLSERVER, ORACLE):
        tagged = {
            name
            for name, value in vars(engine.module).items()
            if isinstance(value, str) and value.startswith("-- whalefall:") and not name.startswith("_")
        }
        assert set(sqlcheck.statements(engine)) == tagged - set(engine.skipped)
    sqlserver = sqlcheck.statements(SQLSERVER)
    assert {"SERVER_PRINCIPALS", "DATABASE_PERMISSIONS", "TABLE_SIZES"} <= set(sqlserver)
    assert "{db}" in sqlserver["DATABASE_PERMISSIONS"]  # per-database templates are checked too
    oracle = sqlcheck.statements(ORACLE)
    assert {"TABLE_SIZES", "USER_TABLE_SIZES"} <= set(oracle) and "_TABLE_SIZES" not in oracle
    assert "USERS_11G" not in oracle


def test_per_database_templates_are_checked_without_their_database_prefix():
    text = _text(SQLSERVER, "DATABASE_PERMISSIONS")
    assert f"[{sqlcheck.TEMPLATE_DATABASE}].sys.database_permissions" in text
    checked = _check(SQLSERVER, text)
    assert {"sys.database_permissions", "sys.all_objects", "sys.all_columns", "sys.schemas"} <= {
        use.view for use in checked.uses
    }


# --- every statement against the catalog ----------------------------------------


@pytest.mark.parametrize(("engine", "name"), STATEMENTS)
def test_statement_reads_only_documented_columns(engine, name):
    checked = _check(engine, _text(engine, name), VERSION_GATED.get((engine.name, name)))
    assert checked.uses or checked.calls  # something was resolved against the catalog
    for use in checked.uses:
        assert use.column in CATALOGS[engine.name].views[use.view]


@pytest.mark.parametrize(
    ("key", "version"), [pytest.param(key, version, id="-".join(key)) for key, version in sorted(VERSION_GATED.items())]
)
def test_version_gates_are_needed_and_sufficient(key, version):
    engine, name = sqlcheck.ENGINES[key[0]], key[1]
    with pytest.raises(CatalogError, match="needs"):
        _check(engine, _text(engine, name))
    assert _check(engine, _text(engine, name), version).uses


def test_derived_table_columns_resolve_to_the_inner_view():
    checked = _check(ORACLE, oracle_sql.USER_TABLE_SIZES)
    assert ("USER_SEGMENTS", "SEGMENT_TYPE") in {(use.view, use.column) for use in checked.uses}
    assert ("ALL_TABLES", "NUM_ROWS") in {(use.view, use.column) for use in checked.uses}
    assert not any(use.view == "USER_SEGMENTS" and use.column == "OWNER" for use in checked.uses)


# --- the checker fails on wrong SQL ---------------------------------------------


def _mutated(text: str, old: str, new: str) -> str:
    assert old in text, f"{old!r} not in the statement: the negative test no longer mutates it"
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("engine", "text", "expected"),
    [
        pytest.param(SQLSERVER, "SELECT sp.is_disabeld FROM sys.server_principals AS sp", "is_disabeld",
                     id="misspelled-qualified"),
        pytest.param(ORACLE, "SELECT usernme FROM dba_users", "usernme", id="misspelled-unqualified"),
        pytest.param(SQLSERVER, _mutated(sqlserver_sql.SERVER_PRINCIPALS, "sp.is_disabled", "sp.is_disable"),
                     "is_disable", id="misspelled-in-real-statement"),
        pytest.param(SQLSERVER,
                     sqlserver_sql.per_database(_mutated(sqlserver_sql.DATABASE_PERMISSIONS, "c.column_id",
                                                         "c.colum_id"), "sales"),
                     "colum_id", id="misspelled-in-per-database-template"),
        pytest.param(ORACLE, _mutated(oracle_sql.USER_TABLE_SIZES, "segment_name, segment_type,",
                                      "segment_name, segment_typ,"),
                     "segment_typ", id="misspelled-in-derived-table"),
        pytest.param(ORACLE, _mutated(oracle_sql.TABLE_SIZES, "MAX(t.num_rows)", "MAX(t.numrows)"),
                     "numrows", id="misspelled-in-outer-query"),
        pytest.param(SQLSERVER, "SELECT ep.is_disabled FROM sys.endpoints AS ep", "is_disabled",
                     id="column-of-another-view"),
        pytest.param(SQLSERVER, "SELECT p.name FROM sys.server_principal AS p", "sys.server_principal",
                     id="unknown-view"),
        pytest.param(SQLSERVER, "SELECT d.is_ledger_on FROM sys.databases AS d", "needs 16.0",
                     id="newer-than-sql-server-2012"),
        pytest.param(ORACLE, "SELECT inherited FROM dba_role_privs", "needs 12.2", id="newer-than-oracle-12.1"),
        pytest.param(SQLSERVER, _mutated(sqlserver_sql.SERVER_PRINCIPALS, "'IsLocked'", "'IsLockedOut'"),
                     "IsLockedOut", id="undocumented-loginproperty"),
        pytest.param(SQLSERVER, _mutated(sqlserver_sql.SERVER_VERSION, "'Edition'", "'Editon'"), "Editon",
                     id="undocumented-serverproperty"),
        pytest.param(SQLSERVER, _mutated(sqlserver_sql.SERVER_PRINCIPALS, "LOGINPROPERTY(sp.name, 'IsLocked')",
                                         "LOGINPROPERTIES(sp.name, 'IsLocked')"),
                     "LOGINPROPERTIES", id="unknown-function"),
    ],
)  # fmt: skip
def test_checker_fails_on_wrong_sql(engine, text, expected):
    with pytest.raises(CatalogError) as caught:
        _check(engine, text)
    assert expected.lower() in str(caught.value).lower()


def test_a_version_gate_admits_the_newer_column():
    checked = _check(SQLSERVER, "SELECT d.is_ledger_on FROM sys.databases AS d", "16.0")
    assert [(use.view, use.column) for use in checked.uses] == [("sys.databases", "is_ledger_on")]


# --- the catalog files themselves -------------------------------------------------


@pytest.mark.parametrize("engine", [SQLSERVER, ORACLE], ids=lambda e: e.name)
def test_catalog_entries_are_sourced_and_typed(engine):
    catalog = CATALOGS[engine.name]
    host = {"sqlserver": "https://learn.microsoft.com/", "oracle": "https://docs.oracle.com/"}[engine.name]
    for name, view in catalog.raw["views"].items():
        assert view["sources"] and all(url.startswith(host) for url in view["sources"]), name
        assert ("same_as" in view) != ("columns" in view), f"{name}: either its own columns or same_as"
    for view, columns in catalog.views.items():
        for column, entry in columns.items():
            sqlcheck.version_key(entry["since"])
            assert catalog.python_types(entry["type"]), f"{view}.{column}: no driver type for {entry['type']}"
    for name, function in catalog.raw.get("functions", {}).items():
        assert function["sources"] and all(url.startswith(host) for url in function["sources"]), name


def test_catalog_versions_follow_the_documentation():
    sqlserver, oracle = CATALOGS["sqlserver"].views, CATALOGS["oracle"].views
    assert sqlserver["sys.databases"]["is_ledger_on"]["since"] == "16.0"
    assert sqlserver["sys.database_principals"]["allow_encrypted_value_modifications"]["since"] == "13.0"
    assert sqlserver["sys.server_principals"]["is_disabled"]["type"] == "int"
    assert oracle["DBA_USERS"]["ORACLE_MAINTAINED"]["since"] == "12.1"
    assert oracle["DBA_USERS"]["AUTHENTICATION_TYPE"]["since"] == "11.2"
    assert oracle["PRODUCT_COMPONENT_VERSION"]["VERSION_FULL"]["since"] == "18.0"
    assert "OWNER" not in oracle["USER_SEGMENTS"] and "BYTES" in oracle["USER_SEGMENTS"]
    assert "PLUGGED_IN" not in oracle["USER_TABLESPACES"] and "CONTENTS" in oracle["USER_TABLESPACES"]
    assert "is_ms_shipped" in sqlserver["sys.tables"] and "is_policy_checked" in sqlserver["sys.sql_logins"]
    assert "name" in sqlserver["sys.sql_logins"]  # inherited from sys.server_principals


# --- every statement executed on the emulated catalogs ---------------------------


@functools.cache  # the statements only read: one catalog per engine for the whole module
def _sqlserver_connection():
    server = SQLServer()
    server.login("monitor")
    server.grant("VIEW ANY DEFINITION", "monitor", state="W")
    server.grant("CONNECT ANY DATABASE", "monitor")
    server.server_role("ops")
    server.add_member("ops", "monitor")
    sales = server.database("sales")
    sales.user("monitor")
    sales.role("readers")
    sales.add_member("readers", "monitor")
    orders = sales.table("dbo", "orders", ("id", "amount"))
    sales.grant("SELECT", "readers", table=orders, column="amount")
    sales.schema("reporting", owner="readers")
    sales.table("dbo", "audit", owner="monitor")
    sales.partition(orders, index_id=1, rows=3, in_row=(2, 1))
    return server.connect(user="monitor", database="sales")


@functools.cache
def _oracle_connection():
    database = Oracle()
    database.user("MONITOR")
    database.grant_role("CONNECT", "MONITOR")
    database.grant_role("SELECT_CATALOG_ROLE", "MONITOR")
    database.grant_object("SELECT", "APP", "ORDERS", "MONITOR")
    database.grant_column("UPDATE", "APP", "ORDERS", "STATUS", "MONITOR")
    database.table("MONITOR", "PROBE", "USERS", 65536, num_rows=1)
    return database.connect(user="MONITOR")


@pytest.mark.parametrize(("engine", "name"), STATEMENTS)
def test_statement_executes_and_returns_driver_typed_rows(engine, name):
    """Each statement runs on the emulated catalog and returns rows; the emulated cursor checks that the
    columns are the statement's and the values have the Python types the driver returns."""
    text = sqlcheck.statements(engine)[name]
    connection = _sqlserver_connection() if engine is SQLSERVER else _oracle_connection()
    if "{db}" in text:
        text = engine.module.per_database(text, "sales")
    cursor = connection.cursor()
    cursor.execute(text, {"tablespace": "USERS"} if bind_names(text, engine.dialect) else None)
    assert [column[0] for column in cursor.description] == list(output_columns(text, engine.dialect))
    assert cursor.fetchall(), f"{name} returned no row on the emulated catalog"
    assert any(sqlcheck.output_types(CATALOGS[engine.name], sqlcheck.concrete(engine, text)))


@pytest.mark.parametrize(
    ("column", "value"),
    [("create_date", "2021-03-04T10:15:00"), ("is_disabled", True), ("principal_id", "259"), ("sid", b"\x01")],
)
def test_type_check_rejects_values_the_driver_would_not_return(column, value):
    row = sqlcheck.driver_row(SQLSERVER, sqlserver_sql.SERVER_PRINCIPALS, principal_id=259, name="sa", type="S",
                              is_disabled=0, sid="01", create_date=datetime(2021, 3, 4, 10, 15))  # fmt: skip
    row = dict(row, **{column: value})
    (mismatch,) = sqlcheck.type_mismatches(SQLSERVER, sqlserver_sql.SERVER_PRINCIPALS, [row])
    assert mismatch.startswith(f"row 0 {column}=")


def test_oracle_types_follow_the_documented_types():
    users = sqlcheck.by_tag(ORACLE, "dba_users")
    types = dict(zip(output_columns(users, "oracle"), sqlcheck.output_types(CATALOGS["oracle"], users), strict=True))
    assert types["CREATED"] == (datetime,) and types["USERNAME"] == (str,) and types["USER_ID"] == (int, float)
    (owner, *_) = sqlcheck.output_types(CATALOGS["oracle"], oracle_sql.USER_TABLE_SIZES)
    assert owner == (str,)  # USER AS owner, through the derived table


# --- the driver's column naming -------------------------------------------------


def test_columns_are_named_like_the_drivers():
    statement = '-- whalefall:t\nSELECT p.grantee, p.owner AS "Mixed", COUNT(*) FROM dba_tab_privs p GROUP BY p.grantee'
    assert output_columns(statement, "oracle") == ("GRANTEE", "Mixed", "COUNT(*)")
    statement = "-- whalefall:t\nSELECT sp.name, sp.type AS Kind, COUNT(*) FROM sys.server_principals AS sp"
    assert output_columns(statement, "tsql") == ("name", "Kind", "")
    with pytest.raises(StatementError, match="whalefall"):
        tag_of("SELECT 1 AS one")
    with pytest.raises(StatementError, match="Duplicate"):
        output_columns("-- whalefall:t\nSELECT a.x, b.x FROM a, b", "tsql")


def test_driver_rows_are_validated_against_the_statement():
    statement = sqlcheck.by_tag(SQLSERVER, "server_role_members")
    assert sqlcheck.driver_row(SQLSERVER, statement, role_name="sysadmin", member_name="sa") == {
        "role_name": "sysadmin", "member_name": "sa", "member_type": None,
    }  # fmt: skip
    with pytest.raises(CatalogError, match="has no columns"):
        sqlcheck.driver_row(SQLSERVER, statement, role="sysadmin")
    with pytest.raises(CatalogError, match="the driver returns str"):
        sqlcheck.driver_row(SQLSERVER, statement, role_name=1)

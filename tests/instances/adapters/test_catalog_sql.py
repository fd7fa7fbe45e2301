"""The SQL Server and Oracle catalog SQL against the documented columns of the views it reads.

No SQL Server or Oracle server exists here, so the statements are never run.
Instead every statement constant of ``instances/adapters/{sqlserver,oracle}/sql.py``
is parsed with sqlglot, each column reference is resolved to its view (or derived
table), and the column must be in ``catalog/*.json`` (transcribed from the vendor
documentation, see ``catalog/README.md``) and not newer than the oldest supported
release. The recorded fixtures must match the statements' columns and hold the
Python types the drivers return for the documented column types.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest

from instances.adapters.oracle import sql as oracle_sql
from instances.adapters.sqlserver import sql as sqlserver_sql
from tests.instances.adapters import fake_dbapi, sqlcheck
from tests.instances.adapters.fake_dbapi import FakeConnection, FakeDBError, output_columns
from tests.instances.adapters.sqlcheck import ORACLE, SQLSERVER, CatalogError

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


# --- fixtures: the statement's columns, typed as the driver returns them ---------


def _fixture_rows(engine: sqlcheck.Engine, text: str) -> list[dict]:
    recorded = fake_dbapi.load_fixture(engine.dialect, fake_dbapi.tag_of(text))
    if isinstance(recorded, dict):  # per-database: {database: rows}
        return [row for rows in recorded.values() for row in rows]
    return recorded


@pytest.mark.parametrize(("engine", "name"), STATEMENTS)
def test_fixture_rows_have_exactly_the_statement_columns(engine, name):
    text = _text(engine, name)
    columns = set(output_columns(text, engine.dialect))
    rows = _fixture_rows(engine, text)
    assert rows, f"{fake_dbapi.fixture_path(engine.dialect, fake_dbapi.tag_of(text)).name} records no rows"
    for row in rows:
        assert set(row) == columns


@pytest.mark.parametrize(("engine", "name"), STATEMENTS)
def test_fixture_values_have_the_driver_types(engine, name):
    text = _text(engine, name)
    assert any(sqlcheck.output_types(CATALOGS[engine.name], text))  # at least one column's type is known
    assert sqlcheck.type_mismatches(engine, text, _fixture_rows(engine, text)) == []


@pytest.mark.parametrize(
    ("column", "value"),
    [("create_date", "2021-03-04T10:15:00"), ("is_disabled", True), ("principal_id", "259"), ("sid", b"\x01")],
)
def test_type_check_rejects_values_the_driver_would_not_return(column, value):
    (row, *_) = fake_dbapi.load_fixture("tsql", "server_principals")
    row = dict(row, **{column: value})
    (mismatch,) = sqlcheck.type_mismatches(SQLSERVER, sqlserver_sql.SERVER_PRINCIPALS, [row])
    assert mismatch.startswith(f"row 0 {column}=")


def test_oracle_types_follow_the_documented_types():
    users = sqlcheck.by_tag(ORACLE, "dba_users")
    types = dict(zip(output_columns(users, "oracle"), sqlcheck.output_types(CATALOGS["oracle"], users), strict=True))
    assert types["CREATED"] == (datetime,) and types["USERNAME"] == (str,) and types["USER_ID"] == (int, float)
    (owner, *_) = sqlcheck.output_types(CATALOGS["oracle"], oracle_sql.USER_TABLE_SIZES)
    assert owner == (str,)  # USER AS owner, through the derived table


# --- the fixture loader and the fake DB-API --------------------------------------


def test_typed_markers_are_decoded():
    decoded = fake_dbapi.decode_fixture_text(
        '[{"a": {"$datetime": "2019-03-01T10:00:00"}, "b": {"$bytes": "0105"}, "c": {"$decimal": "1.5"},'
        ' "d": {"$date": "2019-03-01"}, "e": {"plain": 1}}]'
    )
    assert decoded == [
        {"a": datetime(2019, 3, 1, 10, 0), "b": b"\x01\x05", "c": Decimal("1.5"), "d": date(2019, 3, 1),
         "e": {"plain": 1}}
    ]  # fmt: skip


@pytest.mark.parametrize("text", ['{"$timestamp": "2019"}', '{"$datetime": "2019-03-01", "x": 1}'])
def test_unknown_or_mixed_markers_are_rejected(text):
    with pytest.raises(FakeDBError, match="marker"):
        fake_dbapi.decode_fixture_text(text)


def _replay(dialect: str, statement: str, rows, params=None):
    connection = FakeConnection({fake_dbapi.tag_of(statement): rows}, dialect=dialect)
    cursor = connection.cursor()
    cursor.execute(statement, params)
    return [column[0] for column in cursor.description], cursor.fetchall()


def test_fake_names_columns_like_the_drivers():
    statement = '-- whalefall:t\nSELECT p.grantee, p.owner AS "Mixed", COUNT(*) FROM dba_tab_privs p GROUP BY p.grantee'
    row = {"GRANTEE": "A", "Mixed": "B", "COUNT(*)": 1}
    assert _replay("oracle", statement, [row]) == (["GRANTEE", "Mixed", "COUNT(*)"], [("A", "B", 1)])
    statement = "-- whalefall:t\nSELECT sp.name, sp.type AS Kind, COUNT(*) FROM sys.server_principals AS sp"
    row = {"name": "sa", "Kind": "S", "": 1}
    assert _replay("tsql", statement, [row]) == (["name", "Kind", ""], [("sa", "S", 1)])


@pytest.mark.parametrize(
    ("row", "problem"),
    [({"TABLESPACE_NAME": "USERS"}, r"missing \['BYTES'\]"),
     ({"TABLESPACE_NAME": "USERS", "BYTES": 1, "FILE_COUNT": 1}, r"extra \['FILE_COUNT'\]"),
     ({"tablespace_name": "USERS", "bytes": 1}, "missing")],
)  # fmt: skip
def test_fake_rejects_rows_that_do_not_match_the_statement(row, problem):
    with pytest.raises(FakeDBError, match=problem):
        _replay("oracle", oracle_sql.SEGMENT_BYTES, [row])


def test_fake_checks_oracle_binds_and_picks_per_database_rows():
    with pytest.raises(FakeDBError, match="Bind variables"):
        _replay("oracle", oracle_sql.TABLE_SIZES, [], {"tablespaces": "USERS"})
    assert _replay("oracle", oracle_sql.TABLE_SIZES, [], {"tablespace": "USERS"})[1] == []
    statement = sqlserver_sql.per_database(sqlserver_sql.DATABASE_ROLE_MEMBERS, "we]ird")
    rows = {"we]ird": [{"role_name": "db_owner", "member_name": "dbo", "member_type": "S"}], "other": []}
    assert _replay("tsql", statement, rows)[1] == [("db_owner", "dbo", "S")]
    with pytest.raises(FakeDBError, match="no recorded rows for database 'x'"):
        _replay("tsql", sqlserver_sql.per_database(sqlserver_sql.DATABASE_ROLE_MEMBERS, "x"), rows)


def test_fake_rejects_untagged_and_unrecorded_statements():
    connection = FakeConnection({}, dialect="tsql")
    with pytest.raises(FakeDBError, match="whalefall"):
        connection.cursor().execute("SELECT 1 AS one")
    with pytest.raises(FakeDBError, match=re.escape("No recorded response for statement tag 'server_version'")):
        connection.cursor().execute(sqlserver_sql.SERVER_VERSION)


def test_driver_rows_are_validated_against_the_statement():
    statement = sqlcheck.by_tag(SQLSERVER, "server_role_members")
    assert sqlcheck.driver_row(SQLSERVER, statement, role_name="sysadmin", member_name="sa") == {
        "role_name": "sysadmin", "member_name": "sa", "member_type": None,
    }  # fmt: skip
    with pytest.raises(CatalogError, match="has no columns"):
        sqlcheck.driver_row(SQLSERVER, statement, role="sysadmin")
    with pytest.raises(CatalogError, match="the driver returns str"):
        sqlcheck.driver_row(SQLSERVER, statement, role_name=1)

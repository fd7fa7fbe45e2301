"""parse.py of the MySQL adapter: recorded catalog rows → dataclasses, no database."""

from __future__ import annotations

import json

from instances.adapters.base import AccountFacts, DatabaseSize, Privilege, TableSize
from instances.adapters.mysql import parse, sql
from instances.adapters.mysql.features import MySQLFeatures

NO_PRIVS = {column: "N" for column in sql.USER_PRIV_COLUMNS}


def user(name: str, host: str = "%", **columns) -> dict:
    row = {"Host": host, "User": name, "plugin": "mysql_native_password", "password_expired": "N", **NO_PRIVS}
    row.update(columns)
    return row


# Shaped like MariaDB 10.11's ``accounts_sql`` output (JSON_VALUE gives '1' for true).
MARIADB_USERS = [
    user("alice", is_role="N", default_role="", account_locked=None, access="0"),
    user("bob", "localhost", is_role="N", default_role="", account_locked="1", access="3"),
    user("dba", Super_priv="Y", Grant_priv="Y", Process_priv="Y", is_role="N", default_role="", access="1"),
    user("reader", "", is_role="Y", default_role="", account_locked=None, access="0"),
    user("base", "", Super_priv="Y", is_role="Y", default_role="", account_locked=None, access="0"),
]
MARIADB_DB = [{"Host": "localhost", "User": "bob", "Db": "app", "Select_priv": "Y", "Insert_priv": "Y",
               "Grant_priv": "N", "Delete_priv": "N"}]  # fmt: skip
MARIADB_TABLES = [
    {"Host": "%", "User": "alice", "Db": "app", "Table_name": "t2", "Table_priv": "Insert,Grant"},
    {"Host": "%", "User": "alice", "Db": "app", "Table_name": "t", "Table_priv": ""},
]
MARIADB_COLUMNS = [
    {"Host": "%", "User": "alice", "Db": "app", "Table_name": "t", "Column_name": "note", "Column_priv": "Select"}
]
MARIADB_ROLES = [
    {"Host": "%", "User": "alice", "Role": "reader", "Admin_option": "N"},
    {"Host": "", "User": "reader", "Role": "base", "Admin_option": "N"},
]


def mariadb_accounts() -> dict[str, AccountFacts]:
    accounts = parse.parse_accounts(
        MARIADB_USERS, MARIADB_DB, MARIADB_TABLES, MARIADB_COLUMNS, parse.mariadb_role_grants(MARIADB_ROLES),
        mariadb=True,
    )  # fmt: skip
    return {a.username: a for a in accounts}


def test_mariadb_roles_are_not_accounts_but_inherited():
    accounts = mariadb_accounts()
    assert list(accounts) == ["alice", "bob", "dba"]
    assert accounts["alice"].roles == ("base", "reader")
    assert accounts["alice"].is_superuser  # SUPER held by role base, reachable via reader


def test_mariadb_table_column_and_database_privileges():
    alice, bob = mariadb_accounts()["alice"], mariadb_accounts()["bob"]
    assert alice.privileges == (
        Privilege("object", "INSERT", "app.t2", True),
        Privilege("column", "SELECT", "app.t.note", False),
    )
    assert alice.can_grant
    assert bob.privileges == (Privilege("database", "INSERT", "app"), Privilege("database", "SELECT", "app"))
    assert bob.is_locked and not bob.can_login and not bob.can_grant


def test_mariadb_global_privileges_and_snapshot():
    dba = mariadb_accounts()["dba"]
    assert dba.is_superuser and dba.can_grant
    assert dba.privileges == (Privilege("global", "PROCESS", "", True), Privilege("global", "SUPER", "", True))
    assert dba.snapshot == {
        "engine": "mariadb", "plugin": "mysql_native_password", "password_expired": False,
        "account_locked": False, "direct_roles": [], "default_role": "", "access": 1,
    }  # fmt: skip
    json.dumps(mariadb_accounts()["alice"].snapshot)


def test_mysql8_role_edges_default_roles_and_dynamic_privileges():
    users = [
        user("app", account_locked="N", password_expired="N"),
        user("r_admin", account_locked="Y", password_expired="Y"),
    ]
    edges = [{"FROM_HOST": "%", "FROM_USER": "r_admin", "TO_HOST": "%", "TO_USER": "app", "WITH_ADMIN_OPTION": "Y"}]
    defaults = [{"HOST": "%", "USER": "app", "DEFAULT_ROLE_HOST": "%", "DEFAULT_ROLE_USER": "r_admin"}]
    dynamic = [{"USER": "app", "HOST": "%", "PRIV": "SYSTEM_VARIABLES_ADMIN", "WITH_GRANT_OPTION": "N"}]
    accounts = parse.parse_accounts(
        users, role_grants=parse.mysql_role_grants(edges), default_roles=defaults, dynamic_privs=dynamic,
        mariadb=False,
    )  # fmt: skip
    assert [a.username for a in accounts] == ["app"]  # r_admin is a role (granted in role_edges)
    app = accounts[0]
    assert app.roles == ("r_admin",) and app.can_grant  # WITH ADMIN OPTION
    assert app.privileges == (Privilege("global", "SYSTEM_VARIABLES_ADMIN", "", False),)
    assert app.snapshot["default_roles"] == ["r_admin"]
    assert parse.role_label(("r", "10.0.0.1"), mariadb=False) == "r@10.0.0.1"


def test_privilege_names():
    assert parse.privilege_name("Create_tmp_table_priv") == "CREATE TEMPORARY TABLES"
    assert parse.privilege_name("Show_view_priv") == "SHOW VIEW"
    assert parse.privilege_name("Repl_client_priv") == "REPLICATION CLIENT"


def test_sizes():
    assert parse.parse_database_sizes([{"name": "app", "data_bytes": 16384, "index_bytes": 32768},
                                       {"name": "empty", "data_bytes": 0, "index_bytes": 0}]) == [
        DatabaseSize("app", 49152, 16384), DatabaseSize("empty", 0, 0)]  # fmt: skip
    rows = [{"table_schema": "app", "table_name": "v", "data_bytes": None, "index_bytes": None, "row_count": None}]
    assert parse.parse_table_sizes(rows) == [TableSize("app", "v", 0, 0, 0, None)]


def test_features_from_handshake_version():
    mariadb = MySQLFeatures("5.5.5-10.11.19-MariaDB-0+deb12u1")
    assert mariadb.is_mariadb and mariadb.version == (10, 11, 19)
    assert mariadb.has_global_priv and mariadb.has_roles_mapping and not mariadb.has_role_edges
    mysql8 = MySQLFeatures("8.0.36")
    assert mysql8.has_role_edges and mysql8.has_account_locked_column and mysql8.has_dynamic_privileges
    assert "global_priv" not in sql.accounts_sql(mysql8) and "account_locked" in sql.accounts_sql(mysql8)
    assert "authentication_string" not in sql.accounts_sql(mariadb)

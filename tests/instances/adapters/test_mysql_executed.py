"""The MySQL adapter's MySQL 5.7 / 8.0 / 8.4 catalog SQL, *executed* against MySQL-shaped grant
tables in a scratch schema of the live MariaDB (tests/instances/adapters/emulated/mysql_server.py:
the DDL from the MySQL Reference Manual, and the one hook that substitutes the schema name).

The scenario is written in the manual's statements (8.4 Reference Manual, 8.2.10 "Using Roles",
8.2.12 "Privilege Restriction Using Partial Revokes", 15.7.1.6 "GRANT Statement", 8.2.2
"Privileges Provided by MySQL"); the rows are what those statements store, and the expected
facts are written by hand from the same pages — never from the parser's output. The adapter
runs end to end: ``read_account_rows`` (its SQL) then ``parse_account_rows``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pymysql
import pytest

from instances.adapters.base import PasswordPolicy
from instances.adapters.matching import holds
from instances.adapters.mysql import sql
from instances.adapters.mysql.adapter import MySQLAdapter
from instances.adapters.mysql.features import MySQLFeatures
from tests.instances.adapters.emulated.mysql_server import MySQLServer
from tests.live_targets import MYSQL_HOST, MYSQL_PORT, mysql_params

pytestmark = pytest.mark.live

VERSIONS = ("8.0.36", "8.4.3")
LOCAL = "localhost"


def adapter(server: MySQLServer, user: str = "root", password: str = "") -> MySQLAdapter:
    """The real adapter; only its connection is the emulated server's (handshake version and
    the schema-name hook), opened as ``user`` on the MariaDB that holds the scratch schema."""
    instance = MySQLAdapter(mysql_params(user, password))

    def open_connection(database: str):
        conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=user, password=password, connect_timeout=5,
                               charset="utf8mb4", autocommit=True)  # fmt: skip
        return server.connection(conn)

    instance.open_connection = open_connection
    return instance


def build(server: MySQLServer) -> MySQLServer:
    """8.2.10 "Using Roles" (its app_read / app_write example, plus a role granted to a role),
    a dynamic privilege WITH GRANT OPTION, a partial revoke, a locked account, table and column
    grants, a role usable only after SET ROLE, the validate_password component."""
    s = server
    # CREATE ROLE 'app_read', 'app_write', 'app_rw', 'ops'; CREATE ROLE 'local_role'@'localhost'
    for role in ("app_read", "app_write", "app_rw", "ops", "never_granted"):
        s.create_role(role)
    s.create_role("local_role", LOCAL)
    s.grant_database("app_read", "%", "app_db", "SELECT")  # GRANT SELECT ON app_db.* TO app_read
    s.grant_database("app_write", "%", "app_db", "INSERT", "UPDATE", "DELETE")
    s.grant_role(("app_read", "%"), ("app_rw", "%"))  # GRANT app_read, app_write TO app_rw (role to role)
    s.grant_role(("app_write", "%"), ("app_rw", "%"))
    s.grant_global("ops", "%", "RELOAD")  # GRANT RELOAD ON *.* TO ops
    s.grant_dynamic("ops", "%", "BACKUP_ADMIN")  # GRANT BACKUP_ADMIN ON *.* TO ops
    s.grant_table("local_role", LOCAL, "app_db", "audit", "SELECT")

    # CREATE USER 'read_user1'@'localhost'; GRANT app_read TO …; SET DEFAULT ROLE app_read TO …
    s.create_user("read_user1", LOCAL)
    s.grant_role(("app_read", "%"), ("read_user1", LOCAL))
    s.set_default_role(("read_user1", LOCAL), ("app_read", "%"))
    # rw_user1: app_rw, its default role (app_read and app_write reached through it)
    s.create_user("rw_user1", LOCAL)
    s.grant_role(("app_rw", "%"), ("rw_user1", LOCAL))
    s.set_default_role(("rw_user1", LOCAL), ("app_rw", "%"))
    # dev1: app_write and ops WITH ADMIN OPTION, no default role: both need SET ROLE
    s.create_user("dev1", LOCAL)
    s.grant_role(("app_write", "%"), ("dev1", LOCAL))
    s.grant_role(("ops", "%"), ("dev1", LOCAL), admin_option=True)
    s.grant_role(("local_role", LOCAL), ("dev1", LOCAL))
    s.set_default_role(("dev1", LOCAL), ("local_role", LOCAL))
    # reporter: app_read granted, not a default role (SET ROLE app_read before it counts)
    s.create_user("reporter")
    s.grant_role(("app_read", "%"), ("reporter", "%"))
    # role_manager: GRANT ROLE_ADMIN ON *.* (may grant any role, 15.7.1.6)
    s.create_user("role_manager")
    s.grant_dynamic("role_manager", "%", "ROLE_ADMIN")
    # backup_op: GRANT BACKUP_ADMIN ON *.* TO backup_op WITH GRANT OPTION
    s.create_user("backup_op")
    s.grant_dynamic("backup_op", "%", "BACKUP_ADMIN", grant_option=True)
    # etl: GRANT SELECT, INSERT ON *.*; SET PERSIST partial_revokes = ON; REVOKE INSERT ON mysql.* FROM etl
    s.set_global("partial_revokes", "ON")
    s.create_user("etl")
    s.grant_global("etl", "%", "SELECT", "INSERT")
    s.partial_revoke("etl", "%", "mysql", "INSERT")
    # Partial revokes and roles, as MySQL's own test suite records them (mysql-test auth_sec
    # partial_revokes_add_remove, "Tests related to roles"): a role's restriction applies to its
    # grantee; a user's unrestricted global grant is not narrowed by a role's restriction; a
    # user's restriction is lifted by a role's unrestricted global grant. All roles by default.
    s.create_role("reader_but_hr")  # GRANT SELECT ON *.* TO reader_but_hr; REVOKE SELECT ON hr.* FROM reader_but_hr
    s.grant_global("reader_but_hr", "%", "SELECT")
    s.partial_revoke("reader_but_hr", "%", "hr", "SELECT")
    s.create_role("reader_all")  # GRANT SELECT ON *.* TO reader_all
    s.grant_global("reader_all", "%", "SELECT")
    for user, own, role in (("auditor", None, "reader_but_hr"), ("auditor_global", "all", "reader_but_hr"),
                            ("auditor_lifted", "but_hr", "reader_all")):  # fmt: skip
        s.create_user(user)
        if own:
            s.grant_global(user, "%", "SELECT")
        if own == "but_hr":
            s.partial_revoke(user, "%", "hr", "SELECT")
        s.grant_role((role, "%"), (user, "%"))
        s.set_default_role((user, "%"), (role, "%"))
    # a dual password (ALTER USER … RETAIN CURRENT PASSWORD, 8.2.15) keeps a second hash in User_attributes
    s.set_user_attribute("etl", "%", "additional_password", "$A$005$second-hash")
    # CREATE USER locked_user ACCOUNT LOCK
    s.create_user("locked_user", locked=True)
    # analyst: GRANT SELECT ON app_db.orders … WITH GRANT OPTION; GRANT SELECT (name) ON app_db.customers;
    # GRANT EXECUTE, ALTER ROUTINE ON PROCEDURE app_db.refresh … WITH GRANT OPTION
    s.create_user("analyst")
    s.grant_table("analyst", "%", "app_db", "orders", "SELECT", grant_option=True)
    s.grant_column("analyst", "%", "app_db", "customers", "name", "SELECT")
    s.grant_routine("analyst", "%", "app_db", "refresh", "Execute", "Alter Routine", "Grant")
    # CREATE USER sock IDENTIFIED WITH auth_socket (no stored password)
    s.create_user("sock", LOCAL, plugin="auth_socket")
    # INSTALL COMPONENT 'file://component_validate_password'
    s.install_validate_password()
    return s


@pytest.fixture(scope="module", params=VERSIONS)
def server(request, mysql_admin_conn) -> Iterator[MySQLServer]:
    emulated = MySQLServer(mysql_admin_conn, request.param)
    try:
        yield build(emulated)
    finally:
        emulated.drop()


@pytest.fixture(scope="module")
def accounts(server) -> dict:
    return {(a.username, a.host): a for a in adapter(server).fetch_accounts()}


def grants(account) -> set[tuple]:
    """(level, privilege, target, grantable, via, via_set_role) of every effective privilege."""
    return {(p.level, p.privilege, p.target, p.grantable, p.via, p.via_set_role) for p in account.privileges}


def test_the_statements_run_against_the_scratch_schema(server):
    instance = adapter(server)
    server.statements.clear()
    server.session_settings.clear()
    instance.read_account_rows()
    tables = {t.removeprefix("mysql.") for t in sql.account_tables(MySQLFeatures(server.version))}
    assert tables == {"user", "db", "tables_priv", "columns_priv", "procs_priv", "role_edges", "default_roles",
                      "global_grants"}  # fmt: skip
    read = " ".join(server.statements)
    for table in tables:
        assert f"mysql.{table}" in read
    # docs/adapters.md: 10 catalog queries on MySQL 8, whatever the number of accounts (+ the session setup)
    assert len(server.statements) - len(server.session_settings) == 10
    assert server.session_settings == [f"SET SESSION MAX_EXECUTION_TIME = %s ← {(30 * 1000,)!r}",
                                       "SET SESSION information_schema_stats_expiry = 0"]  # fmt: skip


def test_accounts_are_the_users_and_roles_are_the_granted_side_of_role_edges(accounts):
    # never_granted was created by CREATE ROLE but granted to no one: MySQL stores no other
    # marker (a locked mysql.user row), so it is listed as a locked account (docs/adapters.md).
    assert sorted(accounts) == [
        ("analyst", "%"), ("auditor", "%"), ("auditor_global", "%"), ("auditor_lifted", "%"), ("backup_op", "%"),
        ("dev1", LOCAL), ("etl", "%"), ("locked_user", "%"),
        ("mysql.infoschema", LOCAL), ("mysql.session", LOCAL), ("mysql.sys", LOCAL), ("never_granted", "%"),
        ("read_user1", LOCAL), ("reporter", "%"), ("role_manager", "%"), ("root", LOCAL), ("rw_user1", LOCAL),
        ("sock", LOCAL),
    ]  # fmt: skip
    assert accounts[("never_granted", "%")].is_locked


def test_a_default_role_is_active_at_login(accounts):
    account = accounts[("read_user1", LOCAL)]
    assert account.roles == ("app_read",)
    assert grants(account) == {("database", "SELECT", "app_db", False, ("app_read",), False)}
    assert account.snapshot["default_roles"] == ["app_read"]
    assert account.snapshot["direct_roles"] == [{"role": "app_read", "admin_option": False, "active_at_login": True}]


def test_roles_granted_to_a_role_are_active_with_it(accounts):
    account = accounts[("rw_user1", LOCAL)]
    assert account.roles == ("app_read", "app_rw", "app_write")
    assert grants(account) == {
        ("database", "SELECT", "app_db", False, ("app_rw", "app_read"), False),
        ("database", "INSERT", "app_db", False, ("app_rw", "app_write"), False),
        ("database", "UPDATE", "app_db", False, ("app_rw", "app_write"), False),
        ("database", "DELETE", "app_db", False, ("app_rw", "app_write"), False),
    }
    assert holds(account.privileges, "DELETE", "object", "app_db.t", db_type="mysql")


def test_a_role_that_is_not_a_default_role_counts_only_after_set_role(accounts, server):
    account = accounts[("reporter", "%")]
    assert grants(account) == {("database", "SELECT", "app_db", False, ("app_read",), True)}
    assert not holds(account.privileges, "SELECT", "database", "app_db", db_type="mysql")
    assert holds(account.privileges, "SELECT", "database", "app_db", db_type="mysql", include_set_role=True)


def test_admin_option_a_role_host_and_roles_needing_set_role(accounts):
    account = accounts[("dev1", LOCAL)]
    assert account.roles == ("app_write", "local_role@localhost", "ops")
    assert grants(account) == {
        ("global", "RELOAD", "", False, ("ops",), True),
        ("global", "BACKUP_ADMIN", "", False, ("ops",), True),
        ("database", "INSERT", "app_db", False, ("app_write",), True),
        ("database", "UPDATE", "app_db", False, ("app_write",), True),
        ("database", "DELETE", "app_db", False, ("app_write",), True),
        ("object", "SELECT", "app_db.audit", False, ("local_role@localhost",), False),
    }
    # GRANT ops TO dev1 WITH ADMIN OPTION: dev1 may grant ops (15.7.1.6, "Granting Roles")
    assert account.can_grant and account.reasons["can_grant"] == ("ADMIN OPTION on role ops",)
    assert account.snapshot["default_roles"] == ["local_role@localhost"]


def test_a_dynamic_privilege_with_grant_option(accounts):
    account = accounts[("backup_op", "%")]
    assert grants(account) == {("global", "BACKUP_ADMIN", "", True, (), False)}
    assert account.can_grant and account.reasons["can_grant"] == ("BACKUP_ADMIN on *.* WITH GRANT OPTION",)
    assert not account.is_superuser


def test_role_admin_lets_the_account_grant_any_role(accounts):
    account = accounts[("role_manager", "%")]
    assert grants(account) == {("global", "ROLE_ADMIN", "", False, (), False)}
    assert account.can_grant and account.reasons["can_grant"] == ("ROLE_ADMIN on *.*",)


def test_a_partial_revoke_removes_the_global_privilege_on_that_database_only(accounts):
    """8.2.12: GRANT SELECT, INSERT ON *.* then REVOKE INSERT ON mysql.*: "u1 can [not] insert
    into tables in the mysql schema" and keeps INSERT everywhere else, SELECT everywhere."""
    privileges = accounts[("etl", "%")].privileges
    assert holds(privileges, "INSERT", "database", "app_db", db_type="mysql")
    assert holds(privileges, "SELECT", "object", "mysql.user", db_type="mysql")
    assert not holds(privileges, "INSERT", "database", "mysql", db_type="mysql")
    assert not holds(privileges, "INSERT", "object", "mysql.user", db_type="mysql")
    assert ("database", "INSERT", "mysql", False, (), False) in {
        (p.level, p.privilege, p.target, p.grantable, p.via, p.via_set_role) for p in privileges if p.state == "DENY"
    }


def test_partial_revokes_and_roles(accounts):
    """Privileges are a union over the account and its active roles; each holder's restriction
    narrows only its own global grant (MySQL's auth_sec partial_revokes_add_remove, roles 5–7)."""

    def select_on(user: str, db: str) -> bool:
        return bool(holds(accounts[(user, "%")].privileges, "SELECT", "object", f"{db}.t", db_type="mysql"))

    assert select_on("auditor", "app_db") and not select_on("auditor", "hr")  # the role's restriction applies
    assert select_on("auditor_global", "hr")  # the user's own global SELECT is not narrowed by the role's
    assert select_on("auditor_lifted", "hr")  # the role's unrestricted global SELECT lifts the user's
    assert ("database", "SELECT", "hr", False, ("reader_but_hr",), False) in {
        (p.level, p.privilege, p.target, p.grantable, p.via, p.via_set_role)
        for p in accounts[("auditor", "%")].privileges
        if p.state == "DENY"
    }


def test_the_rest_of_user_attributes_is_never_read(accounts):
    """A dual password's second hash lives in User_attributes: only Restrictions is selected."""
    assert "second-hash" not in json.dumps(accounts[("etl", "%")].snapshot)
    text = sql.accounts_sql(MySQLFeatures("8.0.36"))
    assert "User_attributes" not in text.replace("JSON_EXTRACT(u.User_attributes, '$.Restrictions')", "")


def test_account_lock_password_expiry_and_root(accounts):
    locked = accounts[("locked_user", "%")]
    assert locked.is_locked and not locked.can_login and locked.reasons["is_locked"] == ("ACCOUNT LOCK",)
    assert accounts[("mysql.sys", LOCAL)].is_locked
    root = accounts[("root", LOCAL)]
    assert root.is_superuser and root.can_grant and not root.is_locked
    assert ("global", "SUPER", "", True, (), False) in grants(root)
    assert ("global", "CREATE ROLE", "", True, (), False) in grants(root)
    assert not accounts[("read_user1", LOCAL)].snapshot["password_expired"]


def test_table_column_and_routine_grants(accounts):
    account = accounts[("analyst", "%")]
    assert grants(account) == {
        ("object", "SELECT", "app_db.orders", True, (), False),
        ("column", "SELECT", "app_db.customers.name", False, (), False),
        ("object", "EXECUTE", "app_db.refresh", True, (), False),
        ("object", "ALTER ROUTINE", "app_db.refresh", True, (), False),
    }
    assert account.can_grant and set(account.reasons["can_grant"]) == {
        "SELECT on object app_db.orders WITH GRANT OPTION", "EXECUTE on object app_db.refresh WITH GRANT OPTION",
        "ALTER ROUTINE on object app_db.refresh WITH GRANT OPTION"}  # fmt: skip


def test_validate_password_component(accounts):
    expected = PasswordPolicy(True, "validate_password is installed (policy MEDIUM, length 8)")
    assert accounts[("etl", "%")].password_policy == expected
    assert accounts[("sock", LOCAL)].password_policy.enforced is None


def test_activate_all_roles_on_login_makes_every_granted_role_active(server):
    """7.1.8: with activate_all_roles_on_login ON, every granted role is active at login."""
    server.set_global("activate_all_roles_on_login", "ON")
    try:
        accounts = {(a.username, a.host): a for a in adapter(server).fetch_accounts()}
    finally:
        server.set_global("activate_all_roles_on_login", "OFF")
    reporter = accounts[("reporter", "%")]
    assert grants(reporter) == {("database", "SELECT", "app_db", False, ("app_read",), False)}
    assert reporter.snapshot["activate_all_roles_on_login"] is True


def test_mandatory_roles_are_granted_to_every_account(server):
    """8.2.10 "Defining Mandatory Roles": SET PERSIST mandatory_roles = 'app_read,`local_role`@`localhost`'
    grants them to every account; like any granted role they are active only as default roles or
    with activate_all_roles_on_login, else after SET ROLE."""
    server.set_global("mandatory_roles", "app_read,`local_role`@`localhost`")
    try:
        accounts = {(a.username, a.host): a for a in adapter(server).fetch_accounts()}
        server.set_global("activate_all_roles_on_login", "ON")
        active = {(a.username, a.host): a for a in adapter(server).fetch_accounts()}
    finally:
        server.set_global("mandatory_roles", "")
        server.set_global("activate_all_roles_on_login", "OFF")
    assert grants(accounts[("backup_op", "%")]) == {
        ("global", "BACKUP_ADMIN", "", True, (), False),
        ("database", "SELECT", "app_db", False, ("app_read",), True),
        ("object", "SELECT", "app_db.audit", False, ("local_role@localhost",), True),
    }
    assert accounts[("backup_op", "%")].roles == ("app_read", "local_role@localhost")
    # read_user1 holds app_read already, as its default role: still active; local_role after SET ROLE
    assert grants(accounts[("read_user1", LOCAL)]) == {
        ("database", "SELECT", "app_db", False, ("app_read",), False),
        ("object", "SELECT", "app_db.audit", False, ("local_role@localhost",), True),
    }
    assert ("database", "SELECT", "app_db", False, ("app_read",), False) in grants(active[("backup_op", "%")])
    assert ("never_granted", "%") in accounts and ("app_read", "%") not in accounts


def test_no_validate_password_component(mysql_admin_conn):
    server = MySQLServer(mysql_admin_conn, "8.4.3")
    try:
        server.create_user("plain")
        (account,) = [a for a in adapter(server).fetch_accounts() if a.username == "plain"]
    finally:
        server.drop()
    assert account.password_policy == PasswordPolicy(False, "validate_password (component or plugin) is not installed")


def test_check_privileges_probes_the_mysql8_tables(server, mysql_scratch, run_prefix):
    """``check_privileges`` on MySQL 8 reads each table of ``sql.account_tables`` with LIMIT 0 (the
    scratch copies, through the hook): an account that may not read role_edges gets a failing
    check naming mysql.role_edges and its GRANT."""
    user, password = f"{run_prefix}my8mon", "Mon-1tor-pass"
    mysql_scratch.later(f"DROP USER IF EXISTS '{user}'@'%'")
    mysql_scratch.run(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
    mysql_scratch.run(f"GRANT SHOW VIEW ON *.* TO '{user}'@'%'")
    for table in ("user", "db", "tables_priv", "columns_priv", "procs_priv", "default_roles", "global_grants"):
        mysql_scratch.run(f"GRANT SELECT ON {server.table(table)} TO '{user}'@'%'")
    checks = {(c.collector, c.target): c for c in adapter(server, user, password).check_privileges()}
    role_edges = checks[("account_sync", "mysql.role_edges")]
    assert not role_edges.ok and role_edges.fix == f"GRANT SELECT ON mysql.role_edges TO '{user}'@'%';"
    assert [t for (collector, t), c in checks.items() if collector == "account_sync" and c.ok] == [
        "mysql.user", "mysql.db", "mysql.tables_priv", "mysql.columns_priv", "mysql.procs_priv",
        "mysql.default_roles", "mysql.global_grants",
    ]  # fmt: skip
    assert not checks[("database_sizes", "")].ok and checks[("table_sizes", "")].ok


# --- MySQL 5.7: no roles, no dynamic privileges, no User_attributes ----------------------------------
@pytest.fixture(scope="module")
def mysql57(mysql_admin_conn) -> Iterator[MySQLServer]:
    """5.7 manual 6.2: GRANT at each level, ACCOUNT LOCK (5.7.6+), the validate_password plugin."""
    s = MySQLServer(mysql_admin_conn, "5.7.44")
    try:
        s.create_user("app")
        s.grant_database("app", "%", "app_db", "SELECT", "INSERT", grant_option=True)
        s.create_user("ro")
        s.grant_table("ro", "%", "app_db", "orders", "SELECT")
        s.grant_column("ro", "%", "app_db", "customers", "name", "SELECT", "UPDATE")
        s.create_user("dba")
        s.grant_global("dba", "%", "SUPER", "PROCESS")
        s.create_user("locked_user", locked=True)
        s.install_validate_password(policy="STRONG", length="12")
        yield s
    finally:
        s.drop()


def test_mysql57_accounts(mysql57):
    instance = adapter(mysql57)
    accounts = {(a.username, a.host): a for a in instance.fetch_accounts()}
    assert sorted(accounts) == [("app", "%"), ("dba", "%"), ("locked_user", "%"), ("mysql.session", LOCAL),
                                ("mysql.sys", LOCAL), ("ro", "%"), ("root", LOCAL)]  # fmt: skip
    assert grants(accounts[("app", "%")]) == {("database", "SELECT", "app_db", True, (), False),
                                              ("database", "INSERT", "app_db", True, (), False)}  # fmt: skip
    assert grants(accounts[("ro", "%")]) == {
        ("object", "SELECT", "app_db.orders", False, (), False),
        ("column", "SELECT", "app_db.customers.name", False, (), False),
        ("column", "UPDATE", "app_db.customers.name", False, (), False),
    }
    dba = accounts[("dba", "%")]
    assert dba.is_superuser and not dba.can_grant and dba.reasons["is_superuser"] == ("SUPER on *.*",)
    assert accounts[("locked_user", "%")].is_locked and accounts[("mysql.sys", LOCAL)].is_locked
    root = accounts[("root", LOCAL)]
    assert root.is_superuser and root.can_grant and "CREATE ROLE" not in {p.privilege for p in root.privileges}
    assert accounts[("app", "%")].password_policy == PasswordPolicy(
        True, "validate_password is installed (policy STRONG, length 12)"
    )
    # 5.7.8+: MAX_EXECUTION_TIME; no information_schema_stats_expiry, no MySQL 8 table is read
    assert mysql57.session_settings == [f"SET SESSION MAX_EXECUTION_TIME = %s ← {(30 * 1000,)!r}"]
    assert not any(t in " ".join(mysql57.statements) for t in ("role_edges", "default_roles", "global_grants"))

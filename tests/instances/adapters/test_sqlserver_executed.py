"""The SQL Server adapter's catalog SQL, *executed* on an emulated catalog (tests/instances/adapters/
emulated, README there): every scenario inserts catalog rows as the documented statements create
them, runs the real adapter end to end (``fetch_accounts``, ``read_account_rows``, sizes, the
privilege check) and asserts the facts the documentation says the server holds. Each scenario
cites its documentation page (learn.microsoft.com, SQL Server docs).
"""

from __future__ import annotations

import json

import pymssql
import pytest

from instances.adapters.base import ConnectionParams, PasswordPolicy
from instances.adapters.matching import holds
from instances.adapters.sqlserver import sql
from instances.adapters.sqlserver.adapter import SQLServerAdapter
from tests.instances.adapters.emulated.sqlserver import SQLServer
from whalefall import errors

MONITOR = "whalefall_monitor"
DOCS = "https://learn.microsoft.com/en-us/sql"


def adapter(server: SQLServer, username: str = MONITOR) -> SQLServerAdapter:
    params = ConnectionParams(instance_id=7, instance_name="mssql", host="db.example", port=1433,
                              username=username, password="Pa55-word!")  # fmt: skip
    instance = SQLServerAdapter(params)
    instance.connections = []

    def connect(**kwargs):
        connection = server.connect(**kwargs)
        instance.connections.append(connection)
        return connection

    instance.driver_connect = connect
    return instance


def monitored(version: str = "15.0.4345.5") -> SQLServer:
    """An instance with the monitoring login of docs/adapters_sqlserver_oracle.md ("Minimum privileges")."""
    server = SQLServer(version)
    server.login(MONITOR)
    server.grant("VIEW ANY DEFINITION", MONITOR)
    if server.major >= 12:
        server.grant("CONNECT ANY DATABASE", MONITOR)
    return server


def accounts(server: SQLServer) -> dict:
    return {account.username: account for account in adapter(server).fetch_accounts()}


def grants(account) -> set[tuple]:
    """(level, privilege, target, state, grantable, via) of every effective privilege."""
    return {(p.level, p.privilege, p.target, p.state, p.grantable, p.via) for p in account.privileges}


# --- logins and server roles ------------------------------------------------------------------------


def test_logins_listed_and_certificate_logins_and_roles_left_out():
    """sys.server_principals: S SQL login, U Windows login, G Windows group, R server role, C certificate
    login ({DOCS}/relational-databases/system-catalog-views/sys-server-principals-transact-sql). Setup's
    '##…##' logins are excluded; NT SERVICE\\… logins are kept (docs/adapters_sqlserver_oracle.md)."""
    server = monitored()
    server.login("alice")
    server.login("NT SERVICE\\MSSQLSERVER", kind="U")
    server.login("CORP\\dba_team", kind="G")
    server.server_role("ops_admins")
    assert sorted(accounts(server)) == sorted(["CORP\\dba_team", "NT SERVICE\\MSSQLSERVER", "alice", "sa", MONITOR])


def test_nested_server_role_makes_sysadmin():
    """User-defined server roles can be members of fixed ones ({DOCS}/relational-databases/security/
    authentication-access/server-level-roles); sysadmin holds CONTROL SERVER."""
    server = monitored()
    server.login("carol")
    server.server_role("ops_admins")
    server.add_member("ops_admins", "carol")
    server.add_member("sysadmin", "ops_admins")
    carol = accounts(server)["carol"]
    assert carol.is_superuser and carol.can_grant
    assert carol.roles == ("ops_admins", "sysadmin")
    assert carol.reasons["is_superuser"] == ("member of sysadmin via ops_admins",)
    # "Permissions of fixed server roles": sysadmin is "Granted with GRANT option: CONTROL SERVER"
    assert ("global", "CONTROL SERVER", "", "GRANT", True, ("ops_admins", "sysadmin")) in grants(carol)
    assert ("global", "ALL", "", "GRANT", True, ("ops_admins", "sysadmin")) in grants(carol)
    assert {p.implied_by for p in carol.privileges if p.via[-1:] == ("sysadmin",)} == {"sysadmin"}
    assert accounts(server)["sa"].roles == ("sysadmin",)  # from setup


def test_securityadmin_through_a_role_and_db_securityadmin_let_the_login_grant():
    """securityadmin "can GRANT, DENY, and REVOKE server-level permissions"; db_securityadmin "can modify role
    membership … and manage permissions" ({DOCS}/relational-databases/security/authentication-access/
    server-level-roles, …/database-level-roles)."""
    server = monitored()
    server.login("CORP\\dba_team", kind="G")
    server.server_role("ops_admins")
    server.add_member("ops_admins", "CORP\\dba_team")
    server.add_member("securityadmin", "ops_admins")
    server.add_member("processadmin", "ops_admins")
    server.login("auditor")
    server.database("hr").user("auditor")
    server.databases["hr"].add_member("db_securityadmin", "auditor")
    found = accounts(server)
    team = found["CORP\\dba_team"]
    assert team.roles == ("ops_admins", "processadmin", "securityadmin")
    assert team.can_grant and not team.is_superuser
    assert team.reasons["can_grant"] == ("member of securityadmin via ops_admins",)
    assert team.snapshot["server_roles"] == ["ops_admins"]  # direct memberships only in the snapshot
    assert found["auditor"].can_grant and found["auditor"].roles == ("hr.db_securityadmin",)
    for account in found.values():
        json.dumps(account.snapshot)


def test_server_permission_classes_name_their_targets():
    """sys.server_permissions: class 100 server, 101 server principal (major_id = its principal_id),
    105 endpoint (major_id = endpoint_id) ({DOCS}/relational-databases/system-catalog-views/
    sys-server-permissions-transact-sql); IMPERSONATE ON LOGIN ({DOCS}/t-sql/statements/
    grant-server-principal-permissions-transact-sql)."""
    server = monitored()
    server.login("dave")
    server.login("erin")
    server.grant("IMPERSONATE", "dave", on_login="erin")
    server.grant("CONNECT", "dave", endpoint=1)  # Dedicated Admin Connection
    server.grant("VIEW SERVER STATE", "dave", state="W")
    dave = accounts(server)["dave"]
    assert {
        ("object", "IMPERSONATE", "SERVER_PRINCIPAL::erin", "GRANT", False, ()),
        ("object", "CONNECT", "ENDPOINT::Dedicated Admin Connection", "GRANT", False, ()),
        *(("object", "CONNECT", f"ENDPOINT::TSQL {name}", "GRANT", False, ("public",))
          for name in ("Local Machine", "Named Pipes", "Default TCP", "Default VIA")),
        ("global", "VIEW SERVER STATE", "", "GRANT", True, ()),
        ("global", "VIEW ANY DATABASE", "", "GRANT", False, ("public",)),
        ("global", "CONNECT SQL", "", "GRANT", False, ()),
    } == grants(dave)
    assert dave.can_grant and not dave.is_superuser


def test_control_server_and_denied_connect_sql():
    """CONTROL SERVER is every server permission; DENY CONNECT SQL keeps a login out
    ({DOCS}/relational-databases/security/permissions-database-engine)."""
    server = monitored()
    server.login("frank")
    server.grant("CONTROL SERVER", "frank")
    server.login("gina")
    server.grant("CONNECT SQL", "gina", state="D")
    found = accounts(server)
    assert found["frank"].is_superuser and found["frank"].reasons["is_superuser"] == ("CONTROL SERVER on *.*",)
    assert not found["gina"].can_login and found["frank"].can_login


def test_disabled_locked_and_expired_logins():
    """is_disabled ({DOCS}/relational-databases/system-catalog-views/sys-server-principals-transact-sql);
    LOGINPROPERTY 'IsLocked' / 'IsExpired' of SQL logins ({DOCS}/t-sql/functions/loginproperty-transact-sql)."""
    server = monitored()
    server.login("hal", disabled=True)
    server.login("ivy", locked=True)
    server.login("jo", expired=True)
    found = accounts(server)
    assert found["hal"].is_locked and found["hal"].reasons["is_locked"] == ("disabled",)
    assert found["ivy"].is_locked and found["ivy"].reasons["is_locked"] == ("locked out (password policy)",)
    assert not found["jo"].is_locked
    assert found["jo"].snapshot["is_expired"] == 1 and found["ivy"].snapshot["is_locked_out"] == 1
    assert found["hal"].snapshot["is_policy_checked"] is True
    assert found["jo"].snapshot["is_expiration_checked"] is False
    assert found["hal"].snapshot["sid"] == server.logins["hal"].sid.hex().upper()
    windows = server.login("CORP\\kim", kind="U")
    kim = accounts(server)["CORP\\kim"]
    assert kim.snapshot["is_locked_out"] is None and kim.snapshot["is_policy_checked"] is None  # not a SQL login
    assert kim.snapshot["sid"] == windows.sid.hex().upper()


# --- databases: users, roles, permissions -----------------------------------------------------------


def test_nested_database_roles_reach_the_login():
    """Users map to logins by SID; database roles can be members of roles, and db_datareader holds
    SELECT ({DOCS}/relational-databases/security/authentication-access/database-level-roles)."""
    server = monitored()
    server.login("alice")
    sales = server.database("sales")
    sales.user("alice_user", "alice")
    sales.schema("reports")
    sales.role("app_users")
    sales.role("reporting")
    sales.add_member("app_users", "alice_user")
    sales.add_member("reporting", "app_users")
    sales.add_member("db_datareader", "reporting")
    sales.grant("SELECT", "reporting", schema="reports")
    alice = accounts(server)["alice"]
    assert alice.roles == ("sales.app_users", "sales.db_datareader", "sales.reporting")
    assert {
        ("database", "CONNECT", "sales", "GRANT", False, ()),
        ("schema", "SELECT", "sales.reports", "GRANT", False, ("sales.app_users", "sales.reporting")),
        ("database", "SELECT", "sales", "GRANT", False, ("sales.app_users", "sales.reporting", "sales.db_datareader")),
    } <= grants(alice)
    assert alice.snapshot["databases"]["sales"]["roles"] == ["app_users"]


def test_deny_to_a_role_beats_a_grant_to_the_user():
    """"DENY takes precedence over GRANT", also through a role and from a containing securable
    ({DOCS}/t-sql/statements/deny-object-permissions-transact-sql); a table-level DENY does not beat a
    column-level GRANT ({DOCS}/t-sql/statements/deny-object-permissions-transact-sql, Remarks)."""
    server = monitored()
    server.login("bob")
    sales = server.database("sales")
    sales.user("bob", "bob")
    orders = sales.table("dbo", "orders", ("id", "customer", "amount"))
    sales.role("no_orders")
    sales.add_member("no_orders", "bob")
    sales.grant("SELECT", "bob", table=orders)
    sales.grant("UPDATE", "bob", table=orders, column="amount")
    sales.grant("SELECT", "no_orders", state="D", schema="dbo")
    sales.grant("UPDATE", "no_orders", state="D", table=orders)
    bob = grants(accounts(server)["bob"])
    assert ("schema", "SELECT", "sales.dbo", "DENY", False, ("sales.no_orders",)) in bob
    assert not any(p[1] == "SELECT" and p[3] == "GRANT" for p in bob)  # the object GRANT is not effective
    assert ("column", "UPDATE", "sales.dbo.orders.amount", "GRANT", False, ()) in bob
    assert ("object", "UPDATE", "sales.dbo.orders", "DENY", False, ("sales.no_orders",)) in bob


def test_schema_and_object_owners_hold_control_and_deny_does_not_apply_to_them():
    """The owner of a schema (CREATE SCHEMA … AUTHORIZATION; sys.schemas.principal_id) or of an object
    (ALTER AUTHORIZATION ON OBJECT; sys.objects.principal_id, NULL = the schema's owner) holds CONTROL
    on it ({DOCS}/relational-databases/security/authentication-access/ownership-and-user-schema-separation);
    "DENY does not apply to object owners" ({DOCS}/t-sql/statements/deny-transact-sql). A role's
    ownership reaches its members; what dbo owns and the fixed roles' own schemas are not listed."""
    server = monitored()
    for login in ("ann", "ben", "cat"):
        server.login(login)
    sales = server.database("sales")
    for user in ("ann", "ben", "cat"):
        sales.user(user, user)
    sales.role("reporters")
    sales.add_member("reporters", "ben")
    sales.schema("ann_s", owner="ann")
    sales.schema("reports", owner="reporters")
    sales.schema("shared")  # dbo's
    mine = sales.table("ann_s", "mine")
    audit = sales.table("dbo", "audit", owner="cat")
    sales.table("dbo", "orders")
    sales.grant("SELECT", "ann", state="D", schema="ann_s")  # does not apply to the schema's owner
    sales.grant("DELETE", "cat", state="D", table=audit)  # nor to the object's
    everyone = accounts(server)
    ann, ben, cat = (everyone[name] for name in ("ann", "ben", "cat"))
    assert ("schema", "CONTROL", "sales.ann_s", "GRANT", True, ()) in grants(ann)
    assert holds(list(ann.privileges), "SELECT", "object", f"sales.ann_s.{mine.name}", db_type="sqlserver")
    assert not holds(list(ann.privileges), "SELECT", "object", "sales.dbo.orders", db_type="sqlserver")
    assert ("schema", "CONTROL", "sales.reports", "GRANT", True, ("sales.reporters",)) in grants(ben)
    assert ("object", "CONTROL", "sales.dbo.audit", "GRANT", True, ()) in grants(cat)
    assert holds(list(cat.privileges), "DELETE", "object", "sales.dbo.audit", db_type="sqlserver")
    assert not holds(list(cat.privileges), "DELETE", "object", "sales.dbo.orders", db_type="sqlserver")
    assert all(p.implied_by == "owner" for a in (ann, ben, cat) for p in a.privileges if p.privilege == "CONTROL")
    assert not (ann.can_grant or ben.can_grant or cat.can_grant)  # ownership is not counted
    # nothing of dbo's, sys's, INFORMATION_SCHEMA's or the fixed roles' own schemas
    rows = adapter(server).read_account_rows()["security"]["sales"].ownerships
    assert [(r["owner_name"], r["schema_name"], r["object_name"]) for r in rows] == [
        ("cat", "dbo", "audit"), ("ann", "ann_s", None), ("reporters", "reports", None)]


def test_with_grant_option_and_column_permission():
    """GRANT … WITH GRANT OPTION is state W ({DOCS}/relational-databases/system-catalog-views/
    sys-database-permissions-transact-sql); a column permission is class 1 with minor_id = column_id
    ({DOCS}/t-sql/statements/grant-object-permissions-transact-sql)."""
    server = monitored()
    server.login("cy")
    sales = server.database("sales")
    sales.schema("reports")
    sales.user("cy_user", "cy")
    daily = sales.table("reports", "daily", ("day", "region", "revenue", "margin"))
    sales.grant("SELECT", "cy_user", state="W", schema="reports")
    sales.grant("UPDATE", "cy_user", table=daily, column="margin")
    sales.grant("INSERT", "cy_user", table=daily)
    cy = accounts(server)["cy"]
    assert {
        ("schema", "SELECT", "sales.reports", "GRANT", True, ()),
        ("column", "UPDATE", "sales.reports.daily.margin", "GRANT", False, ()),
        ("object", "INSERT", "sales.reports.daily", "GRANT", False, ()),
    } <= grants(cy)
    assert cy.can_grant and cy.reasons["can_grant"] == ("SELECT on schema sales.reports WITH GRANT OPTION",)


def test_principals_in_several_databases_and_statement_count():
    """Each ONLINE user database is read with its three-part names ({DOCS}/relational-databases/
    system-catalog-views/sys-databases-transact-sql: state 0 ONLINE); an OFFLINE one is not read but
    named, so that what was stored of it is kept (a database taken offline revokes nothing)."""
    server = monitored()
    server.login("dana")
    sales, hr = server.database("sales"), server.database("hr")
    server.database("archive", state=6)  # OFFLINE
    sales.user("dana_s", "dana")
    hr.user("dana_h", "dana")
    sales.add_member("db_owner", "dana_s")
    hr.role("payroll")
    hr.add_member("payroll", "dana_h")
    hr.grant("EXECUTE", "payroll")
    instance = adapter(server)
    dana = {a.username: a for a in instance.fetch_accounts()}["dana"]
    assert dana.roles == ("hr.payroll", "sales.db_owner")
    assert ("database", "EXECUTE", "hr", "GRANT", False, ("hr.payroll",)) in grants(dana)
    # "Permissions of fixed database roles": db_owner is "Granted with GRANT option: CONTROL"
    assert ("database", "CONTROL", "sales", "GRANT", True, ("sales.db_owner",)) in grants(dana)
    assert ("database", "ALL", "sales", "GRANT", True, ("sales.db_owner",)) in grants(dana)
    assert dana.can_grant and "member of sales.db_owner" in dana.reasons["can_grant"]
    assert set(dana.snapshot["databases"]) == {"hr", "sales"}
    (connection,) = instance.connections
    assert len(connection.statements) == 1 + 4 + 4 * 2  # the version, 4 server reads, 4 per ONLINE database
    rows = instance.read_account_rows()
    assert rows["databases_not_read"] == [
        {"database": "archive", "reason": "it is OFFLINE, not ONLINE: its permissions cannot be read now"}]
    (scope,) = instance.account_unread_scopes(rows)
    assert (scope.level, scope.target, scope.role_prefix) == ("database", "archive", "archive.")
    assert not any("archive" in statement for statement in connection.statements)


def test_application_role_is_not_read():
    """Application roles (type A) are activated by sp_setapprole, never mapped to a login
    ({DOCS}/relational-databases/security/authentication-access/application-roles)."""
    server = monitored()
    server.login("eve")
    sales = server.database("sales")
    sales.user("eve", "eve")
    sales.application_role("billing_app")
    sales.grant("SELECT", "billing_app", schema="dbo")
    rows = adapter(server).read_account_rows()
    principals = rows["security"]["sales"].principals
    assert {row["type"] for row in principals} == {"R", "S"}
    assert "billing_app" not in {row["name"] for row in principals}
    eve = adapter(server).parse_account_rows(rows)
    assert not any("billing_app" in str(account) for account in eve)


def test_public_grants_on_system_objects_are_left_out_and_object_targets_are_named():
    """public holds SELECT on system objects (negative object ids) in every database; grants on
    user objects name <db>.<schema>.<object> (sys.all_objects, sys.schemas)."""
    server = monitored()
    server.login("fay")
    sales = server.database("sales")
    sales.schema("crm")
    sales.user("fay", "fay")
    customers = sales.table("crm", "customers", ("id", "name"))
    sales.grant("DELETE", "public", table=customers)
    fay = grants(accounts(server)["fay"])
    assert ("object", "DELETE", "sales.crm.customers", "GRANT", False, ("sales.public",)) in fay
    assert not any(p[2].startswith("sales.sys.") or "::" in p[2] and p[0] == "object" and "sales" in p[2] for p in fay)


def test_a_database_with_an_odd_name_is_read_by_its_bracketed_name():
    """QUOTENAME escapes ']' as ']]' ({DOCS}/t-sql/functions/quotename-transact-sql)."""
    server = monitored()
    server.login("gus")
    odd = server.database("we]ird db")
    odd.user("gus", "gus")
    odd.add_member("db_datawriter", "gus")
    gus = accounts(server)["gus"]
    assert gus.roles == ("we]ird db.db_datawriter",)
    assert ("database", "INSERT", "we]ird db", "GRANT", False, ("we]ird db.db_datawriter",)) in grants(gus)


def test_a_database_the_login_cannot_open_is_an_unread_scope_and_the_others_are_read():
    """Without CONNECT ANY DATABASE, a user or an enabled guest, HAS_DBACCESS is 0 ({DOCS}/t-sql/
    functions/has-dbaccess-transact-sql) and a three-part read would fail with error 916
    ({DOCS}/relational-databases/errors-events/database-engine-events-and-errors): the database is
    not read, named as an unread scope (everything in it: permissions, its db.role roles, the
    snapshot's entry), and the other databases are read."""
    server = SQLServer()
    server.login(MONITOR)
    server.grant("VIEW ANY DEFINITION", MONITOR)
    server.login("ivy")
    sales = server.database("sales")
    sales.user(MONITOR, MONITOR)
    sales.user("ivy", "ivy")
    sales.add_member("db_datareader", "ivy")
    hr = server.database("hr")
    hr.user("ivy", "ivy")
    hr.add_member("db_owner", "ivy")
    reader = adapter(server)
    rows = reader.read_account_rows()
    assert sorted(rows["security"]) == ["sales"] and reader.statements_executed == 1 + 4 + 4
    (scope,) = reader.account_unread_scopes(rows)
    assert (scope.level, scope.target, scope.role_prefix, scope.snapshot_path) == (
        "database", "hr", "hr.", ("databases", "hr"),
    )  # fmt: skip
    assert "HAS_DBACCESS is 0" in scope.reason
    ivy = {a.username: a for a in reader.parse_account_rows(rows)}["ivy"]
    assert ivy.roles == ("sales.db_datareader",) and not [p for p in ivy.privileges if scope.contains(p)]
    assert not scope.contains_role("sales.db_datareader") and scope.contains_role("hr.db_owner")
    # with access (a user for the login), the same database is read
    hr.user(MONITOR, MONITOR)
    rows = adapter(server).read_account_rows()
    assert sorted(rows["security"]) == ["hr", "sales"] and not adapter(server).account_unread_scopes(rows)


@pytest.mark.parametrize("version", ["11.0.7507.2", "13.0.6435.1", "15.0.4345.5", "16.0.4135.4"])
def test_every_supported_release_runs_the_account_reads(version):
    """The catalog of each release has only the columns documented for it (catalog/sqlserver.json)."""
    server = monitored(version)
    server.login("hank")
    sales = server.database("sales")
    sales.user("hank", "hank")
    if server.major < 12:  # no CONNECT ANY DATABASE: a user in every database (docs/adapters_sqlserver_oracle.md)
        sales.user(MONITOR, MONITOR)
    instance = adapter(server)
    assert "hank" in {a.username for a in instance.fetch_accounts()}
    assert instance.server_version() == f"{version} (Developer Edition (64-bit))"


# --- sizes ------------------------------------------------------------------------------------------


def test_database_sizes_count_data_and_log_files_of_online_user_databases():
    """sys.master_files: size in 8 KB pages, type 0 ROWS, 1 LOG, 2 FILESTREAM, 4 FULLTEXT
    ({DOCS}/relational-databases/system-catalog-views/sys-master-files-transact-sql)."""
    server = monitored()
    server.database("sales", data_pages=(1000, 500), log_pages=(200,), other_files=((2, 7000), (4, 900)))
    server.database("hr", data_pages=(10,), log_pages=(3, 4))
    server.database("archive", state=6, data_pages=(99,))
    server.database("distribution", is_distributor=True)
    sizes = {s.name: s for s in adapter(server).fetch_database_sizes()}
    assert sorted(sizes) == ["hr", "sales"]  # ordered by name; system, OFFLINE and distributor left out
    assert (sizes["sales"].data_bytes, sizes["sales"].log_bytes) == (1500 * 8192, 200 * 8192)
    assert sizes["sales"].size_bytes == 1700 * 8192
    assert (sizes["hr"].data_bytes, sizes["hr"].log_bytes) == (10 * 8192, 7 * 8192)
    assert [d.name for d in adapter(server).fetch_database_inventory()] == ["hr", "sales"]


def test_table_sizes_from_in_row_lob_and_row_overflow_allocation_units():
    """sys.allocation_units: type 1 IN_ROW_DATA and 3 ROW_OVERFLOW_DATA belong to the partition's
    hobt_id, type 2 LOB_DATA to its partition_id ({DOCS}/relational-databases/system-catalog-views/
    sys-allocation-units-transact-sql); sys.partitions: index_id 0 heap, 1 clustered, >1 nonclustered,
    rows per partition ({DOCS}/relational-databases/system-catalog-views/sys-partitions-transact-sql)."""
    server = monitored()
    sales = server.database("sales")
    orders = sales.table("dbo", "orders", ("id", "note"))
    sales.partition(orders, index_id=1, rows=600, in_row=(100, 90), lob=(40, 30), row_overflow=(8, 6))
    sales.partition(orders, index_id=1, rows=400, partition_number=2, in_row=(60, 50))
    sales.partition(orders, index_id=2, rows=1000, in_row=(20, 15))
    heap = sales.table("dbo", "staging")
    sales.partition(heap, index_id=0, rows=70, in_row=(9, 7), lob=(3, 2))
    instance = adapter(server)
    tables = {t.table: t for t in instance.fetch_table_sizes("sales")}
    assert instance.connections[0].database == "sales"  # the database is opened by the login, not in SQL
    orders_size = tables["orders"]
    assert orders_size.size_bytes == (100 + 40 + 8 + 60 + 20) * 8192
    assert orders_size.data_bytes == (90 + 30 + 6 + 50) * 8192
    assert orders_size.index_bytes == 15 * 8192
    assert orders_size.row_count == 1000  # counted once per partition, not per allocation unit or index
    assert (tables["staging"].size_bytes, tables["staging"].data_bytes, tables["staging"].row_count) == (
        12 * 8192, 9 * 8192, 70)  # fmt: skip
    assert list(tables) == ["orders", "staging"]


def test_table_sizes_leave_out_tables_shipped_by_microsoft():
    """sys.objects.is_ms_shipped: "Object is created by an internal SQL Server component"
    ({DOCS}/relational-databases/system-catalog-views/sys-objects-transact-sql)."""
    server = monitored()
    sales = server.database("sales")
    sales.schema("audit")
    diagrams = sales.table("dbo", "sysdiagrams", ms_shipped=True)
    sales.partition(diagrams, index_id=1, rows=3, in_row=(2, 2))
    events = sales.table("audit", "events")
    sales.partition(events, index_id=1, rows=5, in_row=(4, 3))
    assert [(t.schema, t.table, t.row_count) for t in adapter(server).fetch_table_sizes("sales")] == [
        ("audit", "events", 5)
    ]


# --- the privilege check -----------------------------------------------------------------------------


def summary(checks) -> list[tuple]:
    return [(c.collector, c.target, c.ok, c.fix) for c in checks]


def test_privilege_check_passes_with_the_documented_grants():
    """HAS_PERMS_BY_NAME ({DOCS}/t-sql/functions/has-perms-by-name-transact-sql) with VIEW ANY
    DEFINITION and CONNECT ANY DATABASE; public holds VIEW ANY DATABASE by default."""
    server = monitored()
    server.database("sales")
    server.database("hr")
    server.database("archive", state=6)
    assert summary(adapter(server).check_privileges()) == [
        ("account_sync", "", True, None), ("database_sizes", "", True, None), ("table_sizes", "", True, None),
        ("database", "hr", True, None), ("database", "sales", True, None),
    ]  # fmt: skip


def test_privilege_check_without_grants_names_the_documented_fixes():
    """A login with only CONNECT SQL: no VIEW ANY DEFINITION; CONNECT on a database only where it has a
    user; public's VIEW ANY DATABASE denied to it by a DENY."""
    server = SQLServer()
    server.login(MONITOR)
    server.grant("VIEW ANY DATABASE", MONITOR, state="D")
    server.database("sales").user(MONITOR, MONITOR)
    server.database("hr")
    grantee = f"[{MONITOR}]"
    assert summary(adapter(server).check_privileges()) == [
        ("account_sync", "", False, f"GRANT VIEW ANY DEFINITION TO {grantee};"),
        ("database_sizes", "", False, f"GRANT VIEW ANY DEFINITION TO {grantee}; GRANT VIEW ANY DATABASE TO {grantee};"),
        ("table_sizes", "", False, f"GRANT VIEW ANY DEFINITION TO {grantee};"),
        ("database", "hr", False, f"GRANT CONNECT ANY DATABASE TO {grantee};"),
        ("database", "sales", True, None),
    ]
    server.grant("VIEW ANY DEFINITION", MONITOR)  # now only VIEW ANY DATABASE is missing
    assert summary(adapter(server).check_privileges())[:3] == [
        ("account_sync", "", True, None),
        ("database_sizes", "", False, f"GRANT VIEW ANY DATABASE TO {grantee};"),
        ("table_sizes", "", True, None),
    ]


def test_privilege_check_on_2012_asks_for_a_user_and_sees_role_grants():
    """SQL Server 2012 has no CONNECT ANY DATABASE; VIEW ANY DEFINITION granted to a server role counts."""
    server = SQLServer("11.0.7507.2")
    server.login(MONITOR)
    server.server_role("monitoring")
    server.add_member("monitoring", MONITOR)
    server.grant("VIEW ANY DEFINITION", "monitoring")
    server.database("hr")
    checks = summary(adapter(server).check_privileges())
    assert checks[:3] == [("account_sync", "", True, None), ("database_sizes", "", True, None),
                          ("table_sizes", "", True, None)]  # fmt: skip
    assert checks[3] == ("database", "hr", False, f"USE [hr]; CREATE USER [{MONITOR}] FOR LOGIN [{MONITOR}];")


def test_privilege_check_failures_are_typed_not_an_empty_report():
    server = monitored()
    # Injected: executing catalog SQL cannot make the server time out.
    server.failures["database_connect_check"] = pymssql.OperationalError(
        (20003, b"DB-Lib error message 20003, severity 6: TDS server connection timed out"))  # fmt: skip
    with pytest.raises(errors.TargetTimeout):
        adapter(server).check_privileges()


def test_sql_text_runs_as_written():
    """The SQL executed is the adapter's constant, transpiled (no hand-written copy of it)."""
    server = monitored()
    server.database("sales")
    instance = adapter(server)
    instance.fetch_database_sizes()
    assert instance.connections[0].statements[-1] == sql.DATABASE_SIZES


# --- implied permissions and DENY, asked through holds() (instances/adapters/matching/) -------------
def deletes_orders(account) -> list:
    return holds(account.privileges, "DELETE", "object", "sales.dbo.orders", db_type="sqlserver")


def test_sysadmin_and_the_dbo_user_bypass_deny_db_owner_members_do_not():
    """"DENY takes precedence over all permissions, except that DENY does not apply to object owners or
    members of the sysadmin fixed server role" ({DOCS}/t-sql/statements/deny-transact-sql); the permission
    check is bypassed for sysadmin members and the dbo user ({DOCS}/relational-databases/security/
    permissions-hierarchy-database-engine); db_owner members hold CONTROL on the database
    ({DOCS}/relational-databases/security/authentication-access/database-level-roles) and DENY applies."""
    server = monitored()
    for name in ("root", "owner", "dbo_member", "writer", "controller"):
        server.login(name)
    server.add_member("sysadmin", "root")
    server.grant("CONTROL SERVER", "controller")
    sales = server.database("sales", owner="owner")  # owner's login is the dbo user of sales
    sales.table("dbo", "orders", ("id", "amount"))
    for user in ("root", "dbo_member", "writer", "controller"):
        sales.user(f"{user}_u", user)
    sales.add_member("db_owner", "dbo_member_u")
    sales.add_member("db_datawriter", "writer_u")
    found = accounts(server)
    assert all(deletes_orders(found[name]) for name in ("root", "owner", "dbo_member", "writer", "controller"))
    assert {p.implied_by for p in deletes_orders(found["owner"])} == {"dbo", "db_owner"}
    # DENY DELETE on the schema to public: every database user is denied — except sysadmin and dbo
    sales.grant("DELETE", "public", state="D", schema="dbo")
    found = accounts(server)
    assert {p.implied_by for p in deletes_orders(found["root"])} == {"sysadmin"}
    assert [p.implied_by for p in deletes_orders(found["owner"])] == ["dbo"]
    assert deletes_orders(found["dbo_member"]) == [] and deletes_orders(found["writer"]) == []
    assert deletes_orders(found["controller"]) == []  # CONTROL SERVER is not sysadmin: DENY applies
    assert holds(found["dbo_member"].privileges, "SELECT", "object", "sales.dbo.orders", db_type="sqlserver")


def test_a_login_without_a_user_enters_as_guest_where_guest_may_connect():
    """Any login without a user in a database enters it as the guest user when guest holds CONNECT
    (disabled in a new user database: REVOKE CONNECT FROM guest; {DOCS}/relational-databases/security/
    authentication-access/principals-database-engine, "guest user"): it holds guest's permissions and
    public's there; a login with a user of its own does not."""
    server = monitored()
    for name in ("visitor", "member"):
        server.login(name)
    sales = server.database("sales")
    sales.table("dbo", "orders", ("id", "amount"))
    sales.user("member_u", "member")
    sales.grant("SELECT", "guest", table=sales.table("dbo", "prices"))
    sales.grant("INSERT", "public", schema="dbo")
    found = accounts(server)
    assert not any(p.target.startswith("sales") for p in found["visitor"].privileges)  # guest disabled
    sales.grant("CONNECT", "guest")
    found = accounts(server)
    visitor, member = found["visitor"], found["member"]
    assert holds(visitor.privileges, "SELECT", "object", "sales.dbo.prices", db_type="sqlserver")
    assert holds(visitor.privileges, "INSERT", "object", "sales.dbo.orders", db_type="sqlserver")
    assert {p.via for p in visitor.privileges if p.target == "sales.dbo.prices"} == {("sales.guest",)}
    assert not holds(member.privileges, "SELECT", "object", "sales.dbo.prices", db_type="sqlserver")
    assert holds(member.privileges, "INSERT", "object", "sales.dbo.orders", db_type="sqlserver")


def test_password_policy_from_sql_logins():
    """sys.sql_logins.is_policy_checked / is_expiration_checked ({DOCS}/relational-databases/
    system-catalog-views/sys-sql-logins-transact-sql); Windows logins have no row there."""
    server = monitored()
    server.login("strict", expiration=True)
    server.login("lax", policy=False)
    server.login("CORP\\kim", kind="U")
    found = accounts(server)
    assert found["strict"].password_policy == PasswordPolicy(
        True, "CHECK_POLICY ON (the host's Windows password policy), CHECK_EXPIRATION ON")  # fmt: skip
    assert found["lax"].password_policy == PasswordPolicy(
        False, "CHECK_POLICY OFF: the password is not checked (CHECK_EXPIRATION OFF)")  # fmt: skip
    assert found["CORP\\kim"].password_policy.enforced is None

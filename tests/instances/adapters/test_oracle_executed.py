"""The Oracle adapter's catalog SQL, *executed* on an emulated data dictionary (tests/instances/
adapters/emulated, README there): every scenario inserts dictionary rows as the documented
statements create them, runs the real adapter end to end and asserts the facts the Oracle
documentation says the database holds. Each scenario cites its page (docs.oracle.com, Oracle
Database 19c Reference / SQL Language Reference / Security Guide).
"""

from __future__ import annotations

import json

import oracledb
import pytest

from instances.adapters.base import ConnectionParams, PasswordPolicy, Privilege
from instances.adapters.matching import holds
from instances.adapters.oracle import sql
from instances.adapters.oracle.adapter import OracleAdapter
from tests.instances.adapters.emulated.oracle import Oracle
from whalefall import errors

MONITOR = "WHALEFALL_MONITOR"
REF = "https://docs.oracle.com/en/database/oracle/oracle-database/19/refrn"
SQLRF = "https://docs.oracle.com/en/database/oracle/oracle-database/19/sqlrf"


def adapter(database: Oracle, username: str = MONITOR) -> OracleAdapter:
    params = ConnectionParams(instance_id=9, instance_name="ora", host="ora.example", port=1521,
                              username=username, password="0racle-Pa55!", database="ORCLPDB1")  # fmt: skip
    instance = OracleAdapter(params)
    instance.connections = []

    def connect(**kwargs):
        connection = database.connect(**kwargs)
        instance.connections.append(connection)
        return connection

    instance.driver_connect = connect
    return instance


def monitored(version: str = "19.21.0.0.0", *, catalog_role: bool = True) -> Oracle:
    """A database with the monitoring account of docs/adapters_sqlserver_oracle.md ("Minimum privileges")."""
    database = Oracle(version)
    database.user(MONITOR)
    database.grant_system("CREATE SESSION", MONITOR)
    if catalog_role:
        database.grant_role("SELECT_CATALOG_ROLE", MONITOR)
    return database


def accounts(database: Oracle) -> dict:
    return {account.username: account for account in adapter(database).fetch_accounts()}


def grants(account) -> set[tuple]:
    """(level, privilege, target, grantable, via, via_set_role) of every effective privilege."""
    return {(p.level, p.privilege, p.target, p.grantable, p.via, p.via_set_role) for p in account.privileges}


# --- users, roles, privileges ------------------------------------------------------------------------


def test_oracle_maintained_users_are_left_out():
    """DBA_USERS.ORACLE_MAINTAINED: "Denotes whether the user was created, and is maintained, by Oracle-supplied
    scripts" ({REF}/DBA_USERS.html)."""
    database = monitored()
    database.user("APP")
    assert sorted(accounts(database)) == ["APP", MONITOR]


def test_role_to_role_to_system_privilege_with_admin_option():
    """A role granted to a role is enabled with it; WITH ADMIN OPTION lets the grantee grant the privilege
    ({SQLRF}/GRANT.html: "WITH ADMIN OPTION"; {REF}/DBA_ROLE_PRIVS.html, {REF}/DBA_SYS_PRIVS.html)."""
    database = monitored()
    database.user("APP")
    database.grant_system("CREATE SESSION", "APP")
    database.role("APP_RW")
    database.role("APP_BASE")
    database.grant_role("APP_RW", "APP")
    database.grant_role("APP_BASE", "APP_RW")
    database.grant_system("CREATE TABLE", "APP_BASE", admin=True)
    app = accounts(database)["APP"]
    assert app.roles == ("APP_BASE", "APP_RW")
    assert ("global", "CREATE TABLE", "", True, ("APP_RW", "APP_BASE"), False) in grants(app)
    assert app.can_grant
    assert app.reasons["can_grant"] == ("CREATE TABLE on *.* WITH GRANT OPTION via APP_RW → APP_BASE",)
    assert not app.is_superuser and app.can_login
    assert app.snapshot["granted_roles"] == [{"role": "APP_RW", "admin_option": False, "default_role": True}]


def test_role_held_with_admin_option_can_be_granted_on():
    """GRANT <role> TO <user> WITH ADMIN OPTION ({SQLRF}/GRANT.html)."""
    database = monitored()
    database.user("LEAD")
    database.grant_system("CREATE SESSION", "LEAD")
    database.role("TEAM")
    database.grant_role("TEAM", "LEAD", admin=True)
    lead = accounts(database)["LEAD"]
    assert lead.can_grant and lead.snapshot["granted_roles"][0]["admin_option"] is True


def test_object_and_column_privileges_through_roles():
    """DBA_TAB_PRIVS (object grants, GRANTABLE) and DBA_COL_PRIVS (column grants) to users and to roles
    ({REF}/DBA_TAB_PRIVS.html, {REF}/DBA_COL_PRIVS.html)."""
    database = monitored()
    database.user("ANA")
    database.grant_system("CREATE SESSION", "ANA")
    database.role("HR_READ")
    database.grant_role("HR_READ", "ANA")
    database.grant_object("SELECT", "HR", "EMPLOYEES", "HR_READ", grantable=True)
    database.grant_object("DELETE", "HR", "JOBS", "ANA")
    database.grant_column("UPDATE", "HR", "EMPLOYEES", "SALARY", "ANA")
    database.grant_column("INSERT", "HR", "EMPLOYEES", "EMAIL", "HR_READ", grantable=True)
    ana = accounts(database)["ANA"]
    assert {
        ("object", "SELECT", "HR.EMPLOYEES", True, ("HR_READ",), False),
        ("object", "DELETE", "HR.JOBS", False, (), False),
        ("column", "UPDATE", "HR.EMPLOYEES.SALARY", False, (), False),
        ("column", "INSERT", "HR.EMPLOYEES.EMAIL", True, ("HR_READ",), False),
    } <= grants(ana)
    assert ana.can_grant


def test_a_privilege_view_the_monitor_may_not_select_is_an_unread_scope():
    """A monitoring account granted SELECT on each dictionary view the sync reads instead of
    SELECT_CATALOG_ROLE, DBA_TAB_PRIVS left out: that view raises ORA-00942 ({REF}/DBA_TAB_PRIVS.html;
    Security Guide, "Managing Access to Objects"); the read goes on, names the view as an unread scope
    holding every object-level entry, and still reads the column grants of DBA_COL_PRIVS."""
    database = monitored(catalog_role=False)
    views = ("DBA_USERS", "DBA_ROLES", "DBA_ROLE_PRIVS", "DBA_SYS_PRIVS", "DBA_COL_PRIVS", "DBA_OBJECTS",
             "V$PWFILE_USERS", "DBA_PROFILES")  # fmt: skip
    for view in views:
        database.grant_object("SELECT", "SYS", view, MONITOR)
    database.user("ANA")
    database.grant_system("CREATE SESSION", "ANA")
    database.grant_object("DELETE", "HR", "JOBS", "ANA")
    database.grant_column("UPDATE", "HR", "EMPLOYEES", "SALARY", "ANA")
    reader = adapter(database)
    rows = reader.read_account_rows()
    (scope,) = reader.account_unread_scopes(rows)
    assert (scope.label, scope.level, scope.target, scope.covers) == ("DBA_TAB_PRIVS", "global", "", ("object",))
    assert (
        scope.reason
        == 'the monitoring login may not select it: ORA-00942: table or view "DBA_TAB_PRIVS" does not exist'
    )

    ana = {a.username: a for a in reader.parse_account_rows(rows)}["ANA"]
    assert grants(ana) & {("column", "UPDATE", "HR.EMPLOYEES.SALARY", False, (), False)}
    assert not [p for p in ana.privileges if p.level == "object"]
    assert [p for p in ana.privileges if scope.contains(p)] == []
    assert scope.contains(Privilege("object", "DELETE", "HR.JOBS")) and not scope.contains(ana.privileges[0])
    # granted the view too, the read is full
    database.grant_object("SELECT", "SYS", "DBA_TAB_PRIVS", MONITOR)
    rows = adapter(database).read_account_rows()
    assert not adapter(database).account_unread_scopes(rows) and rows["tab_privs"]


def test_dictionary_grants_of_oracle_maintained_roles_and_public_are_not_read_publics_on_users_objects_are():
    """SELECT_CATALOG_ROLE and PUBLIC hold thousands of dictionary grants: the roles show by name, their
    system privileges in full (docs/adapters_sqlserver_oracle.md; {REF}/DBA_ROLES.html ORACLE_MAINTAINED).
    PUBLIC's grants on the objects of other users reach every user ("GRANT": PUBLIC)."""
    database = monitored()
    database.user("BEN")
    database.user("APP")
    database.grant_system("CREATE SESSION", "BEN")
    database.grant_role("SELECT_CATALOG_ROLE", "BEN")
    database.role("APP_ROLE")
    database.grant_role("APP_ROLE", "BEN")
    database.grant_object("SELECT", "APP", "ORDERS", "APP_ROLE")
    database.grant_column("UPDATE", "APP", "ORDERS", "STATUS", "APP_ROLE")
    database.grant_column("UPDATE", "SYS", "AUD$", "ACTION#", "SELECT_CATALOG_ROLE")
    database.grant_system("SELECT ANY DICTIONARY", "PUBLIC")
    database.grant_object("SELECT", "SYS", "DUAL", "PUBLIC")
    database.grant_column("UPDATE", "SYS", "AUD$", "ACTION#", "PUBLIC")
    database.grant_object("SELECT", "APP", "PRICES", "PUBLIC", grantable=True)
    database.grant_column("UPDATE", "APP", "ORDERS", "NOTE", "PUBLIC")
    rows = adapter(database).read_account_rows()
    assert {(row["GRANTEE"], row["OWNER"]) for row in rows["tab_privs"]} == {("APP_ROLE", "APP"), ("PUBLIC", "APP")}
    assert {(row["GRANTEE"], row["OWNER"]) for row in rows["col_privs"]} == {("APP_ROLE", "APP"), ("PUBLIC", "APP")}
    everyone = accounts(database)
    ben = everyone["BEN"]
    assert ben.roles == ("APP_ROLE", "SELECT_CATALOG_ROLE")
    assert {(p[1], p[2]) for p in grants(ben) if p[0] != "global"} == {
        ("SELECT", "APP.ORDERS"), ("UPDATE", "APP.ORDERS.STATUS"), ("SELECT", "APP.PRICES"),
        ("UPDATE", "APP.ORDERS.NOTE"),
    }  # fmt: skip
    assert ("global", "SELECT ANY DICTIONARY", "", False, ("PUBLIC",), False) in grants(ben)
    assert ("object", "SELECT", "APP.PRICES", True, ("PUBLIC",), False) in grants(ben)
    assert ben.can_grant  # PUBLIC's grant option is every user's
    assert holds(everyone["APP"].privileges, "SELECT", "object", "APP.PRICES", db_type="oracle")


def test_non_default_role_needs_set_role():
    """A role that is not a DEFAULT role is not enabled at login ({SQLRF}/ALTER-USER.html, DEFAULT ROLE)."""
    database = monitored()
    database.user("CARL")
    database.role("OPS")
    database.grant_role("OPS", "CARL", default=False)
    database.grant_role("CONNECT", "CARL", default=False)
    database.grant_system("DROP ANY TABLE", "OPS")
    carl = accounts(database)["CARL"]
    assert ("global", "DROP ANY TABLE", "", False, ("OPS",), True) in grants(carl)
    assert not carl.can_login  # CREATE SESSION only through CONNECT, which needs SET ROLE
    assert carl.roles == ("CONNECT", "OPS")


def test_dba_role_and_sysdba_make_superusers():
    """The DBA role, and SYSDBA in the password file (V$PWFILE_USERS: {REF}/V-PWFILE_USERS.html)."""
    database = monitored()
    database.user("DORA")
    database.role("ADMINS")
    database.grant_role("ADMINS", "DORA")
    database.grant_role("DBA", "ADMINS")
    database.user("ED")
    database.grant_system("CREATE SESSION", "ED")
    database.sysdba("ED")
    database.user("FAY")
    database.grant_system("CREATE SESSION", "FAY")
    database.sysdba("FAY", sysoper=True)
    found = accounts(database)
    assert found["DORA"].is_superuser and found["DORA"].reasons["is_superuser"] == ("role DBA via ADMINS",)
    assert found["DORA"].can_login  # CREATE SESSION through DBA
    assert found["ED"].is_superuser and found["ED"].reasons["is_superuser"] == ("SYSDBA (password file)",)
    assert found["ED"].snapshot["sysoper"] is False and found["FAY"].snapshot["sysoper"] is True
    assert not found[MONITOR].is_superuser
    for account in found.values():
        json.dumps(account.snapshot)


def test_any_privileges_alone_do_not_make_a_superuser():
    """ "… ANY …" system privileges are listed, they do not make a superuser (docs/adapters_sqlserver_oracle.md)."""
    database = monitored()
    database.user("DEPLOYER")
    database.grant_system("CREATE SESSION", "DEPLOYER")
    database.grant_system("CREATE ANY TABLE", "DEPLOYER", admin=True)
    database.grant_system("UNLIMITED TABLESPACE", "DEPLOYER")
    deployer = accounts(database)["DEPLOYER"]
    assert not deployer.is_superuser and deployer.can_grant
    assert {("global", "CREATE ANY TABLE", "", True, (), False),
            ("global", "UNLIMITED TABLESPACE", "", False, (), False)} <= grants(deployer)  # fmt: skip


@pytest.mark.parametrize(
    ("status", "locked", "expired", "in_grace"),
    [
        ("OPEN", False, False, False),
        ("LOCKED", True, False, False),
        ("LOCKED(TIMED)", True, False, False),
        ("EXPIRED", False, True, False),
        ("EXPIRED(GRACE)", False, True, True),
        ("EXPIRED & LOCKED", True, True, False),
    ],
)
def test_account_status_locked_and_expired(status, locked, expired, in_grace):
    """DBA_USERS.ACCOUNT_STATUS values ({REF}/DBA_USERS.html); the profile is recorded ({SQLRF}/CREATE-PROFILE.html)."""
    database = monitored()
    database.user("GIL", status=status, profile="APP_PROFILE")
    database.grant_system("CREATE SESSION", "GIL")
    gil = accounts(database)["GIL"]
    assert gil.is_locked is locked
    assert (gil.snapshot["expired"], gil.snapshot["in_grace"]) == (expired, in_grace)
    assert gil.snapshot["account_status"] == status and gil.snapshot["profile"] == "APP_PROFILE"
    assert gil.reasons.get("is_locked", ()) == ((f"ACCOUNT_STATUS {status}",) if locked else ())


def test_schema_only_account_cannot_log_in():
    """18c+: a schema-only account has AUTHENTICATION_TYPE NONE ({SQLRF}/CREATE-USER.html, NO AUTHENTICATION)."""
    database = monitored()
    database.user("APP_OWNER", authentication="NONE")
    database.grant_system("CREATE SESSION", "APP_OWNER")
    assert not accounts(database)["APP_OWNER"].can_login


def test_accounts_need_the_dba_views():
    """Without SELECT_CATALOG_ROLE the DBA_ views do not exist for the login (ORA-00942); accounts do not fall
    back (docs/adapters_sqlserver_oracle.md)."""
    database = monitored(catalog_role=False)
    with pytest.raises(errors.TargetPermissionDenied, match="ORA-00942"):
        adapter(database).fetch_accounts()


def test_select_catalog_role_through_another_role_is_enough():
    """SESSION_ROLES lists roles enabled through other roles ({REF}/SESSION_ROLES.html)."""
    database = monitored(catalog_role=False)
    database.role("MONITORING")
    database.grant_role("MONITORING", MONITOR)
    database.grant_role("SELECT_CATALOG_ROLE", "MONITORING")
    assert MONITOR in accounts(database)


# --- versions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "stored"),
    [
        ("12.1.0.2.0", "Oracle Database 12c Enterprise Edition 12.1.0.2.0"),
        ("12.2.0.1.0", "Oracle Database 12c Enterprise Edition 12.2.0.1.0"),
        ("19.21.0.0.0", "Oracle Database 19c Enterprise Edition 19.21.0.0.0"),
        ("23.4.0.24.5", "Oracle Database 23ai Enterprise Edition 23.4.0.24.5"),
    ],
)
def test_each_release_reads_its_version_and_accounts(version, stored):
    """PRODUCT_COMPONENT_VERSION.VERSION_FULL exists from 18c; VERSION reads <major>.0.0.0.0 there
    ({REF}/PRODUCT_COMPONENT_VERSION.html). Every account read runs on each release's columns."""
    database = monitored(version)
    database.user("HAL")
    database.grant_system("CREATE SESSION", "HAL")
    instance = adapter(database)
    assert instance.server_version() == stored
    assert "HAL" in {a.username for a in instance.fetch_accounts()}


# --- sizes ------------------------------------------------------------------------------------------------


def test_tablespace_inventory_and_sizes_from_dba_views():
    """DBA_TABLESPACES.CONTENTS PERMANENT/UNDO/TEMPORARY ({REF}/DBA_TABLESPACES.html); allocated bytes
    from DBA_DATA_FILES ({REF}/DBA_DATA_FILES.html), used from DBA_SEGMENTS ({REF}/DBA_SEGMENTS.html)."""
    database = monitored()
    database.tablespace("APP_DATA", files=(1 << 30, 512 << 20))
    database.table("APP", "ORDERS", "APP_DATA", 8 << 20)
    database.index("APP", "ORDERS_PK", "ORDERS", "APP_DATA", 2 << 20)
    instance = adapter(database)
    assert [t.name for t in instance.fetch_database_inventory()] == ["APP_DATA", "USERS"]
    sizes = {s.name: s for s in instance.fetch_database_sizes()}
    assert (sizes["APP_DATA"].size_bytes, sizes["APP_DATA"].used_bytes, sizes["APP_DATA"].source) == (
        (1 << 30) + (512 << 20), 10 << 20, "dba")  # fmt: skip
    assert (sizes["USERS"].size_bytes, sizes["USERS"].used_bytes) == (5 << 20, 0)


def test_sizes_fall_back_to_the_users_own_segments():
    """Without the DBA_ views: USER_SEGMENTS, the connected user's own segments ({REF}/USER_SEGMENTS.html)."""
    database = monitored(catalog_role=False)
    database.tablespace("APP_DATA")
    database.table("APP", "ORDERS", "APP_DATA", 8 << 20)
    database.table(MONITOR, "PROBE", "USERS", 64 << 10)
    database.table(MONITOR, "PROBE_ARCHIVE", "APP_DATA", 128 << 10)
    instance = adapter(database)
    assert [t.name for t in instance.fetch_database_inventory()] == ["APP_DATA", "USERS"]  # USER_TABLESPACES
    sizes = {s.name: (s.size_bytes, s.source, s.complete) for s in instance.fetch_database_sizes()}
    assert sizes == {"APP_DATA": (128 << 10, "user_segments", False), "USERS": (64 << 10, "user_segments", False)}


def test_table_sizes_attribute_index_and_lob_segments_to_their_table():
    """DBA_INDEXES.TABLE_NAME ({REF}/DBA_INDEXES.html) and DBA_LOBS.SEGMENT_NAME/INDEX_NAME ({REF}/DBA_LOBS.html)
    name the table of INDEX, LOBSEGMENT and LOBINDEX segments; a partitioned table has one segment per
    partition; dropped tables in the recycle bin are named BIN$… ({SQLRF}/FLASHBACK-TABLE.html)."""
    database = monitored()
    database.tablespace("APP_DATA")
    database.tablespace("APP_IDX")
    database.table("APP", "ORDERS", "APP_DATA", 8 << 20, num_rows=1200)
    database.index("APP", "ORDERS_PK", "ORDERS", "APP_DATA", 1 << 20)
    database.index("APP", "ORDERS_BY_DAY", "ORDERS", "APP_IDX", 3 << 20)
    database.lob("APP", "ORDERS", "DOCUMENT", "APP_DATA", 40 << 20, 256 << 10)
    database.table("APP", "EVENTS", "APP_DATA", 2 << 20, partitions=("P2024", "P2025"))
    database.table("HR", "ORDERS", "APP_DATA", 1 << 20, num_rows=3)
    database.table("APP", "BIN$qmXh3X9kQ2e==$0", "APP_DATA", 5 << 20)
    database.table("APP", "ELSEWHERE", "USERS", 7 << 20)
    instance = adapter(database)
    tables = {(t.schema, t.table): t for t in instance.fetch_table_sizes("APP_DATA")}
    assert list(tables) == [("APP", "EVENTS"), ("APP", "ORDERS"), ("HR", "ORDERS")]
    orders = tables["APP", "ORDERS"]
    assert (orders.data_bytes, orders.index_bytes, orders.lob_bytes) == (8 << 20, 1 << 20, (40 << 20) + (256 << 10))
    assert orders.size_bytes == (8 << 20) + (1 << 20) + (40 << 20) + (256 << 10)
    assert orders.row_count == 1200 and tables["HR", "ORDERS"].row_count == 3
    assert (tables["APP", "EVENTS"].data_bytes, tables["APP", "EVENTS"].row_count) == (4 << 20, None)
    (by_day,) = instance.fetch_table_sizes("APP_IDX")  # an index in another tablespace counts there
    assert (by_day.table, by_day.index_bytes, by_day.size_bytes, by_day.row_count) == ("ORDERS", 3 << 20, 3 << 20, 1200)
    statement, binds = instance.connections[0].executed[-1]
    assert binds == {"tablespace": "APP_DATA"} and statement == sql.TABLE_SIZES


def test_an_index_in_another_schema_counts_for_its_table():
    """CREATE INDEX in another schema (CREATE ANY INDEX): the segment and DBA_INDEXES.OWNER are the index's
    owner, DBA_INDEXES.TABLE_OWNER/TABLE_NAME its table ({REF}/DBA_INDEXES.html, {SQLRF}/CREATE-INDEX.html)."""
    database = monitored()
    database.tablespace("APP_DATA")
    database.table("APP", "ORDERS", "APP_DATA", 8 << 20, num_rows=40)
    database.index("TUNER", "ORDERS_BY_CUSTOMER", "ORDERS", "APP_DATA", 2 << 20, table_owner="APP")
    (orders,) = adapter(database).fetch_table_sizes("APP_DATA")
    assert (orders.schema, orders.table, orders.index_bytes, orders.size_bytes, orders.row_count) == (
        "APP", "ORDERS", 2 << 20, 10 << 20, 40)  # fmt: skip


def test_table_sizes_fall_back_to_own_segments():
    """USER_SEGMENTS + ALL_INDEXES/ALL_LOBS/ALL_TABLES when the DBA_ views are denied ({REF}/ALL_TABLES.html)."""
    database = monitored(catalog_role=False)
    database.tablespace("APP_DATA")
    database.table("APP", "ORDERS", "APP_DATA", 8 << 20, num_rows=5)
    database.table(MONITOR, "PROBE", "APP_DATA", 64 << 10, num_rows=2)
    database.index(MONITOR, "PROBE_PK", "PROBE", "APP_DATA", 16 << 10)
    database.lob(MONITOR, "PROBE", "BODY", "APP_DATA", 32 << 10, 8 << 10)
    (probe,) = adapter(database).fetch_table_sizes("APP_DATA")
    assert (probe.schema, probe.table, probe.source, probe.complete) == (MONITOR, "PROBE", "user_segments", False)
    assert (probe.data_bytes, probe.index_bytes, probe.lob_bytes, probe.row_count) == (64 << 10, 16 << 10, 40 << 10, 2)


# --- the privilege check -----------------------------------------------------------------------------------


def summary(checks) -> list[tuple]:
    return [(c.collector, c.ok, c.fix) for c in checks]


def test_privilege_check_reads_the_session():
    """SESSION_ROLES / SESSION_PRIVS ({REF}/SESSION_ROLES.html, {REF}/SESSION_PRIVS.html)."""
    assert summary(adapter(monitored()).check_privileges()) == [
        ("account_sync", True, None), ("database_sizes", True, None), ("table_sizes", True, None)]  # fmt: skip
    without = monitored(catalog_role=False)
    fix = f"GRANT SELECT_CATALOG_ROLE TO {MONITOR};"
    assert summary(adapter(without).check_privileges()) == [
        ("account_sync", False, fix), ("database_sizes", False, fix), ("table_sizes", False, fix)]  # fmt: skip
    without.role("DICT")
    without.grant_role("DICT", MONITOR)
    without.grant_system("SELECT ANY DICTIONARY", "DICT")
    assert all(check.ok for check in adapter(without).check_privileges())


def test_privilege_check_failures_are_typed_not_an_empty_report():
    database = monitored()
    # Injected: the emulated SESSION_PRIVS is always readable, as on a real server.
    database.failures["session_privs"] = oracledb.DatabaseError("ORA-01031: insufficient privileges")
    with pytest.raises(errors.TargetPermissionDenied):
        adapter(database).check_privileges()


def test_login_failures_are_typed():
    """ORA-28000 locked ({SQLRF}/ALTER-USER.html ACCOUNT LOCK), ORA-01045 without CREATE SESSION."""
    database = monitored()
    database.user("LOCKED_MON", status="LOCKED")
    with pytest.raises(errors.TargetAuthFailed):
        adapter(database, "LOCKED_MON").fetch_accounts()
    database.user("NO_SESSION")
    with pytest.raises(errors.TargetPermissionDenied, match="ORA-01045"):
        adapter(database, "NO_SESSION").fetch_accounts()


# --- implied privileges and the password policy ---------------------------------------------------------
def test_delete_any_table_is_delete_on_every_table_but_sys_ones():
    """DELETE ANY TABLE: "Delete rows from tables, table partitions, or views in any schema" ({SQLRF}/GRANT.html,
    "System Privileges"); with O7_DICTIONARY_ACCESSIBILITY FALSE the ANY privileges do not reach SYS's
    objects. The DBA role holds its ANY privileges through its own system privileges (DBA_SYS_PRIVS)."""
    database = monitored()
    database.user("CLEANER")
    database.grant_system("CREATE SESSION", "CLEANER")
    database.grant_system("DELETE ANY TABLE", "CLEANER")
    database.user("DORA")
    database.grant_role("DBA", "DORA")  # a new database's DBA holds SELECT ANY TABLE (emulated setup)
    found = accounts(database)
    cleaner, dora = found["CLEANER"].privileges, found["DORA"].privileges
    assert holds(cleaner, "DELETE", "object", "APP.ORDERS", db_type="oracle")
    assert not holds(cleaner, "DELETE", "object", "SYS.OBJ$", db_type="oracle")
    assert not holds(cleaner, "SELECT", "object", "APP.ORDERS", db_type="oracle")
    (select,) = holds(dora, "SELECT", "column", "APP.ORDERS.ID", db_type="oracle")
    assert (select.via, select.implied_by) == (("DBA",), "any_privilege")


def test_an_objects_owner_holds_every_object_privilege_in_its_schema_and_no_system_privilege():
    """A user that owns objects (DBA_OBJECTS, {REF}/ALL_OBJECTS.html) needs no grant on them ({SQLRF}/GRANT.html:
    object privileges are granted on another user's objects): ALL on its schema, implied by ownership and not
    counted for can_grant — object privileges only, not CREATE ANY TABLE. A user owning nothing holds none;
    without SELECT on DBA_OBJECTS the owners' entries are an unread scope."""
    database = monitored()
    for name in ("HR", "NOBODY"):
        database.user(name)
        database.grant_system("CREATE SESSION", name)
    database.table("HR", "EMPLOYEES", "USERS", 65536)
    found = accounts(database)
    hr, nobody = found["HR"], found["NOBODY"]
    assert ("schema", "ALL", "HR", True, (), False) in grants(hr)
    assert holds(hr.privileges, "UPDATE", "object", "HR.EMPLOYEES", db_type="oracle")
    assert holds(hr.privileges, "SELECT", "column", "HR.EMPLOYEES.SALARY", db_type="oracle")
    assert not holds(hr.privileges, "SELECT", "object", "APP.ORDERS", db_type="oracle")
    assert not holds(hr.privileges, "CREATE ANY TABLE", "global", "", db_type="oracle")
    assert not holds(hr.privileges, "CREATE ANY TABLE", "schema", "HR", db_type="oracle")
    assert not hr.can_grant
    assert not [p for p in nobody.privileges if p.implied_by == "owner"]
    # granted view by view, DBA_OBJECTS left out: the read goes on, the owners' ALL is an unread scope
    database = monitored(catalog_role=False)
    for view in ("DBA_USERS", "DBA_ROLES", "DBA_ROLE_PRIVS", "DBA_SYS_PRIVS", "DBA_TAB_PRIVS", "DBA_COL_PRIVS",
                 "V$PWFILE_USERS", "DBA_PROFILES"):  # fmt: skip
        database.grant_object("SELECT", "SYS", view, MONITOR)
    database.user("HR")
    database.table("HR", "EMPLOYEES", "USERS", 65536)
    reader = adapter(database)
    rows = reader.read_account_rows()
    (scope,) = reader.account_unread_scopes(rows)
    assert (scope.label, scope.covers, scope.covers_privileges) == ("DBA_OBJECTS", (), (("schema", "ALL"),))
    assert scope.contains({"level": "schema", "privilege": "ALL", "target": "HR"})
    assert not scope.contains({"level": "object", "privilege": "SELECT", "target": "HR.EMPLOYEES"})
    hr = {a.username: a for a in reader.parse_account_rows(rows)}["HR"]
    assert not [p for p in hr.privileges if p.implied_by == "owner"]


def test_password_policy_from_the_profile():
    """DBA_PROFILES ({REF}/DBA_PROFILES.html): PASSWORD_VERIFY_FUNCTION NULL in the DEFAULT profile of a new
    database; a profile's DEFAULT limit is the DEFAULT profile's; EXTERNAL users have no Oracle password."""
    database = monitored()
    database.profile("APP_USERS", PASSWORD_VERIFY_FUNCTION="ORA12C_STRONG_VERIFY_FUNCTION", PASSWORD_LIFE_TIME="90",
                     FAILED_LOGIN_ATTEMPTS="DEFAULT")  # fmt: skip
    for name, profile, authentication in (("PLAIN", "DEFAULT", "PASSWORD"), ("STRICT", "APP_USERS", "PASSWORD"),
                                          ("OPS$KIM", "DEFAULT", "EXTERNAL")):  # fmt: skip
        database.user(name, profile=profile, authentication=authentication)
        database.grant_system("CREATE SESSION", name)
    found = accounts(database)
    assert found["PLAIN"].password_policy == PasswordPolicy(
        False, "profile DEFAULT has no PASSWORD_VERIFY_FUNCTION (PASSWORD_LIFE_TIME 180, PASSWORD_GRACE_TIME 7, "
        "PASSWORD_REUSE_TIME UNLIMITED, PASSWORD_REUSE_MAX UNLIMITED, FAILED_LOGIN_ATTEMPTS 10, PASSWORD_LOCK_TIME 1, "
        "INACTIVE_ACCOUNT_TIME UNLIMITED)")  # fmt: skip
    strict = found["STRICT"].password_policy
    assert strict.enforced is True and strict.reason.startswith(
        "profile APP_USERS: PASSWORD_VERIFY_FUNCTION ORA12C_STRONG_VERIFY_FUNCTION; PASSWORD_LIFE_TIME 90, "
    )
    assert "FAILED_LOGIN_ATTEMPTS 10" in strict.reason  # DEFAULT → the DEFAULT profile's
    assert found["OPS$KIM"].password_policy == PasswordPolicy(
        None, "authenticated EXTERNAL: the password is not Oracle's")  # fmt: skip

"""The who-can index (account_privilege_entries) as the sync keeps it, and the who-can answer per
engine from facts parsed out of recorded catalog rows (accounts.selectors.who_can)."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import InstanceAccount, PrivilegeEntry
from accounts.selectors import who_can
from accounts.services import accounts_apply
from accounts.whocan import object_parts
from instances.adapters.base import AccountFacts, Privilege
from instances.adapters.mysql import parse as mysql_parse
from instances.adapters.postgresql import parse as pg_parse
from tests.instances.adapters import test_mysql_parse as mysql_rows
from tests.instances.adapters import test_postgresql_parse as pg_rows
from tests.instances.adapters import test_sqlserver_rules as mssql_rows
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db


def ask(privilege, name, **options):
    """(username, level, target, via, implied_by) of each account answering, in answer order."""
    return [
        (item.username, item.entry.level, item.entry.target, item.entry.via, item.entry.implied_by)
        for item in who_can(privilege=privilege, parts=object_parts(name), **options)
    ]


def entries_of(account_id: int) -> list[tuple]:
    return list(
        PrivilegeEntry.objects.filter(account_id=account_id)
        .order_by("ordinal")
        .values_list(
            "ordinal", "privilege", "level", "target", "grantable", "state", "via", "via_set_role", "implied_by"
        )
    )


def _from_facts(facts: dict) -> list[tuple]:
    return [
        (n, p["privilege"], p["level"], p["target"], p["grantable"], p["state"], p["via"], p["via_set_role"],
         p.get("implied_by"))
        for n, p in enumerate(facts["privileges"], 1)
    ]  # fmt: skip


# --- the index, as the sync keeps it --------------------------------------------------------------

TRICKY = (
    Privilege("database", "SELECT", "app\\_%"),  # a MySQL pattern with an escape
    Privilege("database", "SELECT", "a\\\\%b_c"),  # an escaped backslash before a wildcard
    Privilege("database", "SELECT", "x\\"),  # a trailing lone backslash
    Privilege("database", "SELECT", "y\\\\\\"),  # an escaped backslash, then a lone one
    Privilege("object", "UPDATE", "we\tird.na\nme\\x", grantable=True, via=('r "1"', "r\\2")),
    Privilege("global", "ALL", implied_by="superuser"),
    Privilege("object", "DELETE", "a.b", state="DENY"),
    Privilege("database", "INSERT", "app", via=("r",), via_set_role=True),
)


def test_every_account_has_exactly_its_facts_privileges_as_entries():
    instance = make_instance(db_type="mysql")
    accounts_apply(instance=instance, accounts=[AccountFacts("a", "%", privileges=TRICKY), AccountFacts("b", "%")])
    for account in InstanceAccount.objects.filter(instance=instance).select_related("permission"):
        assert entries_of(account.pk) == _from_facts(account.permission.facts), account.username
    affixes = {target: (prefix, suffix) for target, prefix, suffix in PrivilegeEntry.objects.filter(
        account__instance=instance).values_list("target", "pattern_prefix", "pattern_suffix")}  # fmt: skip
    assert affixes["app\\_%"] == ("app_", "") and affixes["a\\\\%b_c"] == ("a\\", "c")
    assert affixes["app"] == (None, None)  # only MySQL database-level patterns have them
    assert set(PrivilegeEntry.objects.filter(account__instance=instance).values_list("instance_id", flat=True)) == {
        instance.pk
    }


def test_a_change_rewrites_only_that_accounts_entries_and_a_vanished_account_keeps_them():
    instance = make_instance(db_type="sqlserver", port=1433)
    accounts_apply(instance=instance, accounts=[
        AccountFacts("a", privileges=(Privilege("database", "DELETE", "app"),)),
        AccountFacts("b", privileges=(Privilege("database", "SELECT", "app"),)),
        AccountFacts("c", privileges=(Privilege("database", "DELETE", "app"),)),
    ])  # fmt: skip
    ids = dict(InstanceAccount.objects.filter(instance=instance).values_list("username", "pk"))
    untouched = {row[0]: row[1] for row in _ctids(ids["b"])}
    accounts_apply(instance=instance, accounts=[
        AccountFacts("a", privileges=(Privilege("schema", "UPDATE", "app.dbo"), Privilege("global", "ALL"))),
        AccountFacts("b", privileges=(Privilege("database", "SELECT", "app"),)),
    ])  # fmt: skip
    assert [row[1:4] for row in entries_of(ids["a"])] == [("ALL", "global", ""), ("UPDATE", "schema", "app.dbo")]
    assert {row[0]: row[1] for row in _ctids(ids["b"])} == untouched  # not rewritten
    assert [row[1:4] for row in entries_of(ids["c"])] == [("DELETE", "database", "app")]  # kept, inactive
    assert ask("DELETE", "app.dbo.t") == [("a", "global", "", (), None)]
    assert ask("DELETE", "app.dbo.t", include_inactive=True) == [
        ("a", "global", "", (), None), ("c", "database", "app", (), None),
    ]  # fmt: skip
    # reactivated: its entries are those of its new facts
    accounts_apply(instance=instance, accounts=[AccountFacts("c", privileges=(Privilege("database", "SELECT", "x"),))])
    assert [row[1:4] for row in entries_of(ids["c"])] == [("SELECT", "database", "x")]


def _ctids(account_id: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ordinal, ctid::text FROM account_privilege_entries WHERE account_id = %s", [account_id])
        return cursor.fetchall()


def test_deleting_an_instance_in_the_database_cascades_to_its_entries():
    instance = make_instance(db_type="postgresql")
    accounts_apply(instance=instance, accounts=[AccountFacts("a", privileges=TRICKY)])
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM instances WHERE id = %s", [instance.pk])
    assert not PrivilegeEntry.objects.exists()


def test_the_migration_backfill_writes_what_the_sync_writes():
    """Migration 0005 fills the index of existing accounts from their stored facts in SQL; the
    sync encodes the same rows in Python. Both must agree, escapes and MySQL patterns included."""
    backfill = importlib.import_module("accounts.migrations.0006_privilege_entries").BACKFILL
    for db_type in ("mysql", "postgresql"):
        instance = make_instance(db_type=db_type)
        accounts_apply(instance=instance, accounts=[AccountFacts("a", "%", privileges=TRICKY)])
    columns = ("account_id", "ordinal", "instance_id", "privilege", "level", "target", "grantable", "state", "via",
               "via_set_role", "implied_by", "pattern_prefix", "pattern_suffix")  # fmt: skip
    written = sorted(PrivilegeEntry.objects.values_list(*columns))
    assert len(written) == 2 * len(TRICKY)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM account_privilege_entries")
        cursor.execute(backfill)
    assert sorted(PrivilegeEntry.objects.values_list(*columns)) == written


def test_an_unchanged_listing_does_not_touch_the_index():
    instance = make_instance(db_type="mysql")
    listing = [AccountFacts("a", "%", privileges=TRICKY), AccountFacts("b", "%")]
    accounts_apply(instance=instance, accounts=listing)
    with CaptureQueriesContext(connection) as captured:
        accounts_apply(instance=instance, accounts=listing)
    assert not [q["sql"] for q in captured if "account_privilege_entries" in q["sql"]]


def test_a_sync_writes_at_most_fifteen_statements_with_every_kind_of_change():
    instance = make_instance(db_type="mysql")
    accounts_apply(instance=instance, accounts=[AccountFacts(u, "%") for u in ("kept", "changed", "gone", "back")])
    accounts_apply(instance=instance, accounts=[AccountFacts(u, "%") for u in ("kept", "changed", "gone")])
    listing = [AccountFacts("kept", "%"), AccountFacts("changed", "%", privileges=TRICKY), AccountFacts("back", "%"),
               AccountFacts("new", "%", privileges=TRICKY)]  # fmt: skip
    with CaptureQueriesContext(connection) as captured:
        outcome = accounts_apply(instance=instance, accounts=listing, fingerprint="f")
    assert (outcome.created, outcome.deleted, outcome.details["reactivated"]) == (1, 1, 1)
    # inside the test's transaction the sync's own transaction is a savepoint (two more statements)
    queries = [q for q in captured if "SAVEPOINT" not in q["sql"]]
    assert len(queries) == 15, [q["sql"][:60] for q in queries]
    assert any("DELETE FROM account_privilege_entries" in q["sql"] for q in queries)
    assert sum("COPY account_privilege_entries" in q["sql"] for q in queries) == 1


# --- PostgreSQL (recorded pg_catalog rows, tests/instances/adapters/test_postgresql_parse.py) -------


def test_postgresql_role_chains_set_role_public_and_default_privileges():
    role, member, db_grant, obj = pg_rows.role, pg_rows.member, pg_rows.db_grant, pg_rows.obj
    roles = [role("alice"), role("bob"), role("carol"), role("r1", rolcanlogin=False), role("r2", rolcanlogin=False)]
    memberships = [member("alice", "r1"), member("r1", "r2"), member("bob", "r2", inherit=False)]
    databases = [db_grant("billing", None, "CONNECT"), db_grant("billing", "carol", "CREATE")]
    objects = {"billing": [
        obj("object", "r2=ad/owner", "carol=r/owner", table="invoices"),  # INSERT, DELETE to r2; SELECT to carol
        obj("schema", "alice=U/owner"),
        obj("default", "carol=d/owner", objtype="r"),  # DEFAULT DELETE ON TABLES: not on existing tables
    ]}  # fmt: skip
    accounts = pg_parse.parse_accounts(roles, databases, objects, membership_rows=memberships)
    instance = make_instance(db_type="postgresql")
    accounts_apply(instance=instance, accounts=accounts)
    assert ask("DELETE", "billing.public.invoices") == [("alice", "object", "billing.public.invoices", ("r1", "r2"),
                                                         None)]  # fmt: skip
    assert [row[0] for row in ask("DELETE", "billing.public.invoices", include_set_role=True)] == ["alice", "bob"]
    assert ask("CONNECT", "billing") == [("PUBLIC", "database", "billing", (), None)]
    assert ask("SELECT", "billing.public.invoices.amount") == [("carol", "object", "billing.public.invoices", (),
                                                                None)]  # fmt: skip
    # at the database level nobody may DELETE; inside it alice (and, after SET ROLE, bob) may
    assert ask("DELETE", "billing") == []
    assert [row[0] for row in ask("DELETE", "billing", include_contained=True)] == ["alice"]
    assert ask("USAGE", "billing.public") == [("alice", "schema", "billing.public", (), None)]


# --- MySQL/MariaDB (recorded privilege-table rows, tests/instances/adapters/test_mysql_parse.py) -----


def test_mysql_database_patterns_default_and_non_default_roles():
    gp, role, db, grant = mysql_rows.gp, mysql_rows.role, mysql_rows.db, mysql_rows.grant
    users = [gp("alice", default_role="rw"), gp("bob", default_role="ro"), gp("carol"), gp("dave"),
             role("rw"), role("ro")]  # fmt: skip
    dbs = [db("carol", "%", "shop\\_%", "Delete"), db("dave", "%", "shop_eu", "Delete"),
           db("rw", "", "shop_eu", "Delete", "Select")]  # fmt: skip
    roles = [grant("alice", "rw"), grant("bob", "ro"), grant("bob", "rw")]  # bob's default is ro: rw needs SET ROLE
    tables = [{"User": "ro", "Host": "", "Db": "shop_eu", "Table_name": "orders", "Table_priv": "Select"}]
    accounts = mysql_parse.parse_accounts(users, dbs, tables, (), mysql_parse.mariadb_role_grants(roles),
                                          mariadb=True)  # fmt: skip
    instance = make_instance(db_type="mysql", port=3306)
    accounts_apply(instance=instance, accounts=accounts)
    assert ask("DELETE", "shop_eu.orders") == [
        ("alice", "database", "shop_eu", ("rw",), None),
        ("carol", "database", "shop\\_%", (), None),  # an escaped pattern still matches "shop_" + anything
        ("dave", "database", "shop_eu", (), None),
    ]
    # "shop_eu" itself is a pattern ("_": any one character); carol's "\_" is a literal underscore
    assert [row[0] for row in ask("DELETE", "shopXeu.orders")] == ["alice", "dave"]
    assert [row[0] for row in ask("DELETE", "shop_eu.orders", include_set_role=True)] == ["alice", "bob", "carol",
                                                                                          "dave"]  # fmt: skip
    assert [row[0] for row in ask("SELECT", "shop_eu.orders")] == ["alice", "bob"]


def test_mysql8_partial_revokes_narrow_only_their_holders_global_grant():
    """MySQL 8 ``REVOKE INSERT ON mysql.* FROM etl`` (partial_revokes ON) is a database-level DENY
    entry next to the global grant (grants.partial_revokes; executed in test_mysql_executed.py)."""
    restricted = (Privilege("global", "INSERT"), Privilege("database", "INSERT", "mysql", state="DENY"))
    lifted = (*restricted, Privilege("global", "INSERT", via=("writer",)))  # a role's unrestricted grant
    instance = make_instance(db_type="mysql", port=3306)
    accounts_apply(instance=instance, accounts=[AccountFacts(username="etl", host="%", privileges=restricted),
                                                AccountFacts(username="ops", host="%", privileges=lifted)])  # fmt: skip
    assert ask("INSERT", "mysql.user") == [("ops", "global", "", ("writer",), None)]
    assert ask("INSERT", "app.orders") == [("etl", "global", "", (), None), ("ops", "global", "", (), None)]


# --- SQL Server (recorded catalog rows, tests/instances/adapters/test_sqlserver_rules.py) -----------
# Microsoft Learn, "Permissions hierarchy (Database Engine)" and "GRANT Object Permissions
# (Transact-SQL)": DENY on a securable or a containing scope overrides GRANT; "a table-level DENY
# does not take precedence over a column-level GRANT"; members of sysadmin and the database owner
# (dbo) bypass permission checks, db_owner members do not.


def _mssql(server) -> AccountFacts:
    return server.account()


def test_sqlserver_deny_over_grant_and_the_column_exception():
    db_permission, schema, table = mssql_rows.db_permission, "dbo", "orders"

    def on(permission, state="G", column=None):
        target = {"object_schema": schema, "object_name": table, "column_name": column}
        return db_permission(mssql_rows.USER, permission, state, klass=1, major_id=7, minor_id=1 if column else 0,
                             **target)  # fmt: skip

    database = mssql_rows.DATABASE
    granted = mssql_rows.baseline().plus(db_permissions=db_permission(mssql_rows.USER, "SELECT"))  # database-wide
    denied = granted.plus(db_permissions=on("SELECT", "D"))
    column = denied.plus(db_permissions=on("SELECT", column="total"))
    instance = make_instance(db_type="sqlserver", port=1433)
    accounts_apply(instance=instance, accounts=[_mssql(granted)])
    assert [row[:3] for row in ask("SELECT", f"{database}.dbo.orders")] == [("alice", "database", database)]
    accounts_apply(instance=instance, accounts=[_mssql(denied)])
    assert ask("SELECT", f"{database}.dbo.orders") == []
    assert ask("SELECT", f"{database}.dbo.orders.total") == []  # the table's DENY covers its columns
    assert [row[0] for row in ask("SELECT", f"{database}.dbo.customers")] == ["alice"]
    accounts_apply(instance=instance, accounts=[_mssql(column)])
    assert [row[:3] for row in ask("SELECT", f"{database}.dbo.orders.total")] == [
        ("alice", "column", f"{database}.dbo.orders.total")
    ]


def test_sqlserver_db_owner_is_denied_sysadmin_and_dbo_are_not():
    db_permission, database = mssql_rows.db_permission, mssql_rows.DATABASE
    deny = db_permission(mssql_rows.USER, "DELETE", "D", klass=3, major_id=5, schema_name="dbo")
    owner = mssql_rows.baseline().plus(db_members=mssql_rows.db_member("db_owner", mssql_rows.USER))
    facts = _mssql(owner.plus(db_permissions=deny))
    # db_owner's documented CONTROL on the database (granted with GRANT option), implied by the fixed role
    assert Privilege("database", "CONTROL", database, grantable=True, via=(f"{database}.db_owner",),
                     implied_by="db_owner") in facts.privileges  # fmt: skip
    instance = make_instance(db_type="sqlserver", port=1433)
    accounts_apply(instance=instance, accounts=[facts])
    assert ask("DELETE", f"{database}.dbo.orders") == []  # CONTROL through db_owner, but the schema DENY applies
    assert [row[0] for row in ask("DELETE", f"{database}.sales.orders")] == ["alice"]
    # what the engine implies for sysadmin members and dbo bypasses the DENY (the implied entries are the
    # adapters' to list: here they are added by hand)
    for implied in (Privilege("global", "ALL", implied_by="sysadmin"),
                    Privilege("database", "ALL", database, implied_by="dbo")):  # fmt: skip
        bypassing = AccountFacts("alice", privileges=(*facts.privileges, implied))
        accounts_apply(instance=instance, accounts=[bypassing])
        assert ask("DELETE", f"{database}.dbo.orders") == [("alice", implied.level, implied.target, (),
                                                            implied.implied_by)]  # fmt: skip


# --- Oracle (the adapter's SQL executed on the emulated dictionary, tests/instances/adapters/emulated) --


def test_oracle_object_column_grants_roles_and_any_privileges():
    from tests.instances.adapters.test_oracle_executed import accounts as oracle_accounts
    from tests.instances.adapters.test_oracle_executed import monitored

    database = monitored()
    for user in ("REPORT_USER", "DEPLOYER", "CLEANER"):
        database.user(user)
        database.grant_system("CREATE SESSION", user)
    database.role("APP_READ")
    database.grant_role("APP_READ", "REPORT_USER")
    database.grant_object("SELECT", "APP_OWNER", "ORDERS", "APP_READ")
    database.grant_object("INSERT", "APP_OWNER", "ORDERS", "DEPLOYER")
    database.grant_column("UPDATE", "APP_OWNER", "CUSTOMERS", "EMAIL", "REPORT_USER")
    database.grant_system("DELETE ANY TABLE", "CLEANER")
    found = oracle_accounts(database)
    instance = make_instance(db_type="oracle", port=1521)
    accounts_apply(instance=instance, accounts=[found[name] for name in ("REPORT_USER", "DEPLOYER", "CLEANER")])
    (select,) = ask("SELECT", "APP_OWNER.ORDERS")
    assert select[:3] == ("REPORT_USER", "object", "APP_OWNER.ORDERS") and tuple(select[3]) == ("APP_READ",)
    assert [row[:3] for row in ask("INSERT", "APP_OWNER.ORDERS.ID")] == [("DEPLOYER", "object", "APP_OWNER.ORDERS")]
    assert [row[:3] for row in ask("UPDATE", "APP_OWNER.CUSTOMERS.EMAIL")] == [
        ("REPORT_USER", "column", "APP_OWNER.CUSTOMERS.EMAIL")
    ]
    assert ask("UPDATE", "APP_OWNER.CUSTOMERS") == []  # a column grant is not a grant on the table
    assert [row[0] for row in ask("UPDATE", "APP_OWNER", include_contained=True)] == ["REPORT_USER"]
    # DELETE ANY TABLE: DELETE on every table but SYS's, implied by the system privilege
    (delete,) = ask("DELETE", "APP_OWNER.ORDERS")
    assert delete[:3] == ("CLEANER", "global", "") and delete[-1] == "any_privilege"
    assert ask("DELETE", "SYS.OBJ$") == []

"""Partial reads (accounts/unread.py): what lies in a scope the adapter could not read is kept as
stored, never logged as removed; a later full read logs what really changed. Live engines:
test_live_sync.py (PostgreSQL, MariaDB); SQL Server/Oracle adapters: tests/instances/adapters."""

import dataclasses
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.fingerprint import listing_fingerprint
from accounts.models import AccountChangeLog, AccountListing, AccountPermission, AccountUnreadScope, PrivilegeEntry
from accounts.services import accounts_sync_all, accounts_sync_instance
from accounts.unread import carry_over
from instances.adapters.base import AccountFacts, ConnectionParams, Privilege, UnreadScope
from instances.adapters.mysql.adapter import MySQLAdapter
from instances.adapters.registry import get_adapter
from tests.support.factories import make_fake_instance
from tests.support.fake_adapter import FAKE_ACCOUNTS, FAKE_UNREAD

pytestmark = pytest.mark.django_db

APP = UnreadScope("database", "app", "no CONNECT", covers=("schema", "object", "column"),
                  covers_privileges=(("database", "DEFAULT "),))  # fmt: skip
CONNECT_APP = Privilege("database", "CONNECT", "app")
DEFAULT_APP = Privilege("database", "DEFAULT SELECT ON TABLES FOR ROLE o", "app")
SELECT_T = Privilege("object", "SELECT", "app.public.t", grantable=True, via=("r1",))
DELETE_T = Privilege("object", "DELETE", "app.public.t", via=("r1",))
SELECT_OTHER = Privilege("object", "SELECT", "billing.public.x")
SELECT_APPX = Privilege("object", "SELECT", "appx.public.t")  # not inside "app"


@pytest.fixture(autouse=True)
def _clear_fake():
    FAKE_ACCOUNTS.clear()
    FAKE_UNREAD.clear()
    yield
    FAKE_ACCOUNTS.clear()
    FAKE_UNREAD.clear()


def account(name, *privileges, **kw):
    return AccountFacts(username=name, privileges=tuple(privileges), **kw)


def facts_of(name, instance=None):
    found = AccountPermission.objects.filter(instance_account__username=name)
    if instance is not None:
        found = found.filter(instance_account__instance=instance)
    return found.get().facts


def labels(name, instance=None):
    return {(p["privilege"], p["target"]) for p in facts_of(name, instance)["privileges"]}


# --- the scope's vocabulary ----------------------------------------------------------------------


def test_a_scope_contains_the_entries_under_its_target_at_the_levels_it_covers():
    assert APP.contains(SELECT_T) and APP.contains(DEFAULT_APP)
    assert not APP.contains(CONNECT_APP)  # read from pg_database: not inside
    assert not APP.contains(SELECT_APPX) and not APP.contains(SELECT_OTHER)
    assert APP.contains({"level": "column", "target": "app.s.t.c", "privilege": "UPDATE"})
    table = UnreadScope("global", "", "denied", source="mysql.tables_priv", covers=("object",))
    assert table.contains(SELECT_OTHER) and not table.contains(CONNECT_APP) and table.label == "mysql.tables_priv"


def test_mysql_table_and_routine_scopes_split_the_object_level_by_privilege_named_exactly():
    """mysql.tables_priv and mysql.procs_priv both hold object entries: each unread table's scope
    names its own privileges exactly (ALTER is not ALTER ROUTINE); a name ending in a space is a
    prefix (PostgreSQL's ``DEFAULT ``)."""
    rows = {"unread_tables": [{"table": "mysql.tables_priv", "reason": "denied"},
                              {"table": "mysql.procs_priv", "reason": "denied"}]}  # fmt: skip
    adapter = MySQLAdapter(ConnectionParams(1, "shop", "127.0.0.1", 3306, "monitor", "x"))  # never connects
    tables, routines = adapter.account_unread_scopes(rows)

    def entry(privilege, target="shop.orders"):
        return {"level": "object", "target": target, "privilege": privilege}

    assert tables.contains(entry("SELECT")) and tables.contains(entry("ALTER")) and tables.contains(entry("USAGE"))
    assert not tables.contains(entry("EXECUTE", "shop.purge")) and not tables.contains(entry("ALTER ROUTINE"))
    assert routines.contains(entry("EXECUTE", "shop.purge")) and routines.contains(entry("ALTER ROUTINE"))
    assert not routines.contains(entry("SELECT")) and not routines.contains(entry("ALTER"))
    assert APP.contains(DEFAULT_APP)  # "DEFAULT " is a prefix


# --- the merge (pure) -------------------------------------------------------------------------------


def test_carry_over_keeps_the_stored_entries_inside_and_takes_the_listing_outside():
    stored = {"privileges": [{"privilege": "SELECT", "level": "object", "target": "app.public.t", "grantable": True,
                              "state": "GRANT", "via": ["r1"], "via_set_role": False},
                             {"privilege": "SELECT", "level": "object", "target": "billing.public.x",
                              "grantable": False, "state": "GRANT", "via": [], "via_set_role": False}],
              "reasons": {"can_grant": ["SELECT on object app.public.t WITH GRANT OPTION via r1"]}}  # fmt: skip
    listed = account("u", CONNECT_APP)  # billing's SELECT really revoked; app's not read
    merged = carry_over(listed, facts=stored, snapshot={}, scopes=[APP])
    assert set(merged.privileges) == {CONNECT_APP, SELECT_T}
    assert merged.can_grant
    assert merged.reasons["can_grant"] == ("SELECT on object app.public.t WITH GRANT OPTION via r1",)
    untouched = account("v", SELECT_OTHER)
    assert carry_over(untouched, facts={"privileges": []}, snapshot={}, scopes=[APP]) is untouched


def test_carry_over_keeps_roles_and_the_snapshot_part_of_a_database_scope():
    scope = UnreadScope("database", "app", "no HAS_DBACCESS", role_prefix="app.", snapshot_path=("databases", "app"))
    stored_facts = {"privileges": [], "roles": ["app.db_owner", "sysadmin"],
                    "reasons": {"can_grant": ["member of app.db_owner"]}}  # fmt: skip
    stored_snapshot = {"databases": {"app": {"user": "u"}, "gone": {"user": "u"}}}
    listed = AccountFacts("u", roles=("sysadmin",), snapshot={"databases": {"shop": {"user": "u"}}})
    merged = carry_over(listed, facts=stored_facts, snapshot=stored_snapshot, scopes=[scope])
    assert set(merged.roles) == {"sysadmin", "app.db_owner"}
    assert merged.snapshot == {"databases": {"shop": {"user": "u"}, "app": {"user": "u"}}}
    assert merged.can_grant and merged.reasons["can_grant"] == ("member of app.db_owner",)
    assert listed.snapshot == {"databases": {"shop": {"user": "u"}}}  # the listing itself is not changed


def test_a_reason_carried_over_names_the_kept_role_itself_not_one_ending_like_it():
    # unread database "a": its a.db_owner is kept; "member of data.db_owner" is of the read
    # database "data", whose db_owner membership was really revoked
    scope = UnreadScope("database", "a", "no HAS_DBACCESS", role_prefix="a.", snapshot_path=("databases", "a"))
    reasons = ["member of data.db_owner", "member of a.db_owner via a.team"]
    stored_facts = {"privileges": [], "roles": ["a.db_owner", "data.db_owner"], "reasons": {"can_grant": reasons}}
    merged = carry_over(AccountFacts("u"), facts=stored_facts, snapshot={}, scopes=[scope])
    assert merged.roles == ("a.db_owner",)
    assert merged.reasons["can_grant"] == ("member of a.db_owner via a.team",)


# --- the sync ---------------------------------------------------------------------------------------


def test_a_partial_read_logs_nothing_inside_the_scope_keeps_and_marks_it_then_a_full_read_reconciles():
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = [account("u", CONNECT_APP, SELECT_T, DELETE_T, SELECT_OTHER),
                                    account("w", SELECT_T)]  # fmt: skip
    accounts_sync_instance(instance=instance)
    first_read = max(instance.accounts.values_list("last_seen_at", flat=True))
    before = AccountChangeLog.objects.count()

    # app cannot be read; billing's SELECT was really revoked meanwhile
    FAKE_ACCOUNTS[instance.name] = [account("u", CONNECT_APP), account("w")]
    FAKE_UNREAD[instance.name] = [APP]
    outcome = accounts_sync_instance(instance=instance)

    new_rows = list(AccountChangeLog.objects.order_by("pk")[before:].values_list("username", "change_type", "diff"))
    revoked = {"privileges": {"added": [], "removed": ["SELECT on object billing.public.x"]}}
    assert new_rows == [("u", "modify", revoked)]
    assert labels("u") == {("CONNECT", "app"), ("SELECT", "app.public.t"), ("DELETE", "app.public.t")}
    assert labels("w") == {("SELECT", "app.public.t")}
    entries = set(PrivilegeEntry.objects.filter(account__instance=instance).values_list("account__username", "target"))
    assert ("u", "app.public.t") in entries and ("w", "app.public.t") in entries
    assert ("u", "billing.public.x") not in entries
    (scope,) = AccountUnreadScope.objects.filter(instance=instance)
    assert (scope.name, scope.reason, scope.not_read_since) == ("database app", "no CONNECT", first_read)
    assert outcome.incomplete == [
        f"database app was not read (no CONNECT); its stored privileges are kept as they were "
        f"(not read since {first_read:%Y-%m-%d %H:%M} UTC)."
    ]
    assert outcome.details["unread_scopes"][0]["not_read_since"] == first_read.isoformat()
    # its fingerprint covers the scope: the same partial read again is unchanged, still partial
    assert AccountListing.objects.filter(instance=instance).exists()

    # still unread, nothing else changed: nothing logged or compared, the since-date stays the last full read
    with CaptureQueriesContext(connection) as again:
        outcome = accounts_sync_instance(instance=instance)
    assert outcome.details["unchanged_listing"] is True and not any("account_permissions" in q["sql"] for q in again)
    assert AccountChangeLog.objects.count() == before + 1 and outcome.incomplete == [
        f"database app was not read (no CONNECT); its stored privileges are kept as they were "
        f"(not read since {first_read:%Y-%m-%d %H:%M} UTC)."
    ]
    scope = AccountUnreadScope.objects.get(instance=instance)
    assert scope.not_read_since == first_read and scope.last_unread_at > first_read

    # still unread, but a change outside it: compared and logged as usual
    FAKE_ACCOUNTS[instance.name] = [account("u", CONNECT_APP), account("w"), account("new")]
    outcome = accounts_sync_instance(instance=instance)
    assert "unchanged_listing" not in outcome.details and outcome.created == 1 and outcome.incomplete
    assert AccountChangeLog.objects.filter(instance=instance, change_type="add").count() == 1
    FAKE_ACCOUNTS[instance.name] = [account("u", CONNECT_APP), account("w")]
    accounts_sync_instance(instance=instance)
    before += 2  # the add and the remove of "new"

    # readable again: DELETE on app.public.t was really revoked meanwhile, the rest is as kept
    FAKE_UNREAD.clear()
    FAKE_ACCOUNTS[instance.name] = [account("u", CONNECT_APP, SELECT_T), account("w", SELECT_T)]
    outcome = accounts_sync_instance(instance=instance)
    rows = list(AccountChangeLog.objects.order_by("pk")[before + 1 :].values_list("username", "diff"))  # after revoked
    assert rows == [("u", {"privileges": {"added": [], "removed": ["DELETE on object app.public.t via r1"]}})]
    assert not outcome.incomplete and "unread_scopes" not in outcome.details
    assert not AccountUnreadScope.objects.filter(instance=instance).exists()
    assert AccountListing.objects.filter(instance=instance).exists()


def test_a_scope_never_read_has_no_since_date_and_new_accounts_have_nothing_to_keep():
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = [account("u", CONNECT_APP)]
    FAKE_UNREAD[instance.name] = [APP]
    outcome = accounts_sync_instance(instance=instance)
    assert AccountUnreadScope.objects.get(instance=instance).not_read_since is None
    assert "(never read in full)" in outcome.incomplete[0]
    assert labels("u") == {("CONNECT", "app")}


def test_the_record_is_partial_and_names_each_scope_with_its_reason():
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = [account("u", SELECT_T)]
    accounts_sync_instance(instance=instance)
    FAKE_UNREAD[instance.name] = [APP, UnreadScope("global", "", "SELECT denied", source="mysql.tables_priv",
                                                   covers=("object",))]  # fmt: skip
    session = accounts_sync_all(instance_ids=[instance.pk])
    record = session.records.get()
    assert (record.status, session.partial_instances) == ("partial", 1)
    assert "database app was not read (no CONNECT)" in record.error_message
    assert "mysql.tables_priv was not read (SELECT denied)" in record.error_message
    assert {s["name"] for s in record.sync_details["unread_scopes"]} == {"database app", "mysql.tables_priv"}


def test_the_fingerprint_never_equates_a_partial_read_with_a_full_one_or_with_other_scopes():
    instance = make_fake_instance()
    adapter = get_adapter(instance)
    rows = {"accounts": [account("u")], "unread": []}
    partial = {"accounts": [account("u")], "unread": [APP]}
    other_reason = {"accounts": [account("u")], "unread": [dataclasses.replace(APP, reason="dropped meanwhile")]}
    prints = [listing_fingerprint(adapter=adapter, rows=r) for r in (rows, partial, other_reason)]
    assert len(set(prints)) == 3


def test_the_same_partial_read_is_unchanged_only_while_the_stored_scopes_are_its_own():
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = [account("u", CONNECT_APP, SELECT_T)]
    FAKE_UNREAD[instance.name] = [APP]
    accounts_sync_instance(instance=instance)
    assert accounts_sync_instance(instance=instance).details.get("unchanged_listing") is True
    AccountUnreadScope.objects.filter(instance=instance).delete()  # not what the last apply stored
    outcome = accounts_sync_instance(instance=instance)
    assert "unchanged_listing" not in outcome.details and outcome.incomplete
    assert AccountUnreadScope.objects.filter(instance=instance).count() == 1


def test_a_partial_sync_is_set_based_and_writes_nothing_for_accounts_that_only_differ_inside_the_scope():
    counts = []
    for n in (10, 300):
        instance = make_fake_instance()
        FAKE_ACCOUNTS[instance.name] = [account(f"u{i}", CONNECT_APP, SELECT_T) for i in range(n)]
        accounts_sync_instance(instance=instance)
        FAKE_ACCOUNTS[instance.name] = [account(f"u{i}", CONNECT_APP) for i in range(n)]
        FAKE_UNREAD[instance.name] = [APP]
        with CaptureQueriesContext(connection) as partial:
            accounts_sync_instance(instance=instance)
        FAKE_UNREAD.clear()
        assert labels("u0", instance) == {("CONNECT", "app"), ("SELECT", "app.public.t")}
        statements = [q["sql"] for q in partial if "SAVEPOINT" not in q["sql"]]
        counts.append(len(statements))
        # the listing check (its stored scopes), the stored states in one read, the scopes in one
        # write; no permission, entry or change row
        assert sum("account_unread_scopes" in q for q in statements) == 3
        assert not [q for q in statements if "INTO account_permissions" in q or "account_privilege_entries" in q
                    or "account_change_log" in q]  # fmt: skip
    assert counts[0] == counts[1], counts


def test_a_since_date_is_the_last_read_of_the_instance_before_the_scope_went_unread():
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = [account("u", SELECT_T)]
    accounts_sync_instance(instance=instance)
    accounts_sync_instance(instance=instance)  # an unchanged resync is a full read too
    last_full = max(instance.accounts.values_list("last_seen_at", flat=True))
    FAKE_UNREAD[instance.name] = [APP]
    FAKE_ACCOUNTS[instance.name] = [account("u")]
    accounts_sync_instance(instance=instance)
    since = AccountUnreadScope.objects.get(instance=instance).not_read_since
    assert since == last_full and since < max(instance.accounts.values_list("last_seen_at", flat=True))
    assert isinstance(since, dt.datetime)


# --- marked on the account page and in the API ------------------------------------------------------


def test_kept_entries_are_marked_not_read_since_in_the_api_and_on_the_account_page(
    api_client, admin_client_logged_in, django_assert_max_num_queries
):
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = [account("u", CONNECT_APP, SELECT_T), account("v", SELECT_OTHER)]
    accounts_sync_instance(instance=instance)
    first_read = max(instance.accounts.values_list("last_seen_at", flat=True))
    FAKE_ACCOUNTS[instance.name] = [account("u", CONNECT_APP), account("v", SELECT_OTHER)]
    FAKE_UNREAD[instance.name] = [APP]
    accounts_sync_instance(instance=instance)
    u, v = (instance.accounts.get(username=name) for name in ("u", "v"))

    body = api_client.get(f"/api/v1/accounts/{u.pk}/permissions").json()
    marks = {p["privilege"]: (p["not_read"], p["not_read_since"]) for p in body["privileges"]}
    since = first_read.isoformat().replace("+00:00", "Z")
    assert marks == {"CONNECT": (False, None), "SELECT": (True, since)}
    assert body["unread_scopes"] == [{"name": "database app", "level": "database", "target": "app",
                                      "reason": "no CONNECT", "not_read_since": since}]  # fmt: skip
    assert api_client.get(f"/api/v1/accounts/{v.pk}/permissions").json()["unread_scopes"] == []  # nothing in it
    assert api_client.get(f"/api/v1/accounts/{u.pk}/").json()["unread_scopes"] == body["unread_scopes"]
    assert api_client.get(f"/api/v1/accounts/{v.pk}/").json()["unread_scopes"] == []

    with django_assert_max_num_queries(16):
        page = admin_client_logged_in.get(f"/admin/accounts/instanceaccount/{u.pk}/change/")
    html = page.content.decode()
    assert f"not read since {first_read:%Y-%m-%d %H:%M} UTC" in html and "database app" in html
    assert "the last sync could not read it (no CONNECT)" in html


# --- SQL Server end to end, on the emulated catalog (tests/instances/adapters/emulated) -------------


def test_sqlserver_a_database_without_access_keeps_its_permissions_roles_and_snapshot(monkeypatch):
    """SQL Server 2012 (no CONNECT ANY DATABASE): REVOKE CONNECT from the monitoring user in hr makes
    HAS_DBACCESS 0; the sync keeps ivy's hr permissions, her hr.db_owner role (and the can_grant it
    gives) and the snapshot's hr entry, logs nothing for them, and logs the revocation that happened
    meanwhile once the database is readable again."""
    from instances.adapters.sqlserver.adapter import SQLServerAdapter
    from tests.instances.adapters.emulated.sqlserver import SQLServer
    from tests.support.factories import make_credential, make_instance

    server = SQLServer("11.0.7507.2")
    server.login("mon")
    server.grant("VIEW ANY DEFINITION", "mon")
    server.login("ivy")
    hr = server.database("hr")
    payroll = hr.table("dbo", "payroll")
    for user in ("mon", "ivy"):
        hr.user(user, user)
    hr.add_member("db_owner", "ivy")
    hr.grant("SELECT", "ivy", table=payroll)
    monkeypatch.setattr(SQLServerAdapter, "driver_connect", staticmethod(server.connect))
    instance = make_instance(db_type="sqlserver", host="mssql.example", port=1433,
                             credential=make_credential(username="mon", password="Pa55-word!"))  # fmt: skip
    accounts_sync_instance(instance=instance)
    before = AccountChangeLog.objects.filter(instance=instance).count()
    stored = AccountPermission.objects.get(instance_account__instance=instance, instance_account__username="ivy")

    def revoke(permission, user, major_id=0):
        server.duck.execute(
            'DELETE FROM "hr".sys.database_permissions WHERE grantee_principal_id = ? AND permission_name = ? '
            "AND major_id = ?",
            [hr.principals[user], permission, major_id],
        )

    revoke("CONNECT", "mon")
    revoke("SELECT", "ivy", payroll.object_id)  # unseen while hr is not read
    outcome = accounts_sync_instance(instance=instance)
    assert [s["name"] for s in outcome.details["unread_scopes"]] == ["database hr"]
    assert AccountChangeLog.objects.filter(instance=instance).count() == before
    kept = AccountPermission.objects.get(pk=stored.pk)
    assert (kept.facts, kept.snapshot, kept.roles, kept.state_hash) == (
        stored.facts, stored.snapshot, stored.roles, stored.state_hash
    )  # fmt: skip
    assert "hr.db_owner" in kept.roles and kept.can_grant and "hr" in kept.snapshot["databases"]

    hr.grant("CONNECT", "mon")
    outcome = accounts_sync_instance(instance=instance)
    assert "unread_scopes" not in outcome.details
    (row,) = AccountChangeLog.objects.filter(instance=instance).order_by("pk")[before:]
    assert (row.username, row.diff["privileges"]["removed"]) == ("ivy", ["SELECT on object hr.dbo.payroll"])


def test_the_snapshot_is_copied_only_where_the_stored_part_differs():
    from accounts.unread import _snapshot

    listed = {"databases": {"shop": {"user": "u"}}}
    assert _snapshot(listed, {"databases": {"shop": {"user": "u"}}}, [("databases", "app")]) is listed
    assert _snapshot({"plugin": "x"}, {}, [("databases", "app")]) == {"plugin": "x"}  # nothing created
    assert _snapshot(listed, {"databases": {"app": 1}}, [("databases", "app")]) == {
        "databases": {"shop": {"user": "u"}, "app": 1}
    }
    assert listed == {"databases": {"shop": {"user": "u"}}}

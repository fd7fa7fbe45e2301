"""Account sync end to end against this machine's MariaDB and PostgreSQL.

Users and roles carry the run prefix and are dropped afterwards; the
monitoring login has exactly the GRANTs documented in docs/adapters.md.
"""

import pytest
from psycopg import sql as pgsql

from accounts.models import AccountChangeLog, AccountPermission, AccountUnreadScope, InstanceAccount, PrivilegeEntry
from accounts.services import accounts_sync_all
from tests.live_targets import RUN_PREFIX, pg_drop_role
from tests.support.factories import make_credential, make_instance

pytestmark = [pytest.mark.django_db, pytest.mark.live]


def instance_for(params, db_type):
    return make_instance(
        db_type=db_type,
        host=params.host,
        port=params.port,
        credential=make_credential(username=params.username, password=params.password),
    )


def sync(instance, *, unread=()):
    """Sync and check the record: ``completed``, or ``partial`` naming exactly the databases of this
    run in ``unread`` — plus, on the shared server, any other database the monitoring login may not
    connect to (another test's, another run's): those make a record partial too."""
    session = accounts_sync_all(instance_ids=[instance.pk])
    record = session.records.get()
    scopes = record.sync_details.get("unread_scopes", [])
    assert {s["target"] for s in scopes if s["target"].startswith(RUN_PREFIX)} == set(unread), scopes
    assert record.status == ("partial" if scopes else "completed"), record.error_message
    return record


def unchanged_or_partial(record):
    """A resync of an unchanged target: recognised by its fingerprint — a partial read too, when it
    is the same partial read again — unless the read was partial because of a database of someone
    else's on the shared server, which may come and go meanwhile (then it is compared in full)."""
    return record.sync_details.get("unchanged_listing") is True or bool(record.sync_details.get("unread_scopes"))


def our_changes(instance, prefix):
    return list(
        AccountChangeLog.objects.filter(instance=instance, username__startswith=prefix)
        .order_by("changed_at", "change_type", "username")
        .values_list("change_type", "username", "diff")
    )


def assert_baseline(instance, record) -> None:
    """A first sync on a live server: one baseline row counting every login it found, no add rows."""
    rows = list(AccountChangeLog.objects.filter(instance=instance).values_list("change_type", "diff"))
    assert [t for t, _ in rows] == ["baseline"] and record.sync_details["baseline"] is True
    found = InstanceAccount.objects.filter(instance=instance).count()
    assert rows[0][1]["baseline"]["account_count"] == found == record.items_created > 0
    assert rows[0][1]["baseline"]["superusers"] >= 1  # root / postgres


def test_mariadb_add_modify_remove_reactivate(mysql_scratch, mysql_monitor):
    prefix = f"{RUN_PREFIX}s_"
    a, b, db = f"{prefix}a", f"{prefix}b", f"{prefix}shop"
    for user in (a, b):
        mysql_scratch.later(f"DROP USER IF EXISTS '{user}'@'%'")
    instance = instance_for(mysql_monitor, "mysql")
    assert_baseline(instance, sync(instance))  # the first sync: what exists is its baseline, nothing "added"
    mysql_scratch.run(f"CREATE USER '{a}'@'%' IDENTIFIED BY 'x1-pass'")
    mysql_scratch.run(f"CREATE USER '{b}'@'%' IDENTIFIED BY 'x2-pass'")
    mysql_scratch.run(f"GRANT SELECT ON `{db}`.* TO '{a}'@'%'")

    sync(instance)
    assert [(t, u) for t, u, _ in our_changes(instance, prefix)] == [("add", a), ("add", b)]

    mysql_scratch.run(f"GRANT INSERT ON `{db}`.* TO '{a}'@'%' WITH GRANT OPTION")
    mysql_scratch.run(f"ALTER USER '{b}'@'%' ACCOUNT LOCK")
    record = sync(instance)
    assert record.items_updated >= 2
    modified = {u: diff for t, u, diff in our_changes(instance, prefix) if t == "modify"}
    assert modified[a]["can_grant"] == {"old": False, "new": True}
    assert any("INSERT" in p and db in p for p in modified[a]["privileges"]["added"])
    # a locked account cannot log in: both flags change
    assert modified[b] == {"is_locked": {"old": False, "new": True}, "can_login": {"old": True, "new": False}}

    mysql_scratch.run(f"DROP USER '{b}'@'%'")
    sync(instance)
    account_b = InstanceAccount.objects.get(instance=instance, username=b, host="%")
    assert not account_b.is_active and account_b.deactivated_at

    mysql_scratch.run(f"CREATE USER '{b}'@'%' IDENTIFIED BY 'x3-pass'")
    sync(instance)
    account_b.refresh_from_db()
    assert account_b.is_active and account_b.deactivated_at is None
    assert [(t, u) for t, u, _ in our_changes(instance, prefix)] == [
        ("add", a),
        ("add", b),
        ("modify", a),
        ("modify", b),
        ("remove", b),
        ("reactivate", b),
    ]
    # a resync with no change on the target writes no change rows; the catalog
    # rows read the same, so the listing is recognised without a comparison
    before = AccountChangeLog.objects.filter(instance=instance).count()
    record = sync(instance)
    assert AccountChangeLog.objects.filter(instance=instance).count() == before
    assert record.items_created == record.items_updated == record.items_deleted == 0
    assert record.sync_details["unchanged_listing"] is True
    assert record.items_synced == InstanceAccount.objects.filter(instance=instance, is_active=True).count()


@pytest.mark.smoke
def test_postgresql_add_modify_remove_reactivate(pg_scratch, pg_monitor):
    prefix = f"{RUN_PREFIX}s_"
    a, b, group = f"{prefix}a", f"{prefix}b", f"{prefix}readers"
    for role in (a, b, group):
        pg_scratch.later(pg_drop_role(role))
    ident = pgsql.Identifier
    instance = instance_for(pg_monitor, "postgresql")
    assert_baseline(instance, sync(instance))  # the first sync: what exists is its baseline, nothing "added"
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(ident(group)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD 'x1-pass'").format(ident(a)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD 'x2-pass'").format(ident(b)))

    sync(instance)
    # the NOLOGIN group is a role, not an account
    assert [(t, u) for t, u, _ in our_changes(instance, prefix)] == [("add", a), ("add", b)]

    pg_scratch.run(pgsql.SQL("GRANT {} TO {}").format(ident(group), ident(a)))
    pg_scratch.run(pgsql.SQL("ALTER ROLE {} CREATEROLE").format(ident(b)))
    sync(instance)
    modified = {u: diff for t, u, diff in our_changes(instance, prefix) if t == "modify"}
    assert modified[a]["roles"] == {"added": [group], "removed": []}
    assert modified[b]["can_grant"] == {"old": False, "new": True}

    pg_scratch.run(pgsql.SQL("DROP ROLE {}").format(ident(b)))
    sync(instance)
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN").format(ident(b)))
    sync(instance)
    assert [(t, u) for t, u, _ in our_changes(instance, prefix)] == [
        ("add", a),
        ("add", b),
        ("modify", a),
        ("modify", b),
        ("remove", b),
        ("reactivate", b),
    ]
    reactivated = [diff for t, u, diff in our_changes(instance, prefix) if t == "reactivate"][0]
    assert reactivated["can_grant"] == {"old": True, "new": False}
    # nothing changed on the target: the listing is recognised by its fingerprint
    assert unchanged_or_partial(sync(instance))


def test_mariadb_role_revoked_names_the_privileges_lost_with_their_path(mysql_scratch, mysql_monitor):
    prefix = f"{RUN_PREFIX}v_"
    user, outer, inner, db = f"{prefix}u", f"{prefix}reporting", f"{prefix}base", f"{prefix}app"
    mysql_scratch.later(f"DROP USER IF EXISTS '{user}'@'%'")
    for role in (outer, inner):
        mysql_scratch.later(f"DROP ROLE IF EXISTS {role}")
        mysql_scratch.run(f"CREATE ROLE {role}")
    mysql_scratch.run(f"GRANT {inner} TO {outer}")
    mysql_scratch.run(f"GRANT DELETE ON `{db}`.* TO {inner}")
    instance = instance_for(mysql_monitor, "mysql")
    sync(instance)  # the baseline: the user below is then added
    mysql_scratch.run(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'x1-pass'")
    mysql_scratch.run(f"GRANT {outer} TO '{user}'@'%'")
    mysql_scratch.run(f"SET DEFAULT ROLE {outer} FOR '{user}'@'%'")
    sync(instance)
    added = [diff for t, u, diff in our_changes(instance, prefix) if t == "add"][0]
    assert {"privilege": "DELETE", "level": "database", "target": db, "grantable": False, "state": "GRANT",
            "via": [outer, inner], "via_set_role": False} in added["facts"]["privileges"]  # fmt: skip

    mysql_scratch.run(f"REVOKE {outer} FROM '{user}'@'%'")
    sync(instance)
    modified = [diff for t, u, diff in our_changes(instance, prefix) if t == "modify"]
    assert modified == [{
        "roles": {"added": [], "removed": [inner, outer]},
        "privileges": {"added": [], "removed": [f"DELETE on {db}.* via {outer} → {inner}"]},
    }]  # fmt: skip
    before = AccountChangeLog.objects.filter(instance=instance).count()
    assert sync(instance).sync_details["unchanged_listing"] is True
    assert AccountChangeLog.objects.filter(instance=instance).count() == before  # an unchanged resync: 0 rows


def test_postgresql_role_revoked_names_the_privileges_lost_and_unread_databases(pg_scratch, pg_monitor):
    prefix = f"{RUN_PREFIX}v_"
    login, outer, inner, locked = f"{prefix}u", f"{prefix}reporting", f"{prefix}base", f"{prefix}locked"
    ident = pgsql.Identifier
    for role in (login, outer, inner):
        pg_scratch.later(pg_drop_role(role))
    pg_scratch.later(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident(locked)))
    pg_scratch.run(pgsql.SQL("CREATE DATABASE {}").format(ident(locked)))
    pg_scratch.run(pgsql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(ident(locked)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(ident(inner)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} NOLOGIN IN ROLE {}").format(ident(outer), ident(inner)))
    pg_scratch.run(pgsql.SQL("GRANT TEMPORARY ON DATABASE postgres TO {} WITH GRANT OPTION").format(ident(inner)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(ident(login), ident(outer)))
    instance = instance_for(pg_monitor, "postgresql")
    record = sync(instance, unread=[locked])
    unread = {d["target"]: d["reason"] for d in record.sync_details["unread_scopes"]}
    assert unread[locked] == "the monitoring login has no CONNECT privilege on it"

    pg_scratch.run(pgsql.SQL("REVOKE {} FROM {}").format(ident(outer), ident(login)))
    record = sync(instance, unread=[locked])
    modified = [diff for t, u, diff in our_changes(instance, prefix) if t == "modify"]
    assert modified == [{
        "can_grant": {"old": True, "new": False},
        "roles": {"added": [], "removed": [inner, outer]},
        "privileges": {"added": [], "removed": [f"TEMPORARY on postgres.* WITH GRANT OPTION via {outer} → {inner}"]},
    }]  # fmt: skip
    before = AccountChangeLog.objects.filter(instance=instance).count()
    record = sync(instance, unread=[locked])
    # the same partial read again: unchanged (its fingerprint covers the unread database), still
    # partial; compared in full only if another run's database came or went meanwhile — nothing to log
    assert unchanged_or_partial(record) and record.status == "partial"
    assert AccountChangeLog.objects.filter(instance=instance).count() == before
    assert locked in {d["target"] for d in record.sync_details["unread_scopes"]}


def test_postgresql_a_database_the_monitor_cannot_connect_to_is_kept_marked_and_reconciled_later(
    pg_scratch, pg_monitor
):
    """Issue 20's partial read: the documented non-superuser monitoring login; CONNECT revoked from
    PUBLIC on a database holding grants. Nothing inside it is logged, its entries are kept (facts
    and who-can rows) and marked, the record is partial; the revocation of CONNECT itself is read
    from pg_database like every database-level grant, and is logged as the change it is (on the
    PUBLIC pseudo-account). GRANT CONNECT back: a full read logs exactly what happened inside meanwhile."""
    prefix = f"{RUN_PREFIX}p_"
    app, group, u, w = f"{prefix}app", f"{prefix}r1", f"{prefix}u", f"{prefix}w"
    ident = pgsql.Identifier
    for role in (u, w, group):
        pg_scratch.later(pg_drop_role(role))
    pg_scratch.later(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident(app)))
    pg_scratch.run(pgsql.SQL("CREATE DATABASE {}").format(ident(app)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(ident(group)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(ident(u), ident(group)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN").format(ident(w)))
    pg_scratch.run("CREATE TABLE public.events (id int)", database=app)
    pg_scratch.run(pgsql.SQL("GRANT SELECT, DELETE ON public.events TO {}").format(ident(group)), database=app)
    pg_scratch.run(pgsql.SQL("GRANT UPDATE ON public.events TO {}").format(ident(w)), database=app)
    instance = instance_for(pg_monitor, "postgresql")
    sync(instance)
    first_read = InstanceAccount.objects.get(instance=instance, username=u).last_seen_at
    inside = {("SELECT", f"{app}.public.events"), ("DELETE", f"{app}.public.events")}
    assert inside <= entries_of(instance, u)

    pg_scratch.run(pgsql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(ident(app)))
    pg_scratch.run(pgsql.SQL("REVOKE UPDATE ON public.events FROM {}").format(ident(w)), database=app)  # unseen
    pg_scratch.run(pgsql.SQL("ALTER ROLE {} CREATEROLE").format(ident(w)))  # outside: seen
    before = AccountChangeLog.objects.filter(instance=instance).count()
    record = sync(instance, unread=[app])

    assert f"database {app} was not read (the monitoring login has no CONNECT privilege on it)" in (
        record.error_message
    )
    rows = list(AccountChangeLog.objects.filter(instance=instance).order_by("pk")[before:]
                .values_list("username", "diff"))  # fmt: skip
    assert [d["can_grant"] for name, d in rows if name == w] == [{"old": False, "new": True}]
    assert not [r for r in rows if f"{app}.public" in str(r[1])]  # nothing inside the database
    assert [(name, d["privileges"]) for name, d in rows if app in str(d)] == [
        ("PUBLIC", {"added": [], "removed": [f"CONNECT on {app}.*"]})
    ]
    assert inside <= entries_of(instance, u) and inside <= facts_of(instance, u)
    assert ("UPDATE", f"{app}.public.events") in entries_of(instance, w)  # kept as it was
    scope = AccountUnreadScope.objects.get(instance=instance, name=f"database {app}")
    assert scope.not_read_since == first_read

    pg_scratch.run(pgsql.SQL("GRANT CONNECT ON DATABASE {} TO PUBLIC").format(ident(app)))
    before = AccountChangeLog.objects.filter(instance=instance).count()
    sync(instance)
    rows = list(AccountChangeLog.objects.filter(instance=instance).order_by("pk")[before:]
                .values_list("username", "diff"))  # fmt: skip
    assert sorted((name, d["privileges"]["added"], d["privileges"]["removed"]) for name, d in rows) == [
        ("PUBLIC", [f"CONNECT on {app}.*"], []),
        (w, [], [f"UPDATE on object {app}.public.events"]),
    ]
    assert inside <= entries_of(instance, u)
    assert not AccountUnreadScope.objects.filter(instance=instance, name=f"database {app}").exists()


def entries_of(instance, username):
    return set(
        PrivilegeEntry.objects.filter(account__instance=instance, account__username=username).values_list(
            "privilege", "target"
        )
    )


def facts_of(instance, username):
    facts = AccountPermission.objects.get(instance_account__instance=instance, instance_account__username=username)
    return {(p["privilege"], p["target"]) for p in facts.facts["privileges"]}


def _mariadb_user_of_events_and_purge(scratch, monitor_params, prefix: str, withheld: str) -> tuple[str, str, str]:
    """(user, database, monitor account): a login with DELETE and UPDATE on table ``events`` and
    EXECUTE on procedure ``purge`` of its own database; the monitor gets SELECT on the privilege
    table ``withheld`` back at teardown (the test revokes it)."""
    user, db = f"{prefix}u", f"{prefix}app"
    monitor = f"'{monitor_params.username}'@'%'"
    scratch.later(f"DROP USER IF EXISTS '{user}'@'%'")
    scratch.later(f"GRANT SELECT ON {withheld} TO {monitor}")
    scratch.later(f"DROP DATABASE IF EXISTS `{db}`")
    scratch.run(f"CREATE DATABASE `{db}`")
    scratch.run(f"CREATE TABLE `{db}`.`events` (id int)")
    scratch.run(f"CREATE PROCEDURE `{db}`.`purge`() BEGIN END")
    scratch.run(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'x1-pass'")
    scratch.run(f"GRANT DELETE, UPDATE ON `{db}`.`events` TO '{user}'@'%'")
    scratch.run(f"GRANT EXECUTE ON PROCEDURE `{db}`.`purge` TO '{user}'@'%'")
    return user, db, monitor


def test_mariadb_routine_grants_unread_are_kept_while_table_grants_are_read(mysql_scratch, mysql_monitor):
    """Without SELECT on mysql.procs_priv only the routine entries (object-level EXECUTE and ALTER
    ROUTINE) are kept as stored; a table grant revoked meanwhile is seen and logged."""
    prefix = f"{RUN_PREFIX}rp_"
    user, db, monitor = _mariadb_user_of_events_and_purge(mysql_scratch, mysql_monitor, prefix, "mysql.procs_priv")
    instance = instance_for(mysql_monitor, "mysql")
    sync(instance)
    routine = ("EXECUTE", f"{db}.purge")
    assert {routine, ("DELETE", f"{db}.events"), ("UPDATE", f"{db}.events")} <= entries_of(instance, user)

    mysql_scratch.run(f"REVOKE SELECT ON mysql.procs_priv FROM {monitor}")
    mysql_scratch.run(f"REVOKE EXECUTE ON PROCEDURE `{db}`.`purge` FROM '{user}'@'%'")  # unseen now
    mysql_scratch.run(f"REVOKE UPDATE ON `{db}`.`events` FROM '{user}'@'%'")  # a table grant: seen
    before = AccountChangeLog.objects.filter(instance=instance).count()
    record = accounts_sync_all(instance_ids=[instance.pk]).records.get()
    assert record.status == "partial" and "mysql.procs_priv was not read (SELECT command denied" in (
        record.error_message
    )
    rows = list(AccountChangeLog.objects.filter(instance=instance).order_by("pk")[before:]
                .values_list("username", "diff"))  # fmt: skip
    assert [(name, d["privileges"]) for name, d in rows if name.startswith(prefix)] == [
        (user, {"added": [], "removed": [f"UPDATE on object {db}.events"]})
    ]
    assert routine in entries_of(instance, user) and ("UPDATE", f"{db}.events") not in entries_of(instance, user)

    mysql_scratch.run(f"GRANT SELECT ON mysql.procs_priv TO {monitor}")
    sync(instance)
    assert routine not in entries_of(instance, user)
    assert not AccountUnreadScope.objects.filter(instance=instance).exists()


def test_mariadb_a_privilege_table_the_monitor_may_not_read_is_kept_marked_and_reconciled_later(
    mysql_scratch, mysql_monitor
):
    """A monitoring login with the documented GRANTs but SELECT on mysql.tables_priv revoked: the
    table privileges are kept as stored and marked, nothing about them is logged, the record is
    partial naming the table and the server's words; granted back, a full read logs what happened.
    Routine grants (object entries too, from mysql.procs_priv) are still read meanwhile."""
    prefix = f"{RUN_PREFIX}q_"
    user, db, monitor = _mariadb_user_of_events_and_purge(mysql_scratch, mysql_monitor, prefix, "mysql.tables_priv")
    mysql_scratch.run(f"GRANT SELECT ON `{db}`.* TO '{user}'@'%'")
    instance = instance_for(mysql_monitor, "mysql")
    sync(instance)
    first_read = InstanceAccount.objects.get(instance=instance, username=user).last_seen_at
    tables = {("DELETE", f"{db}.events"), ("UPDATE", f"{db}.events")}
    assert tables <= entries_of(instance, user)

    mysql_scratch.run(f"REVOKE SELECT ON mysql.tables_priv FROM {monitor}")
    mysql_scratch.run(f"REVOKE UPDATE ON `{db}`.`events` FROM '{user}'@'%'")  # unseen now
    mysql_scratch.run(f"GRANT INSERT ON `{db}`.* TO '{user}'@'%'")  # a database grant: seen
    mysql_scratch.run(f"REVOKE EXECUTE ON PROCEDURE `{db}`.`purge` FROM '{user}'@'%'")  # a routine grant: seen
    before = AccountChangeLog.objects.filter(instance=instance).count()
    session = accounts_sync_all(instance_ids=[instance.pk])
    record = session.records.get()
    assert record.status == "partial" and "mysql.tables_priv was not read (SELECT command denied" in (
        record.error_message
    )
    rows = list(AccountChangeLog.objects.filter(instance=instance).order_by("pk")[before:]
                .values_list("username", "diff"))  # fmt: skip
    assert [(name, d["privileges"]) for name, d in rows if name.startswith(prefix)] == [
        (user, {"added": [f"INSERT on {db}.*"], "removed": [f"EXECUTE on object {db}.purge"]})
    ]
    assert tables <= entries_of(instance, user) and tables <= facts_of(instance, user)
    assert AccountUnreadScope.objects.get(instance=instance, name="mysql.tables_priv").not_read_since == first_read

    mysql_scratch.run(f"GRANT SELECT ON mysql.tables_priv TO {monitor}")
    before = AccountChangeLog.objects.filter(instance=instance).count()
    sync(instance)
    rows = list(AccountChangeLog.objects.filter(instance=instance).order_by("pk")[before:]
                .values_list("username", "diff"))  # fmt: skip
    assert [(name, d["privileges"]) for name, d in rows if name.startswith(prefix)] == [
        (user, {"added": [], "removed": [f"UPDATE on object {db}.events"]})
    ]
    assert not AccountUnreadScope.objects.filter(instance=instance).exists()

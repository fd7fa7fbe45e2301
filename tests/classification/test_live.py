"""The default rules against facts of accounts synced from this machine's MariaDB and PostgreSQL:
a real superuser matched, a plain user not, DELETE through a role chain matched (with its path)."""

from __future__ import annotations

import pytest
from psycopg import sql as pgsql

from accounts.services import accounts_sync_all
from classification.models import AccountClassificationAssignment
from classification.services import classification_auto_classify
from tests.live_targets import RUN_PREFIX, pg_drop_role
from tests.support.factories import make_credential, make_instance

pytestmark = [pytest.mark.django_db, pytest.mark.live]


def synced(params, db_type):
    instance = make_instance(
        db_type=db_type, host=params.host, port=params.port,
        credential=make_credential(username=params.username, password=params.password),
    )  # fmt: skip
    assert accounts_sync_all(instance_ids=[instance.pk]).records.get().status == "completed"
    record = classification_auto_classify(instance_ids=[instance.pk]).records.get()
    assert record.status == "completed", record.error_message
    return instance


def classified(instance, prefix):
    rows = AccountClassificationAssignment.objects.filter(
        account__instance=instance, account__username__startswith=prefix
    ).select_related("account", "classification")
    return {(a.account.username, a.classification.code): a.why for a in rows}


def test_mariadb_default_rules(mysql_scratch, mysql_monitor):
    prefix = f"{RUN_PREFIX}c_"
    boss, plain, writer, outer, inner = (f"{prefix}{n}" for n in ("boss", "plain", "writer", "rw", "base"))
    db = f"{prefix}app"
    for user in (boss, plain, writer):
        mysql_scratch.later(f"DROP USER IF EXISTS '{user}'@'%'")
        mysql_scratch.run(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'x1-pass'")
    for role in (outer, inner):
        mysql_scratch.later(f"DROP ROLE IF EXISTS {role}")
        mysql_scratch.run(f"CREATE ROLE {role}")
    mysql_scratch.run(f"GRANT ALL PRIVILEGES ON *.* TO '{boss}'@'%' WITH GRANT OPTION")
    mysql_scratch.run(f"GRANT SELECT ON `{db}`.* TO '{plain}'@'%'")
    mysql_scratch.run(f"GRANT {inner} TO {outer}")
    mysql_scratch.run(f"GRANT DELETE ON `{db}`.* TO {inner}")
    mysql_scratch.run(f"GRANT {outer} TO '{writer}'@'%'")
    mysql_scratch.run(f"SET DEFAULT ROLE {outer} FOR '{writer}'@'%'")
    got = classified(synced(mysql_monitor, "mysql"), prefix)
    assert (boss, "superuser") in got and (boss, "can_grant") in got
    # this MariaDB checks no passwords (no validation plugin): every password login matches that, and only that
    assert [code for user, code in got if user == plain] == ["no_password_policy"]
    assert got[(plain, "no_password_policy")] == [
        "can_login", "password policy not enforced: no password validation plugin is active (simple_password_check, "
        "cracklib_password_check)"]  # fmt: skip
    assert got[(writer, "write_delete")] == [f"DELETE on {db} (database) via {outer} → {inner}"]
    assert (writer, "superuser") not in got


def test_postgresql_default_rules(pg_scratch, pg_monitor):
    prefix = f"{RUN_PREFIX}c_"
    boss, plain, writer, outer, inner = (f"{prefix}{n}" for n in ("boss", "plain", "writer", "rw", "base"))
    owner = f"{prefix}owner"
    ident = pgsql.Identifier
    for role in (boss, plain, writer, outer, inner, owner):
        pg_scratch.later(pg_drop_role(role))
    pg_scratch.later(pgsql.SQL("DROP TABLE IF EXISTS {}").format(ident(f"{prefix}orders")))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(ident(boss)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN").format(ident(plain)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(ident(inner)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} NOLOGIN IN ROLE {}").format(ident(outer), ident(inner)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(ident(writer), ident(outer)))
    pg_scratch.run(pgsql.SQL("CREATE TABLE {} (id int)").format(ident(f"{prefix}orders")))
    pg_scratch.run(pgsql.SQL("GRANT SELECT ON {} TO {}").format(ident(f"{prefix}orders"), ident(plain)))
    pg_scratch.run(pgsql.SQL("GRANT DELETE ON {} TO {}").format(ident(f"{prefix}orders"), ident(inner)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN").format(ident(owner)))
    pg_scratch.later(pgsql.SQL("DROP TABLE IF EXISTS {}").format(ident(f"{prefix}owned")))
    pg_scratch.run(pgsql.SQL("CREATE TABLE {} (id int)").format(ident(f"{prefix}owned")))
    pg_scratch.run(pgsql.SQL("ALTER TABLE {} OWNER TO {}").format(ident(f"{prefix}owned"), ident(owner)))
    got = classified(synced(pg_monitor, "postgresql"), prefix)
    assert (boss, "superuser") in got
    # what the engine grants without an ACL entry counts: a superuser and a table's owner can DELETE
    assert got[(boss, "write_delete")][1] == "ALL on * (global) WITH GRANT OPTION (direct) (implied by superuser)"
    assert got[(owner, "write_delete")][1] == (
        f"ALL on postgres.public.{prefix}owned (object) WITH GRANT OPTION (direct) (implied by owner)")  # fmt: skip
    assert (owner, "can_grant") not in got and (owner, "ddl_anywhere") not in got
    assert not [key for key in got if key[0] == plain]
    assert got[(writer, "write_delete")] == [  # the rule's two clauses: not PUBLIC, and the privilege with its path
        "not username_matches(pattern='PUBLIC')",
        f"DELETE on postgres.public.{prefix}orders (object) via {outer} → {inner}",
    ]

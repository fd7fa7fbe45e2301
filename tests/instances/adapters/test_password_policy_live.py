"""``facts.password_policy`` read from the live MariaDB and PostgreSQL.

MariaDB: ``simple_password_check`` ships with the server; the test installs it only for the one
catalog read (other tests on this server create users with simple passwords) and uninstalls it in a
``finally``, then applies that read through the account sync: the fact flips and the change is logged.
"""

from __future__ import annotations

import secrets

import pytest
from psycopg import sql as pgsql

from accounts.models import AccountChangeLog, AccountPermission
from accounts.services import accounts_apply, accounts_sync_all
from instances.adapters.base import PasswordPolicy
from instances.adapters.mysql.adapter import MySQLAdapter
from instances.adapters.mysql.parse import password_policy
from instances.adapters.postgresql.adapter import PostgreSQLAdapter
from instances.adapters.registry import get_adapter
from tests.live_targets import RUN_PREFIX, pg_drop_role
from tests.support.factories import make_credential, make_instance

pytestmark = pytest.mark.live

P = f"{RUN_PREFIX}pw_"


@pytest.mark.django_db
def test_mariadb_simple_password_check_flips_the_fact(mysql_scratch, mysql_monitor):
    user, socket_user = f"{P}app", f"{P}sock"
    for name in (user, socket_user):
        mysql_scratch.later(f"DROP USER IF EXISTS '{name}'@'%'")
    mysql_scratch.run("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, "Wf-" + secrets.token_urlsafe(12) + "9a"))
    mysql_scratch.run(f"CREATE USER '{socket_user}'@'%' IDENTIFIED VIA unix_socket")
    instance = make_instance(db_type="mysql", host=mysql_monitor.host, port=mysql_monitor.port,
                             credential=make_credential(username=mysql_monitor.username,
                                                        password=mysql_monitor.password))  # fmt: skip
    assert accounts_sync_all(instance_ids=[instance.pk]).records.get().status == "completed"
    before = AccountPermission.objects.get(instance_account__instance=instance, instance_account__username=user)
    assert before.facts["password_policy"]["enforced"] is False
    assert "no password validation plugin is active" in before.facts["password_policy"]["reason"]

    adapter = get_adapter(instance)
    assert mysql_scratch.run("SELECT COUNT(*) FROM information_schema.PLUGINS "
                             "WHERE PLUGIN_NAME = 'simple_password_check'")[0][0] == 0  # fmt: skip
    mysql_scratch.run("INSTALL SONAME 'simple_password_check'")
    try:
        rows = adapter.read_account_rows()  # the one read with the plugin in place
    finally:
        mysql_scratch.run("UNINSTALL SONAME 'simple_password_check'")
    assert rows["password_check"] == {"plugins": "simple_password_check", "strict_validation": True}

    accounts = {(a.username, a.host): a for a in adapter.parse_account_rows(rows)}
    assert accounts[(user, "%")].password_policy == PasswordPolicy(
        True, "simple_password_check active (strict_password_validation ON)")  # fmt: skip
    assert accounts[(socket_user, "%")].password_policy == PasswordPolicy(
        None, "authenticates with unix_socket, not with a password the server stores")  # fmt: skip
    accounts_apply(instance=instance, accounts=list(accounts.values()))
    change = AccountChangeLog.objects.get(instance=instance, username=user, change_type="modify")
    assert change.diff["password_policy"]["new"]["enforced"] is True
    assert change.diff["password_policy"]["old"]["enforced"] is False
    assert not AccountChangeLog.objects.filter(instance=instance, username=socket_user, change_type="modify")


def test_mariadb_without_strict_validation_is_not_enforced(mysql_monitor):
    """The recorded shape of the read (no plugin installed here): strict OFF lets a hash through."""
    check = {"plugins": "simple_password_check", "strict_validation": False}
    policy = password_policy(check, "mysql_native_password", mariadb=True)
    assert policy.enforced is False and "strict_password_validation is OFF" in policy.reason
    adapter = MySQLAdapter(mysql_monitor)
    assert adapter.read_account_rows()["password_check"]["strict_validation"] is True  # this server's setting


@pytest.fixture
def pg_roles(pg_scratch):
    with_password, without = f"{P}pw", f"{P}nopw"
    for name in (with_password, without):
        pg_scratch.later(pg_drop_role(name))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
        pgsql.Identifier(with_password), pgsql.Literal("Wf-" + secrets.token_urlsafe(12))))  # fmt: skip
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN").format(pgsql.Identifier(without)))
    return with_password, without


def test_postgresql_monitor_cannot_see_shared_preload_libraries(pg_roles, pg_monitor):
    """The documented monitoring login (not a superuser, no pg_read_all_settings) cannot read the
    setting nor pg_authid: the engine cannot tell it, so the fact is null with the reason."""
    accounts = {a.username: a for a in PostgreSQLAdapter(pg_monitor).fetch_accounts()}
    policy = accounts[pg_roles[0]].password_policy
    assert policy.enforced is None and "shared_preload_libraries is not visible" in policy.reason
    assert accounts["PUBLIC"].password_policy is None


def test_postgresql_superuser_monitor_sees_no_passwordcheck_and_who_has_a_password(pg_roles, pg_admin_conn, pg_target):
    admin = pg_target.params("postgres", "")
    loaded = pg_admin_conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()[0]
    assert "passwordcheck" not in loaded  # this server: not loaded
    accounts = {a.username: a for a in PostgreSQLAdapter(admin).fetch_accounts()}
    with_password, without = (accounts[name].password_policy for name in pg_roles)
    assert with_password.enforced is False and "passwordcheck is not loaded" in with_password.reason
    assert without == PasswordPolicy(None, "no password (pg_authid): it logs in by other means, if at all")


# the embedded PostgreSQL 18 ships no contrib modules (no passwordcheck to load): the machine's 15 only
@pytest.mark.pg_targets("pg15")
def test_postgresql_passwordcheck_loaded_for_one_session_only_is_not_enforced(pg_roles, pg_scratch, pg_target):
    """session_preload_libraries loads passwordcheck for that role's sessions only (the monitor's here), not for
    the sessions that set passwords: what counts is shared_preload_libraries."""
    monitor = f"{P}su_session"
    pg_scratch.later(pg_drop_role(monitor))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(pgsql.Identifier(monitor)))
    pg_scratch.run(pgsql.SQL("ALTER ROLE {} SET session_preload_libraries = 'passwordcheck'").format(
        pgsql.Identifier(monitor)))  # fmt: skip
    accounts = {a.username: a for a in PostgreSQLAdapter(pg_target.params(monitor, "")).fetch_accounts()}
    policy = accounts[pg_roles[0]].password_policy
    assert policy.enforced is False and "passwordcheck is not loaded" in policy.reason

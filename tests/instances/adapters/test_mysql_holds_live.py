"""The effective answer equals what MariaDB lets each login run: for every login × table × privilege
(and every column for the column-level ones) of a live scenario, ``holds()`` over the facts an
account sync stored says yes exactly when the statement runs as that login.

Statements (each touches no row): SELECT ``SELECT * FROM t LIMIT 0`` (a column: ``SELECT c …``);
INSERT ``INSERT INTO t (id, c) SELECT 1, 1 FROM DUAL WHERE 1=0`` (a column: ``(c)``); UPDATE
``UPDATE t SET id = 1, c = 1 WHERE 1=0`` (a column: ``SET c = 1``); DELETE ``DELETE FROM t WHERE
1=0``. Assignments are literals: ``SET c = c`` would also need SELECT on c. The scenario has
global, database, table and column grants, a role chain, a default role and a granted role that is
not the default (only after ``SET ROLE``: compared with ``include_set_role`` off, as the login
connects without it), and a grant to PUBLIC (MariaDB 10.11+), which stays on the ``PUBLIC``
pseudo-account: a login holds a privilege when its own entries or PUBLIC's give it. MySQL/MariaDB
imply nothing beyond grants (``ALL`` is stored expanded), so no entry here has ``implied_by``.
Database-name wildcards in grants (``app\\_%``) are not claimed by the parser and not in the scenario.
"""

from __future__ import annotations

import secrets

import pymysql
import pytest

from accounts.models import AccountPermission
from accounts.services import accounts_sync_all
from instances.adapters.matching import holds, privileges_from_facts
from tests.live_targets import MYSQL_HOST, MYSQL_PORT, RUN_PREFIX
from tests.support.factories import make_credential, make_instance

pytestmark = [pytest.mark.django_db, pytest.mark.live]

P = f"{RUN_PREFIX}h_"
D1, D2 = f"{P}d1", f"{P}d2"
TABLES = (f"{D1}.t1", f"{D1}.t2", f"{D2}.t3")
COLUMNS = ("id", "c")
ROLES = ("r1", "r2", "r3")
LOGINS = ("g_all", "g_sel", "d_user", "t_user", "c_user", "role_user", "nondef_user", "nobody")
DENIED = {1044, 1142, 1143}  # database, table, column access denied


def q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def table_sql(table: str) -> str:
    database, name = table.split(".")
    return f"{q(database)}.{q(name)}"


def probe(privilege: str, table: str, column: str | None) -> str:
    t = table_sql(table)
    if privilege == "SELECT":
        return f"SELECT {column or '*'} FROM {t} LIMIT 0"
    if privilege == "INSERT":
        columns = (column,) if column else COLUMNS
        return f"INSERT INTO {t} ({', '.join(columns)}) SELECT {', '.join('1' for _ in columns)} FROM DUAL WHERE 1=0"
    if privilege == "UPDATE":
        return f"UPDATE {t} SET {', '.join(f'{c} = 1' for c in ((column,) if column else COLUMNS))} WHERE 1=0"
    assert column is None
    return f"DELETE FROM {t} WHERE 1=0"


@pytest.fixture(scope="module")
def scenario(mysql_module_scratch):
    s = mysql_module_scratch
    passwords = {name: "Wf-" + secrets.token_urlsafe(12) + "9a" for name in LOGINS}
    for database in (D1, D2):
        s.later(f"DROP DATABASE IF EXISTS {q(database)}")
        s.run(f"CREATE DATABASE {q(database)}")
    for table in TABLES:
        s.run(f"CREATE TABLE {table_sql(table)} (id int, c int)")
    for name in ROLES:
        s.later(f"DROP ROLE IF EXISTS {q(P + name)}")
        s.run(f"CREATE ROLE {q(P + name)}")
    for name, password in passwords.items():
        s.later(f"DROP USER IF EXISTS '{P}{name}'@'%'")
        s.run("CREATE USER %s@'%%' IDENTIFIED BY %s", (P + name, password))

    def user(name):
        return f"'{P}{name}'@'%'"

    s.run(f"GRANT ALL ON *.* TO {user('g_all')}")
    s.run(f"GRANT SELECT ON *.* TO {user('g_sel')}")
    s.run(f"GRANT DELETE, INSERT ON {q(D1)}.* TO {user('d_user')}")
    s.run(f"GRANT UPDATE ON {table_sql(TABLES[0])} TO {user('t_user')}")
    s.run(f"GRANT SELECT ON {table_sql(TABLES[2])} TO {user('t_user')}")
    s.run(f"GRANT SELECT (c), UPDATE (c), INSERT (c) ON {table_sql(TABLES[1])} TO {user('c_user')}")
    # role chain: role_user (default role r1) → r1 → r2; r3 is granted but not the default role
    s.run(f"GRANT SELECT, DELETE ON {q(D1)}.* TO {q(P + 'r1')}")
    s.run(f"GRANT UPDATE ON {table_sql(TABLES[2])} TO {q(P + 'r2')}")
    s.run(f"GRANT {q(P + 'r2')} TO {q(P + 'r1')}")
    s.run(f"GRANT INSERT ON {table_sql(TABLES[0])} TO {q(P + 'r3')}")
    s.run(f"GRANT {q(P + 'r1')} TO {user('role_user')}")  # MariaDB: one role per GRANT
    s.run(f"GRANT {q(P + 'r3')} TO {user('role_user')}")
    s.run(f"SET DEFAULT ROLE {q(P + 'r1')} FOR {user('role_user')}")
    s.run(f"GRANT {q(P + 'r3')} TO {user('nondef_user')}")
    s.later(f"REVOKE SELECT ON {table_sql(TABLES[2])} FROM PUBLIC")
    s.run(f"GRANT SELECT ON {table_sql(TABLES[2])} TO PUBLIC")
    return passwords


def what_each_login_can_run(passwords) -> dict[tuple, bool]:
    """(login, level, target, privilege) → whether the statement runs as that login."""
    answers = {}
    for name, password in passwords.items():
        conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=P + name, password=password,
                               connect_timeout=5, autocommit=True)  # fmt: skip
        try:
            for table in TABLES:
                asked = [(p, None) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")]
                asked += [(p, c) for p in ("SELECT", "INSERT", "UPDATE") for c in COLUMNS]
                for privilege, column in asked:
                    try:
                        with conn.cursor() as cur:
                            cur.execute(probe(privilege, table, column))
                            cur.fetchall()
                        ran = True
                    except pymysql.err.OperationalError as exc:
                        if exc.args[0] not in DENIED:
                            raise
                        ran = False
                    level, target = ("column", f"{table}.{column}") if column else ("object", table)
                    answers[(P + name, level, target, privilege)] = ran
        finally:
            conn.close()
    return answers


def test_every_login_table_column_and_privilege_matches_what_the_login_can_run(scenario, mysql_monitor):
    ran = what_each_login_can_run(scenario)
    instance = make_instance(db_type="mysql", host=mysql_monitor.host, port=mysql_monitor.port,
                             credential=make_credential(username=mysql_monitor.username,
                                                        password=mysql_monitor.password))  # fmt: skip
    record = accounts_sync_all(instance_ids=[instance.pk]).records.get()
    assert record.status == "completed", record.error_message
    stored = AccountPermission.objects.filter(instance_account__instance=instance).values_list(
        "instance_account__username", "instance_account__host", "facts")
    ours = {username: privileges_from_facts(facts["privileges"]) for username, host, facts in stored
            if host in ("%", "")}  # fmt: skip
    mismatches = []
    for (login, level, target, privilege), expected in sorted(ran.items()):
        granting = holds(ours[login], privilege, level, target, db_type="mysql") or holds(
            ours["PUBLIC"], privilege, level, target, db_type="mysql")  # fmt: skip
        if bool(granting) != expected:
            mismatches.append((login.removeprefix(P), level, target, privilege, expected, granting))
    assert mismatches == []
    assert 40 < sum(ran.values()) < len(ran) == len(LOGINS) * len(TABLES) * 10  # both answers occur
    assert not any(p.implied_by for entries in ours.values() for p in entries)
    # the non-default role is listed, reachable by SET ROLE, and counted only when asked
    set_role = holds(ours[P + "nondef_user"], "INSERT", "object", TABLES[0], db_type="mysql", include_set_role=True)
    assert set_role and all(p.via_set_role for p in set_role)
    assert not ran[(P + "nondef_user", "object", TABLES[0], "INSERT")]

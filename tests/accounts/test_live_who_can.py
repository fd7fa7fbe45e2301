"""The who-can answer against the engines' own: a live scenario on this machine's PostgreSQL and
MariaDB (per-run prefix objects, dropped afterwards), synced through the documented monitoring
logins, then asked about every login × object × privilege of the scenario.

PostgreSQL's truth is ``has_table_privilege`` / ``has_schema_privilege`` /
``has_database_privilege``; MariaDB's is what each login can run (``DELETE … WHERE 1=0``,
``SELECT … LIMIT 0``). A grant to PUBLIC answers as the PUBLIC pseudo-account: it stands for every
login. Privileges the engine implies without an ACL entry (PostgreSQL superusers and owners) are
effective entries with ``implied_by``: the answers equal the engine's exactly.
"""

from __future__ import annotations

import secrets

import pymysql
import pytest
from psycopg import sql as pgsql

from accounts.selectors import who_can
from accounts.services import accounts_sync_all
from tests.live_targets import MYSQL_HOST, MYSQL_PORT, RUN_PREFIX, mysql_ident, pg_drop_role
from tests.support.factories import make_credential, make_instance

pytestmark = [pytest.mark.django_db, pytest.mark.live]

P = f"{RUN_PREFIX}wc_"


def _sync(params, db_type):
    credential = make_credential(username=params.username, password=params.password)
    instance = make_instance(db_type=db_type, host=params.host, port=params.port, credential=credential)
    record = accounts_sync_all(instance_ids=[instance.pk]).records.get()
    assert record.status == "completed", record.error_message
    return instance


def _answer(instance, privilege: str, parts: tuple[str, ...], logins: set[str]) -> set[str]:
    """The logins of the scenario the search answers, PUBLIC standing for every one of them."""
    names = {item.username for item in who_can(privilege=privilege, parts=parts, instance_id=instance.pk)}
    return logins if "PUBLIC" in names else names & logins


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
def pg_scenario(pg_scratch):
    """Database ``wc_db`` (tables ``t1``, ``t2`` owned by ``owner``), logins: ``reader`` (SELECT on
    t1), ``member`` → ``grp`` → ``base`` (DELETE on t1 granted to ``base``: a chain), ``noinh``
    (NOINHERIT member of ``grp``: only after SET ROLE), ``creator`` (CREATE on the database),
    ``super`` (SUPERUSER), ``owner``; SELECT on t2 to PUBLIC."""
    ident = pgsql.Identifier
    database = f"{P}db"
    logins = {f"{P}{n}" for n in ("reader", "member", "noinh", "creator", "super", "owner")}
    for name in ("base", "grp", *(n.removeprefix(P) for n in logins)):
        pg_scratch.later(pg_drop_role(f"{P}{name}"))
    pg_scratch.later(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident(database)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(ident(f"{P}base")))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} NOLOGIN IN ROLE {}").format(ident(f"{P}grp"), ident(f"{P}base")))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(ident(f"{P}member"), ident(f"{P}grp")))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN NOINHERIT IN ROLE {}").format(ident(f"{P}noinh"), ident(f"{P}grp")))
    for name in ("reader", "creator", "owner"):
        pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN").format(ident(f"{P}{name}")))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(ident(f"{P}super")))
    pg_scratch.run(pgsql.SQL("CREATE DATABASE {}").format(ident(database)))
    pg_scratch.run(pgsql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(ident(database), ident(f"{P}creator")))
    for statement in (
        "CREATE TABLE public.t1 (id int)", "CREATE TABLE public.t2 (id int)",
        f'ALTER TABLE public.t1 OWNER TO "{P}owner"', f'ALTER TABLE public.t2 OWNER TO "{P}owner"',
        f'GRANT SELECT ON public.t1 TO "{P}reader"', f'GRANT DELETE ON public.t1 TO "{P}base"',
        "GRANT SELECT ON public.t2 TO PUBLIC",
    ):  # fmt: skip
        pg_scratch.run(statement, database=database)
    return database, logins


def test_postgresql_answers_equal_has_privilege(pg_scratch, pg_monitor, pg_scenario):
    database, logins = pg_scenario
    instance = _sync(pg_monitor, "postgresql")
    cases = [(privilege, ("table", table)) for privilege in ("SELECT", "INSERT", "DELETE") for table in ("t1", "t2")]
    cases += [("USAGE", ("schema", "public")), ("CREATE", ("schema", "public")), ("CONNECT", ("database", None)),
              ("CREATE", ("database", None)), ("TEMPORARY", ("database", None))]  # fmt: skip
    missed_by_reason: dict[tuple, set[str]] = {}
    for privilege, (kind, name) in cases:
        function = {"table": "has_table_privilege", "schema": "has_schema_privilege",
                    "database": "has_database_privilege"}[kind]  # fmt: skip
        thing = {"table": f"public.{name}", "schema": "public", "database": database}[kind]
        query = f"SELECT {function}(%s, %s, %s)"
        truth = {login for login in logins if pg_scratch.run(query, (login, thing, privilege), database=database)[0][0]}
        parts = {"table": (database, "public", name), "schema": (database, "public"), "database": (database,)}[kind]
        answer = _answer(instance, privilege, parts, logins)
        assert answer <= truth, (privilege, kind, name, answer - truth)  # never a privilege the engine denies
        missed_by_reason[(privilege, kind, name)] = truth - answer
    # the owner and the superuser too: what the engine implies is in the answer
    assert set().union(*missed_by_reason.values()) == set(), missed_by_reason
    # the chain, SET ROLE and PUBLIC, as the engine has them
    implied = {f"{P}owner", f"{P}super"}  # the table's owner and the superuser, implied by the engine
    assert _answer(instance, "DELETE", (database, "public", "t1"), logins) == {f"{P}member", *implied}
    with_set_role = who_can(privilege="DELETE", parts=(database, "public", "t1"), instance_id=instance.pk,
                            include_set_role=True)  # fmt: skip
    assert {i.username for i in with_set_role} & logins == {f"{P}member", f"{P}noinh", *implied}
    assert "PUBLIC" in {i.username for i in who_can(privilege="SELECT", parts=(database, "public", "t2"),
                                                    instance_id=instance.pk)}  # fmt: skip


# --- MariaDB ------------------------------------------------------------------------------------


@pytest.fixture
def mariadb_scenario(mysql_scratch):
    """Database ``wcdb`` (tables ``t1``, ``t2``), logins: ``a`` (DELETE on the database), ``b``
    (DELETE on t1), ``c`` (role ``r`` with DELETE on the database, its default role), ``d`` (role
    ``r`` granted, not default: only after SET ROLE), ``e`` (DELETE on every database matching
    the pattern ``<prefix>wc%``), ``f`` (SELECT on t2); SELECT on t1 to PUBLIC."""
    database = f"{P}wcdb"
    db = mysql_ident(database)
    pattern = P.replace("_", "\\_") + "wc%"  # the prefix literally, then any text
    users = {name: secrets.token_urlsafe(12) for name in "abcdef"}
    role = f"{P}r"
    mysql_scratch.later(f"DROP DATABASE IF EXISTS {db}")
    mysql_scratch.later(f"DROP ROLE IF EXISTS {role}")
    for name in users:
        mysql_scratch.later(f"DROP USER IF EXISTS '{P}{name}'@'%'")
    mysql_scratch.later(f"REVOKE SELECT ON {db}.t1 FROM PUBLIC")
    mysql_scratch.run(f"CREATE DATABASE {db}")
    mysql_scratch.run(f"CREATE TABLE {db}.t1 (id int)")
    mysql_scratch.run(f"CREATE TABLE {db}.t2 (id int)")
    for name, password in users.items():
        mysql_scratch.run(f"CREATE USER '{P}{name}'@'%' IDENTIFIED BY '{password}'")
    mysql_scratch.run(f"CREATE ROLE {role}")
    for statement in (
        f"GRANT DELETE ON {db}.* TO '{P}a'@'%'", f"GRANT DELETE ON {db}.t1 TO '{P}b'@'%'",
        f"GRANT DELETE ON {db}.* TO {role}", f"GRANT {role} TO '{P}c'@'%'", f"SET DEFAULT ROLE {role} FOR '{P}c'@'%'",
        f"GRANT {role} TO '{P}d'@'%'", f"GRANT DELETE ON `{pattern}`.* TO '{P}e'@'%'",
        f"GRANT SELECT ON {db}.t2 TO '{P}f'@'%'", f"GRANT SELECT ON {db}.t1 TO PUBLIC",
    ):  # fmt: skip
        mysql_scratch.run(statement)
    return database, users


def _can_run(user: str, password: str, statement: str) -> bool:
    conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=user, password=password, connect_timeout=5)
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
        return True
    except pymysql.err.OperationalError as exc:
        if exc.args[0] in (1142, 1143, 1044):  # command / column / database access denied
            return False
        raise
    finally:
        conn.close()


def test_mariadb_answers_equal_what_each_login_can_run(mysql_monitor, mariadb_scenario):
    database, users = mariadb_scenario
    instance = _sync(mysql_monitor, "mysql")
    logins = {f"{P}{name}" for name in users}
    db = mysql_ident(database)
    statements = {"DELETE": "DELETE FROM {db}.{table} WHERE 1=0", "SELECT": "SELECT * FROM {db}.{table} LIMIT 0"}
    for privilege, template in statements.items():
        for table in ("t1", "t2"):
            statement = template.format(db=db, table=table)
            truth = {f"{P}{name}" for name, password in users.items() if _can_run(f"{P}{name}", password, statement)}
            assert _answer(instance, privilege, (database, table), logins) == truth, (privilege, table)
    # SET ROLE widens the answer by the login whose role is not a default one
    answer = {i.username for i in who_can(privilege="DELETE", parts=(database, "t1"), instance_id=instance.pk,
                                          include_set_role=True)}  # fmt: skip
    assert answer & logins == {f"{P}{name}" for name in "abcde"}

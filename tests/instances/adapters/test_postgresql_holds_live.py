"""The effective answer equals PostgreSQL's: for every login × object × privilege of a live scenario,
``holds()`` over the facts an account sync stored says what ``has_database_privilege`` /
``has_schema_privilege`` / ``has_table_privilege`` ask the server say.

The scenario has role chains, NOINHERIT members, owners of a database, a schema and tables (one
owner revoked a privilege from itself), ``pg_database_owner`` (PG 14+: it owns schema public of
every database on PG 15+), a superuser and a member of it, a member of ``pg_read_all_data``,
database-, schema-, table- and column-level grants and grants to PUBLIC.

Grants to PUBLIC stay on the ``PUBLIC`` pseudo-account (they are not copied into each account):
a login holds a privilege when ``holds()`` finds it in its own entries **or** in PUBLIC's — the
answer the who-can search gives too (PUBLIC is one row meaning everyone). SET-ROLE-only entries
are left out (``include_set_role`` False): ``has_*_privilege`` counts what a role has without SET
ROLE.
"""

from __future__ import annotations

import pytest
from psycopg import sql as pgsql

from accounts.models import AccountPermission
from accounts.services import accounts_sync_all
from instances.adapters.matching import holds, privileges_from_facts
from instances.adapters.postgresql import parse
from instances.adapters.postgresql.adapter import PostgreSQLAdapter
from tests.live_targets import RUN_PREFIX, pg_drop_role
from tests.support.factories import make_credential, make_instance

pytestmark = [pytest.mark.django_db, pytest.mark.live]

P = f"{RUN_PREFIX}h_"
DB1, DB2 = f"{P}db1", f"{P}db2"
GROUPS = ("r_a", "r_b", "tbl_grp")
LOGINS = ("dbowner", "schemaowner", "tbl_login", "grp_member", "grp_noinh", "chain_user", "chain_noinh",
          "db_creator", "col_user", "upd_user", "su", "su_member", "reader_all", "conn_user", "nobody")  # fmt: skip
DATABASE_PRIVILEGES = ("CONNECT", "CREATE", "TEMPORARY")
SCHEMA_PRIVILEGES = ("USAGE", "CREATE")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
SCHEMAS = {DB1: ("public", "s1"), DB2: ("public",)}
TABLES = {DB1: ("s1.t1", "s1.t2", "public.t3", "public.t4"), DB2: ("public.t5",)}


def ident(name: str) -> pgsql.Identifier:
    return pgsql.Identifier(name)


def role(name: str) -> str:
    return f"{P}{name}"


@pytest.fixture(scope="module")
def scenario(pg_module_scratch):
    s = pg_module_scratch
    for name in (*LOGINS, *GROUPS):  # registered first: the databases are dropped before the roles
        s.later(pg_drop_role(role(name)))
    for name in GROUPS:
        s.run(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(ident(role(name))))
    for name in LOGINS:
        s.run(pgsql.SQL("CREATE ROLE {} LOGIN").format(ident(role(name))))
    run = s.run
    run(pgsql.SQL("ALTER ROLE {} SUPERUSER").format(ident(role("su"))))
    # a chain: chain_user → r_a → r_b; chain_noinh is NOINHERIT (SET ROLE only)
    run(pgsql.SQL("GRANT {} TO {}").format(ident(role("r_b")), ident(role("r_a"))))
    run(pgsql.SQL("GRANT {} TO {}, {}").format(ident(role("r_a")), ident(role("chain_user")),
                                               ident(role("chain_noinh"))))  # fmt: skip
    run(pgsql.SQL("ALTER ROLE {} NOINHERIT").format(ident(role("chain_noinh"))))
    # members of an owning group, inheriting or not; a member of a superuser (rolsuper is never inherited)
    run(pgsql.SQL("GRANT {} TO {}, {}").format(ident(role("tbl_grp")), ident(role("grp_member")),
                                               ident(role("grp_noinh"))))  # fmt: skip
    run(pgsql.SQL("ALTER ROLE {} NOINHERIT").format(ident(role("grp_noinh"))))
    run(pgsql.SQL("GRANT {} TO {}").format(ident(role("su")), ident(role("su_member"))))
    if s.major >= 14:
        run(pgsql.SQL("GRANT pg_read_all_data TO {}").format(ident(role("reader_all"))))
    for db, owner in ((DB1, "dbowner"), (DB2, None)):
        s.later(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident(db)))
        statement = pgsql.SQL("CREATE DATABASE {}").format(ident(db))
        if owner:
            statement = pgsql.SQL("CREATE DATABASE {} OWNER {}").format(ident(db), ident(role(owner)))
        run(statement)
    run(pgsql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(ident(DB1), ident(role("db_creator"))))
    run(pgsql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(ident(DB2)))
    run(pgsql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(ident(DB2), ident(role("conn_user"))))
    run(pgsql.SQL("GRANT TEMPORARY ON DATABASE {} TO {} WITH GRANT OPTION").format(ident(DB2), ident(role("r_b"))))

    def in_db1(statement, *names):
        run(pgsql.SQL(statement).format(*(ident(role(n)) for n in names)), database=DB1)

    in_db1("CREATE SCHEMA s1 AUTHORIZATION {}", "schemaowner")
    in_db1("CREATE TABLE s1.t1 (id int, c int)")
    in_db1("ALTER TABLE s1.t1 OWNER TO {}", "tbl_grp")
    in_db1("CREATE TABLE s1.t2 (id int, c int)")
    in_db1("CREATE TABLE public.t3 (id int, c int)")
    in_db1("ALTER TABLE public.t3 OWNER TO {}", "tbl_login")
    in_db1("CREATE TABLE public.t4 (id int, c int)")
    in_db1("ALTER TABLE public.t4 OWNER TO {}", "dbowner")
    in_db1("REVOKE DELETE, TRUNCATE ON public.t4 FROM {}", "dbowner")  # an owner revoking from itself
    in_db1("GRANT USAGE ON SCHEMA s1 TO {}", "r_b")
    in_db1("GRANT SELECT, TRIGGER ON s1.t2 TO {}", "r_b")
    in_db1("GRANT CREATE ON SCHEMA s1 TO {}", "upd_user")
    in_db1("GRANT INSERT (c) ON s1.t2 TO {}", "col_user")  # a column grant is not a table privilege
    in_db1("GRANT UPDATE ON public.t3 TO {} WITH GRANT OPTION", "upd_user")
    in_db1("GRANT DELETE ON public.t3 TO PUBLIC")
    run("CREATE TABLE public.t5 (id int)", database=DB2)
    run(pgsql.SQL("ALTER TABLE public.t5 OWNER TO {}").format(ident(role("su"))), database=DB2)
    run(pgsql.SQL("GRANT SELECT ON public.t5 TO {}").format(ident(role("r_a"))), database=DB2)
    return s


@pytest.fixture(scope="module")
def monitor_reads_db2(scenario, pg_monitor):
    scenario.run(pgsql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(ident(DB2), ident(pg_monitor.username)))
    return pg_monitor


def server_answers(scratch) -> dict[tuple, bool]:
    """(login, level, target, privilege) → the server's has_*_privilege, in one statement per database."""
    logins = [role(name) for name in LOGINS]
    answers = {}
    rows = scratch.run(
        "SELECT r, d, p, has_database_privilege(r, d, p) FROM unnest(%s::text[]) r, "
        "unnest(%s::text[]) d, unnest(%s::text[]) p",
        (logins, [DB1, DB2], list(DATABASE_PRIVILEGES)),
    )
    answers.update({(r, "database", d, p): ok for r, d, p, ok in rows})
    for db in (DB1, DB2):
        rows = scratch.run(
            "SELECT r, s, p, has_schema_privilege(r, s, p) FROM unnest(%s::text[]) r, "
            "unnest(%s::text[]) s, unnest(%s::text[]) p",
            (logins, list(SCHEMAS[db]), list(SCHEMA_PRIVILEGES)),
            database=db,
        )
        answers.update({(r, "schema", f"{db}.{s}", p): ok for r, s, p, ok in rows})
        rows = scratch.run(
            "SELECT r, t, p, has_table_privilege(r, t, p) FROM unnest(%s::text[]) r, "
            "unnest(%s::text[]) t, unnest(%s::text[]) p",
            (logins, list(TABLES[db]), list(TABLE_PRIVILEGES)),
            database=db,
        )
        answers.update({(r, "object", f"{db}.{t}", p): ok for r, t, p, ok in rows})
    return answers  # fmt: skip


def synced_privileges(monitor) -> dict[str, list]:
    """Sync the instance through the adapter; every account's stored effective privileges."""
    instance = make_instance(
        db_type="postgresql",
        host=monitor.host,
        port=monitor.port,
        credential=make_credential(username=monitor.username, password=monitor.password),
    )
    record = accounts_sync_all(instance_ids=[instance.pk]).records.get()
    assert record.status == "completed", record.error_message
    assert DB1 not in str(record.sync_details) and DB2 not in str(record.sync_details)  # both read
    stored = AccountPermission.objects.filter(instance_account__instance=instance).values_list(
        "instance_account__username", "facts"
    )
    return {username: privileges_from_facts(facts["privileges"]) for username, facts in stored}  # fmt: skip


def test_every_login_object_and_privilege_matches_has_privilege(scenario, monitor_reads_db2):
    server = server_answers(scenario)
    ours = synced_privileges(monitor_reads_db2)
    public = ours["PUBLIC"]
    mismatches, held = [], 0
    for (login, level, target, privilege), expected in sorted(server.items()):
        granting = holds(ours[login], privilege, level, target, db_type="postgresql") or holds(
            public, privilege, level, target, db_type="postgresql")  # fmt: skip
        held += expected
        if bool(granting) != expected:
            mismatches.append((login.removeprefix(P), level, target, privilege, expected, granting))
    assert mismatches == []
    assert len(server) == len(LOGINS) * (6 + 3 * 2 + 5 * 7) and 100 < held < len(server)  # both answers occur


def test_the_scenario_holds_implied_entries_where_expected(scenario, monitor_reads_db2):
    """The comparison above would pass on an empty scenario; these pin what made it non-trivial."""
    ours = synced_privileges(monitor_reads_db2)
    implied = {(u.removeprefix(P), p.implied_by, p.level, p.target, p.via_set_role)
               for u, entries in ours.items() for p in entries if p.implied_by}  # fmt: skip
    # grp_noinh turned NOINHERIT after its grant: before PG 16 that decides (SET ROLE only); on PG 16+
    # the grant keeps the INHERIT option it was made with (the member's rolinherit then: TRUE)
    noinherit_grant = scenario.major < 16
    assert {
        ("su", "superuser", "global", "", False),
        ("su_member", "superuser", "global", "", True),
        ("su_member", "owner", "object", f"{DB2}.public.t5", False),  # inherits su's ownership
        ("dbowner", "owner", "database", DB1, False),
        ("schemaowner", "owner", "schema", f"{DB1}.s1", False),
        ("grp_member", "owner", "object", f"{DB1}.s1.t1", False),
        ("grp_noinh", "owner", "object", f"{DB1}.s1.t1", noinherit_grant),
        ("tbl_login", "owner", "object", f"{DB1}.public.t3", False),
    } <= implied
    if scenario.major >= 15:
        # PG 15+: schema public is owned by pg_database_owner, i.e. by each database's owner
        assert ("dbowner", "owner", "schema", f"{DB1}.public", False) in implied
    # t3's ACL still holds its owner's default entry (UPDATE was granted to another role since): ownership's ALL
    t3 = {p.privilege for p in ours[role("tbl_login")] if p.target == f"{DB1}.public.t3" and p.implied_by}
    assert t3 == {"ALL"}
    t4 = [p.privilege for p in ours[role("dbowner")] if p.target == f"{DB1}.public.t4"]
    assert "DELETE" not in t4 and "ALL" not in t4 and "SELECT" in t4  # the owner revoked DELETE from itself


def test_memberships_match_pg_has_role(scenario, monitor_reads_db2):
    """An account's roles are what ``pg_has_role(login, role, 'MEMBER')`` says, and the roles it holds
    without SET ROLE what ``'USAGE'`` says: before PG 16 from the member's rolinherit, on PG 16+ from
    the grants' INHERIT options (test_postgresql_grant_options_live.py adds SET)."""
    roles = [role(name) for name in (*GROUPS, *LOGINS)]
    logins = [role(name) for name in LOGINS if name != "su"]  # pg_has_role is true for a superuser whatever
    server = {}
    for option in ("MEMBER", "USAGE"):
        rows = scenario.run("SELECT l, r, pg_has_role(l, r, %s) FROM unnest(%s::text[]) l, unnest(%s::text[]) r "
                            "WHERE l <> r", (option, logins, roles))  # fmt: skip
        server[option] = {(login, r) for login, r, ok in rows if ok}
    adapter = PostgreSQLAdapter(monitor_reads_db2)
    rows = adapter.read_account_rows()
    accounts = {a.username: a for a in adapter.parse_account_rows(rows)}
    graph = parse.membership_graph(rows["memberships"], {row["oid"]: row for row in rows["roles"]})
    ours = {
        "MEMBER": {(login, r) for login in logins for r in accounts[login].roles if r in roles},
        "USAGE": {
            (login, r.role) for login in logins for r in graph.reach(login) if not r.set_role and r.role in roles
        },
    }
    for option in ("MEMBER", "USAGE"):
        assert (option, sorted(ours[option] ^ server[option])) == (option, [])
    if scenario.major < 16:  # the NOINHERIT members (on PG 16+ their grants, made before, still inherit)
        assert server["USAGE"] < server["MEMBER"]

"""PostgreSQL 16+ memberships, executed on the PG 18 target: what a sync stores equals what the
server answers, for a scenario only PG 16+ can express.

- Per-grant options (``GRANT … WITH INHERIT FALSE / SET FALSE / ADMIN TRUE``, sql.MEMBERSHIPS_16):
  a grant that does not inherit, one that does not allow SET ROLE, an ADMIN-only grant, two
  grants of one role by two grantors with different options, a chain whose middle link does not
  inherit, a chain whose first link does not allow SET ROLE, a superuser role granted without
  SET (no superuser) or without INHERIT (superuser by SET ROLE only), and the grant PG 16 makes
  when a CREATEROLE login creates a role (ADMIN, no INHERIT, no SET).
- ``pg_database_owner`` (a database owned by a group role: its members, inheriting or not, own
  schema public, a table owned by pg_database_owner, and what is granted to it).
- PG 17+: MAINTAIN (granted, owned, and through ``pg_maintain`` with and without INHERIT);
  ``pg_write_all_data``, and ``pg_read_all_data`` granted without INHERIT.

The oracles: ``has_database_privilege`` / ``has_schema_privilege`` / ``has_table_privilege`` for
every login × object × privilege against ``holds()`` over the stored facts (as in
test_postgresql_holds_live.py), and ``pg_has_role(login, role, 'MEMBER' | 'USAGE' | 'SET')``
for every login × role against the account's ``roles``, the roles it holds without SET ROLE, and
the roles it can SET ROLE to (the membership graph the adapter builds).
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql as pgsql

from accounts.models import AccountPermission
from accounts.services import accounts_sync_all
from instances.adapters.matching import holds, privileges_from_facts
from instances.adapters.postgresql import parse
from instances.adapters.postgresql.adapter import PostgreSQLAdapter
from tests.live_targets import RUN_PREFIX, pg_drop_role
from tests.support.factories import make_credential, make_instance

pytestmark = [pytest.mark.django_db, pytest.mark.live, pytest.mark.pg_targets("pg18")]

P = f"{RUN_PREFIX}v_"
DB1, DB2 = f"{P}db1", f"{P}db2"
GROUPS = ("g", "adm", "ca", "cb", "cc", "sgrp", "dbo")
LOGINS = ("inh_false", "set_false", "admin_only", "two_grants", "chain", "chain_noset", "su_noset", "su_set",
          "creator", "dbo_member", "dbo_noinh", "maint", "maint_noinh", "direct_maint", "writer", "reader_noinh",
          "nobody")  # fmt: skip
CREATED = "made"  # created by ``creator`` (CREATEROLE)
DATABASE_PRIVILEGES = ("CONNECT", "CREATE", "TEMPORARY")
SCHEMA_PRIVILEGES = ("USAGE", "CREATE")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN")
SCHEMAS = ("public", "s")
TABLES = ("s.t1", "public.t2", "public.t3")


def role(name: str) -> str:
    return f"{P}{name}"


@pytest.fixture(scope="module")
def scenario(pg_module_scratch):
    s = pg_module_scratch
    assert s.major >= 17, "the scenario uses PG 16's grant options and PG 17's MAINTAIN"
    for name in (*LOGINS, *GROUPS, CREATED):  # registered first: the databases are dropped before the roles
        s.later(pg_drop_role(role(name)))

    def run(statement: str, *names: str, database: str | None = None) -> None:
        s.run(pgsql.SQL(statement).format(*(pgsql.Identifier(role(n)) for n in names)), database=database)

    for name in GROUPS:
        run("CREATE ROLE {} NOLOGIN", name)
    for name in LOGINS:
        run("CREATE ROLE {} LOGIN", name)
    run("ALTER ROLE {} SUPERUSER", "sgrp")
    run("ALTER ROLE {} CREATEROLE", "creator")
    # per-grant options on one group role g
    run("GRANT {} TO {} WITH INHERIT FALSE", "g", "inh_false")
    run("GRANT {} TO {} WITH INHERIT TRUE, SET FALSE", "g", "set_false")
    run("GRANT {} TO {} WITH INHERIT FALSE, SET FALSE, ADMIN TRUE", "g", "admin_only")
    run("GRANT {} TO {} WITH ADMIN TRUE", "g", "adm")
    run("GRANT {} TO {} WITH INHERIT FALSE", "g", "two_grants")  # granted by postgres …
    run("GRANT {} TO {} WITH INHERIT TRUE, SET FALSE GRANTED BY {}", "g", "two_grants", "adm")  # … and by adm
    # chain → ca ⇢ cb → cc: the middle link does not inherit (SET ROLE cb reaches cb and cc)
    run("GRANT {} TO {}", "ca", "chain")
    run("GRANT {} TO {} WITH INHERIT FALSE", "cb", "ca")
    run("GRANT {} TO {}", "cc", "cb")
    run("GRANT {} TO {} WITH SET FALSE", "ca", "chain_noset")  # inherits ca, cannot SET ROLE cb through it
    run("GRANT {} TO {} WITH SET FALSE", "sgrp", "su_noset")  # rolsuper is not inherited: not a superuser
    run("GRANT {} TO {} WITH INHERIT FALSE", "sgrp", "su_set")  # a superuser by SET ROLE
    # PG 16+: a CREATEROLE (non-superuser) creator is granted the role it creates WITH ADMIN, no INHERIT, no SET
    s.run(pgsql.SQL("SET ROLE {}").format(pgsql.Identifier(role("creator"))))
    try:
        run("CREATE ROLE {} NOLOGIN", CREATED)
    finally:
        s.run("RESET ROLE")
    run("GRANT {} TO {}", "dbo", "dbo_member")
    run("GRANT {} TO {} WITH INHERIT FALSE", "dbo", "dbo_noinh")
    run("GRANT pg_maintain TO {}", "maint")
    run("GRANT pg_maintain TO {} WITH INHERIT FALSE", "maint_noinh")
    run("GRANT pg_write_all_data TO {}", "writer")
    run("GRANT pg_read_all_data TO {} WITH INHERIT FALSE", "reader_noinh")

    for db in (DB1, DB2):
        s.later(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(db)))
    s.run(pgsql.SQL("CREATE DATABASE {} OWNER {}").format(pgsql.Identifier(DB1), pgsql.Identifier(role("dbo"))))
    s.run(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(DB2)))
    s.run(pgsql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(pgsql.Identifier(DB1), pgsql.Identifier(role("g"))))
    s.run(pgsql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(pgsql.Identifier(DB2)))
    s.run(pgsql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(pgsql.Identifier(DB2), pgsql.Identifier(role("cc"))))
    s.run(pgsql.SQL("GRANT TEMPORARY ON DATABASE {} TO {} WITH GRANT OPTION").format(
        pgsql.Identifier(DB2), pgsql.Identifier(role(CREATED))))  # fmt: skip

    def in_db1(statement: str, *names: str) -> None:
        run(statement, *names, database=DB1)

    in_db1("CREATE SCHEMA s")
    in_db1("CREATE TABLE s.t1 (id int, c int)")
    in_db1("CREATE TABLE public.t2 (id int)")
    in_db1("ALTER TABLE public.t2 OWNER TO pg_database_owner")
    in_db1("CREATE TABLE public.t3 (id int)")
    in_db1("ALTER TABLE public.t3 OWNER TO {}", "cc")
    in_db1("GRANT SELECT ON public.t3 TO pg_database_owner")
    in_db1("GRANT USAGE ON SCHEMA s TO {}", "g")
    in_db1("GRANT SELECT ON s.t1 TO {}", "g")
    in_db1("GRANT INSERT ON s.t1 TO {}", "ca")
    in_db1("GRANT UPDATE ON s.t1 TO {}", "cb")
    in_db1("GRANT USAGE ON SCHEMA s TO {}", "cc")
    in_db1("GRANT DELETE ON s.t1 TO {}", "cc")
    in_db1("GRANT TRUNCATE ON s.t1 TO {}", CREATED)
    in_db1("GRANT MAINTAIN ON s.t1 TO {}", "direct_maint")
    return s


@pytest.fixture(scope="module")
def monitor(scenario, pg_monitor):
    scenario.run(pgsql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
        pgsql.Identifier(DB2), pgsql.Identifier(pg_monitor.username)))  # fmt: skip
    return pg_monitor


def _answers(scratch, function: str, names: list[str], things: list[str], privileges, database=None) -> list:
    return scratch.run(f"SELECT r, x, p, {function}(r, x, p) FROM unnest(%s::text[]) r, unnest(%s::text[]) x, "
                       "unnest(%s::text[]) p", (names, things, list(privileges)), database=database)  # fmt: skip


def server_privileges(scratch) -> dict[tuple, bool]:
    """(login, level, target, privilege) → has_*_privilege."""
    logins = [role(name) for name in LOGINS]
    answers = {}
    for r, d, p, ok in _answers(scratch, "has_database_privilege", logins, [DB1, DB2], DATABASE_PRIVILEGES):
        answers[(r, "database", d, p)] = ok
    for r, x, p, ok in _answers(scratch, "has_schema_privilege", logins, list(SCHEMAS), SCHEMA_PRIVILEGES, DB1):
        answers[(r, "schema", f"{DB1}.{x}", p)] = ok
    for r, x, p, ok in _answers(scratch, "has_table_privilege", logins, list(TABLES), TABLE_PRIVILEGES, DB1):
        answers[(r, "object", f"{DB1}.{x}", p)] = ok
    return answers


def synced_privileges(monitor) -> dict[str, list]:
    credential = make_credential(username=monitor.username, password=monitor.password)
    instance = make_instance(db_type="postgresql", host=monitor.host, port=monitor.port, credential=credential)
    record = accounts_sync_all(instance_ids=[instance.pk]).records.get()
    assert record.status == "completed", record.error_message
    assert DB1 not in str(record.sync_details) and DB2 not in str(record.sync_details)  # both read
    stored = AccountPermission.objects.filter(instance_account__instance=instance).values_list(
        "instance_account__username", "facts")  # fmt: skip
    return {username: privileges_from_facts(facts["privileges"]) for username, facts in stored}


def test_every_login_object_and_privilege_matches_has_privilege(scenario, monitor):
    server = server_privileges(scenario)
    ours = synced_privileges(monitor)
    mismatches = []
    for (login, level, target, privilege), expected in sorted(server.items()):
        granting = holds(ours[login], privilege, level, target, db_type="postgresql") or holds(
            ours["PUBLIC"], privilege, level, target, db_type="postgresql")  # fmt: skip
        if bool(granting) != expected:
            mismatches.append((login.removeprefix(P), level, target, privilege, expected, granting))
    assert mismatches == []
    held = sum(server.values())
    assert len(server) == len(LOGINS) * (2 * 3 + 2 * 2 + 3 * 8) and 60 < held < len(server) / 2


def test_memberships_match_pg_has_role(scenario, monitor):
    """roles ⇔ MEMBER, held without SET ROLE ⇔ USAGE, reachable by SET ROLE ⇔ SET."""
    roles = [role(name) for name in (*GROUPS, CREATED)] + ["pg_maintain", "pg_write_all_data", "pg_read_all_data"]
    logins = [role(name) for name in LOGINS]
    server = {}
    for option in ("MEMBER", "USAGE", "SET"):
        rows = scenario.run("SELECT l, r, pg_has_role(l, r, %s) FROM unnest(%s::text[]) l, unnest(%s::text[]) r",
                            (option, logins, roles))  # fmt: skip
        server[option] = {(login, r) for login, r, ok in rows if ok}
    adapter = PostgreSQLAdapter(monitor)
    rows = adapter.read_account_rows()
    accounts = {a.username: a for a in adapter.parse_account_rows(rows)}
    graph = parse.membership_graph(rows["memberships"], {row["oid"]: row for row in rows["roles"]})
    ours = {"MEMBER": set(), "USAGE": set(), "SET": set()}
    for login in logins:
        ours["MEMBER"] |= {(login, r) for r in accounts[login].roles if r in roles}
        ours["USAGE"] |= {(login, r.role) for r in graph.reach(login) if not r.set_role and r.role in roles}
        ours["SET"] |= {(login, r) for r in roles if graph.set_path(login, r) is not None}
    for option in ("MEMBER", "USAGE", "SET"):
        assert (option, sorted(ours[option] ^ server[option])) == (option, [])
    assert server["MEMBER"] > server["USAGE"] and server["MEMBER"] > server["SET"]  # the options matter


def _admin_roles(reasons: tuple[str, ...], roles: list[str]) -> set[str]:
    """The roles named by ``ADMIN OPTION on role R[ via …]`` reasons."""
    named = {reason.removeprefix("ADMIN OPTION on role ").split(" via ")[0] for reason in reasons
             if reason.startswith("ADMIN OPTION on role ")}  # fmt: skip
    return named & set(roles)


def test_admin_option_reasons_match_what_each_login_can_grant(scenario, monitor):
    """Each login tries ``GRANT role TO probe`` for every role (rolled back): the roles it may grant
    are exactly those its ADMIN OPTION reasons name. (``pg_has_role(…, 'MEMBER WITH ADMIN OPTION')``
    is no oracle here: it follows any membership, while a GRANT needs the ADMIN OPTION held by the
    login or by a role it inherits.)"""
    roles = [role(name) for name in (*GROUPS, CREATED)]
    logins = [role(name) for name in LOGINS]
    probe = role("probe")
    scenario.later(pg_drop_role(probe))
    scenario.run(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(pgsql.Identifier(probe)))
    server = set()
    with scenario.target.connect() as conn, conn.transaction(force_rollback=True):
        for login in logins:
            for granted in roles:
                try:
                    with conn.transaction():
                        conn.execute(pgsql.SQL("SET LOCAL ROLE {}").format(pgsql.Identifier(login)))
                        conn.execute(pgsql.SQL("GRANT {} TO {}").format(pgsql.Identifier(granted),
                                                                       pgsql.Identifier(probe)))  # fmt: skip
                    server.add((login, granted))
                except psycopg.errors.InsufficientPrivilege:
                    pass
    accounts = {a.username: a for a in PostgreSQLAdapter(monitor).fetch_accounts()}
    ours = {(login, r) for login in logins for r in _admin_roles(accounts[login].reasons.get("can_grant", ()), roles)}
    assert sorted(ours) == sorted(server)
    assert {(role("admin_only"), role("g")), (role("creator"), role(CREATED))} <= server


def test_options_as_reported(scenario, monitor):
    """The per-grant options as the account shows them, and what they decide."""
    accounts = {a.username: a for a in PostgreSQLAdapter(monitor).fetch_accounts()}

    def direct(name):
        return {(d["role"].removeprefix(P), d["inherit_option"], d["set_option"], d["admin_option"])
                for d in accounts[role(name)].snapshot["direct_roles"]}  # fmt: skip

    assert direct("inh_false") == {("g", False, True, False)}
    assert direct("set_false") == {("g", True, False, False)}
    assert direct("admin_only") == {("g", False, False, True)}
    assert direct("two_grants") == {("g", True, True, False)}  # two grants: their options combined
    assert direct("creator") == {(CREATED, False, False, True)}  # PG 16's grant to a CREATEROLE creator
    assert accounts[role("admin_only")].can_grant
    assert accounts[role("admin_only")].reasons["can_grant"] == (f"ADMIN OPTION on role {role('g')}",)
    assert f"ADMIN OPTION on role {role(CREATED)}" in accounts[role("creator")].reasons["can_grant"]
    superuser = {(a.username.removeprefix(P), p.via_set_role) for a in accounts.values() for p in a.privileges
                 if p.implied_by == "superuser" and a.username.startswith(P)}  # fmt: skip
    assert superuser == {("su_set", True)}  # su_noset cannot SET ROLE to it, and rolsuper is not inherited
    assert not any(a.is_superuser for a in accounts.values() if a.username.startswith(P))

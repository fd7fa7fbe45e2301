"""PostgreSQLAdapter against the live PostgreSQL, read by a monitoring role holding
only the GRANTs documented in docs/adapters.md."""

from __future__ import annotations

import dataclasses
import json

import pytest
from psycopg import sql as pgsql

from accounts.fingerprint import listing_fingerprint
from instances.adapters.base import AccountFacts, Privilege
from instances.adapters.postgresql.adapter import PostgreSQLAdapter
from instances.adapters.registry import get_adapter
from tests.live_targets import RUN_PREFIX, pg_drop_role
from tests.support.factories import make_credential, make_instance
from whalefall.errors import TargetQueryFailed

pytestmark = pytest.mark.live

P = RUN_PREFIX
APP = f"{P}app"
WEIRD = f'{P}we"ird; drop`x'
LOCKED = f"{P}locked"
LOGINS = ("alice", "bob", "carol", "dave", "erin", "frank", "gina")


def ident(name: str) -> pgsql.Identifier:
    return pgsql.Identifier(name)


@pytest.fixture(scope="module")
def scenario(pg_module_scratch):
    """Group roles, logins (expired, CREATEROLE, grant option, column grant), PUBLIC grant, two databases."""
    s = pg_module_scratch
    for role in ("base", "reader", "g1", "g2", "g3", *LOGINS):  # roles first: teardown drops databases first
        s.later(pg_drop_role(f"{P}{role}"))
    s.run(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(ident(f"{P}base")))
    s.run(pgsql.SQL("CREATE ROLE {} NOLOGIN IN ROLE {}").format(ident(f"{P}reader"), ident(f"{P}base")))
    s.run(pgsql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(ident(f"{P}alice"), ident(f"{P}reader")))
    s.run(pgsql.SQL("CREATE ROLE {} LOGIN VALID UNTIL '2000-01-01'").format(ident(f"{P}bob")))
    s.run(pgsql.SQL("CREATE ROLE {} LOGIN CREATEROLE").format(ident(f"{P}carol")))
    s.run(pgsql.SQL("CREATE ROLE {} LOGIN").format(ident(f"{P}dave")))
    s.run(pgsql.SQL("CREATE ROLE {} LOGIN").format(ident(f"{P}gina")))
    for db in (APP, WEIRD, LOCKED):
        s.later(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident(db)))
        s.run(pgsql.SQL("CREATE DATABASE {}").format(ident(db)))
    s.run(pgsql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(ident(LOCKED)))
    s.run(pgsql.SQL("GRANT CREATE ON DATABASE {} TO PUBLIC").format(ident(APP)))
    s.run(pgsql.SQL("GRANT CREATE ON DATABASE {} TO {} WITH GRANT OPTION").format(ident(APP), ident(f"{P}dave")))
    s.run("CREATE TABLE t (id int PRIMARY KEY, note text, secret text)", database=APP)
    s.run("INSERT INTO t SELECT g, 'note ' || g, md5(g::text) FROM generate_series(1, 2000) g", database=APP)
    s.run("ANALYZE t", database=APP)
    # a table with the default (NULL) ACL owned by a login nobody is a member of: only its ownership grants it
    s.run(pgsql.SQL("CREATE TABLE gina_t (id int); ALTER TABLE gina_t OWNER TO {}").format(ident(f"{P}gina")),
          database=APP)  # fmt: skip
    # default privileges of objects gina will create: in every schema (defaclnamespace 0) and in schema public
    # (owned by pg_database_owner on PG 15+, not by gina)
    s.run(pgsql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT SELECT ON TABLES TO {}").format(
        ident(f"{P}gina"), ident(f"{P}alice")), database=APP)  # fmt: skip
    s.run(pgsql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public GRANT INSERT ON TABLES TO {}").format(
        ident(f"{P}gina"), ident(f"{P}alice")), database=APP)  # fmt: skip
    s.run(pgsql.SQL("GRANT SELECT (note) ON t TO {}").format(ident(f"{P}alice")), database=APP)
    s.run(pgsql.SQL("GRANT INSERT ON t TO {} WITH GRANT OPTION").format(ident(f"{P}alice")), database=APP)
    s.run('CREATE SCHEMA "odd""schema"; CREATE TABLE "odd""schema"."t;x" (id int)', database=WEIRD)
    s.run('INSERT INTO "odd""schema"."t;x" SELECT generate_series(1, 100)', database=WEIRD)
    # a role chain three deep: g1 → g2 → g3; g3 holds CONNECT on APP WITH GRANT OPTION and SELECT on
    # a table of WEIRD (another database). erin inherits, frank is NOINHERIT (SET ROLE only).
    s.run(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(ident(f"{P}g3")))
    s.run(pgsql.SQL("CREATE ROLE {} NOLOGIN IN ROLE {}").format(ident(f"{P}g2"), ident(f"{P}g3")))
    s.run(pgsql.SQL("CREATE ROLE {} NOLOGIN IN ROLE {}").format(ident(f"{P}g1"), ident(f"{P}g2")))
    s.run(pgsql.SQL("GRANT CONNECT ON DATABASE {} TO {} WITH GRANT OPTION").format(ident(APP), ident(f"{P}g3")))
    s.run(pgsql.SQL('GRANT USAGE ON SCHEMA "odd""schema" TO {}').format(ident(f"{P}g3")), database=WEIRD)
    s.run(pgsql.SQL('GRANT SELECT ON "odd""schema"."t;x" TO {}').format(ident(f"{P}g3")), database=WEIRD)
    s.run(pgsql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(ident(f"{P}erin"), ident(f"{P}g1")))
    s.run(pgsql.SQL("CREATE ROLE {} LOGIN NOINHERIT IN ROLE {}").format(ident(f"{P}frank"), ident(f"{P}g1")))
    return s


@pytest.fixture
def adapter(pg_monitor) -> PostgreSQLAdapter:
    return PostgreSQLAdapter(pg_monitor)


@pytest.fixture
def app_adapter(pg_monitor) -> PostgreSQLAdapter:
    """Monitor connected to APP, so object/column privileges of APP are read."""
    return PostgreSQLAdapter(dataclasses.replace(pg_monitor, database=APP))


def _ours(accounts: list[AccountFacts], monitor: str) -> dict[str, AccountFacts]:
    return {a.username: a for a in accounts if a.username.startswith(P) and a.username != monitor}


def test_the_large_account_statements_are_fingerprinted_without_building_their_rows(adapter):
    # an unchanged listing is recognised from the driver's tuples: its rows are never made dicts
    rows = adapter.read_account_rows()
    listing_fingerprint(adapter=adapter, rows=rows)
    assert [name for name in ('roles', 'memberships') if rows[name].built] == []
    assert adapter.parse_account_rows(rows) and all(rows[name].built for name in ('roles', 'memberships'))


def test_connection_reports_version_and_latency(adapter):
    result = adapter.test_connection()
    assert result.version[:2].isdigit() and result.latency_ms > 0
    assert adapter.server_version() == result.version


def test_accounts_are_exactly_the_login_roles(scenario, adapter, pg_monitor):
    accounts = _ours(adapter.fetch_accounts(), pg_monitor.username)
    assert set(accounts) == {f"{P}{name}" for name in LOGINS}  # group roles base/reader are not accounts
    for account in accounts.values():
        json.dumps(account.snapshot)


def test_inherited_roles_and_column_grant(scenario, app_adapter, pg_monitor):
    alice = _ours(app_adapter.fetch_accounts(), pg_monitor.username)[f"{P}alice"]
    assert alice.roles == (f"{P}base", f"{P}reader")
    assert alice.snapshot["direct_roles"] == [
        {"role": f"{P}reader", "admin_option": False, "inherit_option": True, "set_option": True}
    ]
    assert Privilege("column", "SELECT", f"{APP}.public.t.note", False) in alice.privileges
    assert Privilege("object", "INSERT", f"{APP}.public.t", True) in alice.privileges
    assert alice.can_grant and not alice.is_superuser and not alice.is_locked and alice.can_login


G123 = (f"{P}g1", f"{P}g2", f"{P}g3")


def has_database_privilege(scratch, role: str, database: str, privilege: str) -> bool:
    return scratch.run("SELECT has_database_privilege(%s, %s, %s)", (role, database, privilege))[0][0]


def test_a_grant_option_inherited_through_three_roles_is_effective(scenario, adapter, pg_monitor):
    erin = _ours(adapter.fetch_accounts(), pg_monitor.username)[f"{P}erin"]
    assert erin.roles == G123
    assert Privilege("database", "CONNECT", APP, True, via=G123) in erin.privileges
    assert erin.can_grant
    assert erin.reasons["can_grant"] == (f"CONNECT on {APP}.* WITH GRANT OPTION via {' → '.join(G123)}",)
    # the server agrees
    assert has_database_privilege(scenario, f"{P}erin", APP, "CONNECT WITH GRANT OPTION")


def test_a_privilege_in_another_database_is_read_through_its_own_connection(scenario, adapter, pg_monitor):
    erin = _ours(adapter.fetch_accounts(), pg_monitor.username)[f"{P}erin"]
    assert Privilege("object", "SELECT", f'{WEIRD}.odd"schema.t;x', via=G123) in erin.privileges
    assert Privilege("schema", "USAGE", f'{WEIRD}.odd"schema', via=G123) in erin.privileges


def test_a_noinherit_member_reaches_the_roles_by_set_role_only(scenario, adapter, pg_monitor):
    frank = _ours(adapter.fetch_accounts(), pg_monitor.username)[f"{P}frank"]
    assert frank.roles == G123
    assert Privilege("database", "CONNECT", APP, True, via=G123, via_set_role=True) in frank.privileges
    assert all(p.via_set_role for p in frank.privileges) and not frank.can_grant
    assert not has_database_privilege(scenario, f"{P}frank", APP, "CONNECT WITH GRANT OPTION")


def test_a_database_the_monitor_cannot_connect_to_is_named(scenario, adapter):
    rows = adapter.read_account_rows()
    skipped = {d["database"]: d["reason"] for d in rows["databases_not_read"]}
    assert skipped[LOCKED] == "the monitoring login has no CONNECT privilege on it"
    assert {APP, WEIRD} <= set(rows["objects"]) and LOCKED not in rows["objects"]
    assert {s.target: s.reason for s in adapter.account_unread_scopes(rows)} == skipped
    # the same databases, as the unread scopes of the base contract: what lies in them, not their own grants
    scopes = {scope.target: scope for scope in adapter.account_unread_scopes(rows)}
    assert scopes.keys() == skipped.keys() and scopes[LOCKED].reason == skipped[LOCKED]
    locked = scopes[LOCKED]
    assert locked.label == f"database {LOCKED}" and locked.contains(Privilege("object", "SELECT", f"{LOCKED}.s.t"))
    assert locked.contains(Privilege("database", "DEFAULT SELECT ON TABLES FOR ROLE o", LOCKED))
    assert not locked.contains(Privilege("database", "CONNECT", LOCKED))
    assert not locked.contains(Privilege("object", "SELECT", f"{APP}.s.t"))


def test_the_owner_of_a_table_with_the_default_acl_holds_it(scenario, app_adapter, pg_monitor):
    gina = _ours(app_adapter.fetch_accounts(), pg_monitor.username)[f"{P}gina"]
    owned = [(p.level, p.target, p.implied_by) for p in gina.privileges]
    assert owned and set(owned) == {("object", f"{APP}.public.gina_t", "owner")}


def test_default_privileges_in_every_schema_and_in_one_name_their_creator(scenario, app_adapter, pg_monitor):
    alice = _ours(app_adapter.fetch_accounts(), pg_monitor.username)[f"{P}alice"]
    defaults = {(p.level, p.privilege, p.target) for p in alice.privileges if p.privilege.startswith("DEFAULT ")}
    assert defaults == {
        ("database", f"DEFAULT SELECT ON TABLES FOR ROLE {P}gina", APP),
        ("schema", f"DEFAULT INSERT ON TABLES FOR ROLE {P}gina", f"{APP}.public"),
    }


def test_expired_role_is_locked(scenario, adapter, pg_monitor):
    bob = _ours(adapter.fetch_accounts(), pg_monitor.username)[f"{P}bob"]
    assert bob.is_locked and not bob.can_login
    assert bob.snapshot["rolvaliduntil"] is not None
    assert not bob.can_grant and bob.privileges == ()


def test_createrole_and_database_grant_option_can_grant(scenario, adapter, pg_monitor):
    accounts = _ours(adapter.fetch_accounts(), pg_monitor.username)
    assert accounts[f"{P}carol"].can_grant and not accounts[f"{P}carol"].is_superuser
    dave = accounts[f"{P}dave"]
    assert dave.privileges == (Privilege("database", "CREATE", APP, True),)
    assert dave.can_grant


def test_public_database_privileges_reported_separately(scenario, adapter, pg_monitor):
    accounts = adapter.fetch_accounts()
    public = [a for a in accounts if a.username == "PUBLIC"]
    assert len(public) == 1 and not public[0].can_login
    assert Privilege("database", "CREATE", APP, False) in public[0].privileges
    assert Privilege("database", "CONNECT", APP, False) in public[0].privileges  # default ACL expanded
    # WEIRD was never granted on: its datacl is NULL, which means acldefault's entries (PUBLIC: CONNECT, TEMPORARY)
    assert {Privilege("database", "CONNECT", WEIRD), Privilege("database", "TEMPORARY", WEIRD)} <= set(
        public[0].privileges
    )
    users = [a for a in accounts if a.username != "PUBLIC"]
    # PUBLIC's CONNECT is not copied into the users (erin holds one through her roles: g3's own grant)
    assert all(p.target != APP or p.privilege != "CONNECT" or p.via == G123 for a in users for p in a.privileges)


def test_superuser_postgres(adapter):
    postgres = {a.username: a for a in adapter.fetch_accounts()}["postgres"]
    assert postgres.is_superuser and postgres.can_grant


def test_inventory_excludes_templates(scenario, adapter):
    names = {d.name for d in adapter.fetch_database_inventory()}
    assert {APP, WEIRD, "postgres"} <= names
    assert not names & {"template0", "template1"}


def test_database_sizes(scenario, adapter):
    sizes = {d.name: d.size_bytes for d in adapter.fetch_database_sizes()}
    assert sizes[APP] > sizes[WEIRD] > 0
    assert "template0" not in sizes


def test_table_sizes(scenario, adapter):
    tables = {(t.schema, t.table): t for t in adapter.fetch_table_sizes(APP)}
    assert set(tables) == {("public", "t"), ("public", "gina_t")}
    t = tables[("public", "t")]
    assert t.size_bytes >= t.data_bytes + t.index_bytes > 0
    assert t.data_bytes > t.index_bytes > 0  # 2,000 rows of three columns; a btree on one int4
    assert t.row_count == 2000  # analysed


def test_table_sizes_of_database_name_needing_quotes(scenario, adapter):
    tables = adapter.fetch_table_sizes(WEIRD)
    assert [(t.schema, t.table) for t in tables] == [('odd"schema', "t;x")]
    assert tables[0].size_bytes > 0
    assert tables[0].row_count is None  # never analysed


def test_table_sizes_of_unknown_database_is_an_error(adapter):
    with pytest.raises(TargetQueryFailed, match="does not exist"):
        adapter.fetch_table_sizes(f"{P}missing")


def test_adapter_from_instance_via_registry(db, pg_monitor):
    instance = make_instance(
        db_type="postgresql",
        host=pg_monitor.host,
        port=pg_monitor.port,
        credential=make_credential(username=pg_monitor.username, password=pg_monitor.password),
    )
    adapter = get_adapter(instance)
    assert isinstance(adapter, PostgreSQLAdapter)
    assert adapter.params.instance_id == instance.pk
    assert adapter.test_connection().version[:2].isdigit()


def test_a_database_dropped_while_the_read_runs_is_named_not_a_failed_read(pg_scratch, pg_monitor):
    """Listed, then dropped before its own connection opens (as another tool may do at any time):
    the server's "does not exist" names that database, the others are read."""
    doomed = f"{P}doomed"
    pg_scratch.later(pgsql.SQL("DROP DATABASE IF EXISTS {}").format(ident(doomed)))
    pg_scratch.run(pgsql.SQL("CREATE DATABASE {}").format(ident(doomed)))
    adapter = PostgreSQLAdapter(pg_monitor)
    connect = adapter.connect

    def drop_first(database=None):
        if database == doomed:
            pg_scratch.run(pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(ident(doomed)))
        return connect(database)

    adapter.connect = drop_first
    rows = adapter.read_account_rows()
    reasons = {d["database"]: d["reason"] for d in rows["databases_not_read"]}
    assert reasons[doomed].startswith("it was dropped while being read (") and "does not exist" in reasons[doomed]
    assert doomed not in rows["objects"] and rows["connected_database"] in rows["objects"]


def test_a_failure_of_a_database_that_still_exists_fails_the_read(pg_scratch, pg_monitor):
    adapter = PostgreSQLAdapter(pg_monitor)
    connect = adapter.connect
    other = f"{P}still_here"
    pg_scratch.later(pgsql.SQL("DROP DATABASE IF EXISTS {}").format(ident(other)))
    pg_scratch.run(pgsql.SQL("CREATE DATABASE {}").format(ident(other)))

    def failing(database=None):
        if database == other:
            raise TargetQueryFailed("Instance 'pg-live': read object privileges: server error")
        return connect(database)

    adapter.connect = failing
    with pytest.raises(TargetQueryFailed, match="server error"):
        adapter.read_account_rows()


def test_a_database_left_invalid_by_an_interrupted_drop_is_not_listed_nor_read(pg_scratch, pg_monitor):
    """PG 15+ (and the minor releases of August 2023) mark a database whose DROP DATABASE was
    interrupted with ``datconnlimit = -2``: it cannot be connected to, only dropped. The marker is
    set here as the server sets it (an interrupted DROP cannot be produced on demand)."""
    invalid = f"{P}invalid"
    pg_scratch.later(pgsql.SQL("DROP DATABASE IF EXISTS {}").format(ident(invalid)))
    pg_scratch.run(pgsql.SQL("CREATE DATABASE {}").format(ident(invalid)))
    pg_scratch.run("UPDATE pg_database SET datconnlimit = -2 WHERE datname = %s", (invalid,))
    adapter = PostgreSQLAdapter(pg_monitor)
    assert invalid not in {d.name for d in adapter.fetch_database_inventory()}
    assert invalid not in {d.name for d in adapter.fetch_database_sizes()}
    rows = adapter.read_account_rows()
    assert invalid not in rows["objects"] and invalid not in str(rows["databases_not_read"])
    assert invalid not in {row["datname"] for row in rows["databases"]}


def test_functions_an_extensions_with_the_default_acl_left_out_and_argument_types_with_their_schema(
    pg_scratch, pg_monitor
):
    """A function's default ACL lets PUBLIC execute it: listed (PUBLIC's EXECUTE); an extension's
    functions with the default ACL are not, one whose ACL a GRANT changed is (members made with
    ALTER EXTENSION … ADD, as no contrib extension is installed on every target). Argument types of
    another schema than pg_catalog carry it (the session's search_path is pg_catalog alone)."""
    db, login = f"{P}fx", f"{P}fx_login"
    pg_scratch.later(pg_drop_role(login))
    pg_scratch.later(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident(db)))
    pg_scratch.run(pgsql.SQL("CREATE DATABASE {}").format(ident(db)))
    pg_scratch.run(pgsql.SQL("CREATE ROLE {} LOGIN").format(ident(login)))
    pg_scratch.run("CREATE DOMAIN public.dint AS integer; "
                   "CREATE FUNCTION public.shout(public.dint) RETURNS integer LANGUAGE sql AS 'SELECT 1'; "
                   "CREATE FUNCTION public.quiet_member(integer) RETURNS integer LANGUAGE sql AS 'SELECT 1'; "
                   "CREATE FUNCTION public.granted_member(integer) RETURNS integer LANGUAGE sql AS 'SELECT 1'; "
                   "ALTER EXTENSION plpgsql ADD FUNCTION public.quiet_member(integer); "
                   "ALTER EXTENSION plpgsql ADD FUNCTION public.granted_member(integer)", database=db)  # fmt: skip
    pg_scratch.run(pgsql.SQL("GRANT EXECUTE ON FUNCTION public.granted_member(integer) TO {}").format(ident(login)),
                   database=db)  # fmt: skip
    accounts = {a.username: a for a in PostgreSQLAdapter(pg_monitor).fetch_accounts()}
    granted = f"{db}.public.granted_member(integer)"
    assert Privilege("object", "EXECUTE", granted) in accounts[login].privileges
    public = {p.target for p in accounts["PUBLIC"].privileges if p.privilege == "EXECUTE" and p.target.startswith(db)}
    assert public == {f"{db}.public.shout(public.dint)", granted}  # not quiet_member: an extension's, default ACL

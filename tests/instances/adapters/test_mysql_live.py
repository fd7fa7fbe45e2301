"""MySQLAdapter against the live MariaDB, read by a monitoring account holding
only the GRANTs documented in docs/adapters.md."""

from __future__ import annotations

import json
import secrets

import pytest

from accounts.fingerprint import listing_fingerprint
from instances.adapters.base import AccountFacts, Privilege
from instances.adapters.mysql.adapter import MySQLAdapter
from instances.adapters.registry import get_adapter
from tests.live_targets import MYSQL_HOST, MYSQL_PORT, RUN_PREFIX, mysql_ident
from tests.support.factories import make_credential, make_instance

pytestmark = pytest.mark.live

P = RUN_PREFIX
APP = f"{P}app"
CRM = f"{P}crm"
EMPTY = f"{P}empty"
WEIRD = f'{P}we"ird; drop`x'


@pytest.fixture(scope="module")
def scenario(mysql_module_scratch):
    """Roles, users (locked, column grant, grant option, SUPER) and two databases; dropped after the module."""
    s = mysql_module_scratch
    for db in (APP, CRM, EMPTY, WEIRD):
        s.later(f"DROP DATABASE IF EXISTS {mysql_ident(db)}")
        s.run(f"CREATE DATABASE {mysql_ident(db)}")
    s.run(f"CREATE TABLE {mysql_ident(APP)}.t (id INT PRIMARY KEY, note VARCHAR(20), secret VARCHAR(20))")
    s.run(f"CREATE TABLE {mysql_ident(APP)}.t2 (id INT PRIMARY KEY, KEY k (id)) ENGINE=InnoDB")
    s.run(f"CREATE TABLE {mysql_ident(APP)}.m (id INT, payload VARCHAR(100)) ENGINE=MyISAM")
    s.run(f"INSERT INTO {mysql_ident(APP)}.t VALUES " + ",".join(f"({i}, 'n{i}', 's{i}')" for i in range(500)))
    s.run(f"INSERT INTO {mysql_ident(APP)}.m VALUES " + ",".join(f"({i}, REPEAT('x', 90))" for i in range(500)))
    s.run(f"CREATE TABLE {mysql_ident(WEIRD)}.{mysql_ident('odd`table')} (id INT)")
    s.run(f"INSERT INTO {mysql_ident(WEIRD)}.{mysql_ident('odd`table')} VALUES (1), (2)")
    for role in ("base", "reader"):
        s.later(f"DROP ROLE IF EXISTS {P}{role}")
        s.run(f"CREATE ROLE {P}{role}")
    s.run(f"GRANT {P}base TO {P}reader")
    s.run(f"GRANT SELECT ON {mysql_ident(APP)}.* TO {P}reader")
    for user, host in (("alice", "%"), ("bob", "localhost"), ("carol", "%")):
        s.later(f"DROP USER IF EXISTS '{P}{user}'@'{host}'")
        s.run(f"CREATE USER '{P}{user}'@'{host}' IDENTIFIED BY '{secrets.token_urlsafe(12)}'")  # urlsafe: no quoting
    s.run(f"GRANT {P}reader TO '{P}alice'@'%'")
    s.run(f"GRANT SELECT (note) ON {mysql_ident(APP)}.t TO '{P}alice'@'%'")
    s.run(f"GRANT INSERT ON {mysql_ident(APP)}.t2 TO '{P}alice'@'%' WITH GRANT OPTION")
    s.run(f"GRANT SELECT, INSERT ON {mysql_ident(APP)}.* TO '{P}bob'@'localhost'")
    s.run(f"GRANT DELETE HISTORY ON {mysql_ident(CRM)}.* TO '{P}bob'@'localhost'")  # MariaDB 10.3.4+'s extra db flag
    s.run(f"ALTER USER '{P}bob'@'localhost' ACCOUNT LOCK")
    s.run(f"GRANT SUPER ON *.* TO '{P}carol'@'%'")
    s.run(f"GRANT PROCESS ON *.* TO '{P}carol'@'%' WITH GRANT OPTION")
    # a role chain three deep: r1 → r2 → r3; r3 may DELETE in APP, r2 may SELECT in CRM (a second
    # database) WITH GRANT OPTION. erin has r1 as her default role; frank was granted r1 only.
    for name in ("r1", "r2", "r3"):
        s.later(f"DROP ROLE IF EXISTS {P}{name}")
        s.run(f"CREATE ROLE {P}{name}")
    s.run(f"GRANT {P}r3 TO {P}r2")
    s.run(f"GRANT {P}r2 TO {P}r1")
    s.run(f"GRANT DELETE ON {mysql_ident(APP)}.* TO {P}r3")
    s.run(f"GRANT SELECT ON {mysql_ident(CRM)}.* TO {P}r2 WITH GRANT OPTION")
    for user in ("erin", "frank"):
        s.later(f"DROP USER IF EXISTS '{P}{user}'@'%'")
        s.run(f"CREATE USER '{P}{user}'@'%' IDENTIFIED BY '{secrets.token_urlsafe(12)}'")
        s.run(f"GRANT {P}r1 TO '{P}{user}'@'%'")
    s.run(f"SET DEFAULT ROLE {P}r1 FOR '{P}erin'@'%'")
    s.run(f"ALTER USER '{P}frank'@'%' PASSWORD EXPIRE")  # global_priv's password_last_changed becomes 0
    return s


@pytest.fixture
def adapter(mysql_monitor) -> MySQLAdapter:
    return MySQLAdapter(mysql_monitor)


def _ours(accounts: list[AccountFacts], monitor_name: str) -> dict[tuple[str, str], AccountFacts]:
    return {(a.username, a.host): a for a in accounts if a.username.startswith(P) and a.username != monitor_name}


def test_the_large_account_statements_are_fingerprinted_without_building_their_rows(adapter):
    # an unchanged listing is recognised from the driver's tuples: its rows are never made dicts
    rows = adapter.read_account_rows()
    listing_fingerprint(adapter=adapter, rows=rows)
    # (a privilege table the monitor may not read is an empty list: nothing to build)
    assert [name for name in ('users', 'db_privs', 'mariadb_roles') if getattr(rows[name], "built", False)] == []
    assert adapter.parse_account_rows(rows) and all(rows[name].built for name in ('users', 'db_privs', 'mariadb_roles'))


def test_connection_reports_version_and_latency(adapter):
    result = adapter.test_connection()
    assert "MariaDB" in result.version
    assert result.latency_ms > 0
    assert adapter.server_version() == result.version


def test_accounts_are_exactly_the_created_users(scenario, adapter, mysql_monitor):
    accounts = _ours(adapter.fetch_accounts(), mysql_monitor.username)
    assert set(accounts) == {(f"{P}{u}", h) for u, h in (("alice", "%"), ("bob", "localhost"), ("carol", "%"),
                                                         ("erin", "%"), ("frank", "%"))}  # fmt: skip
    for account in accounts.values():
        json.dumps(account.snapshot)  # JSON-serialisable
        assert "authentication_string" not in account.snapshot


def test_role_granted_to_user_includes_inherited_role(scenario, adapter, mysql_monitor):
    alice = _ours(adapter.fetch_accounts(), mysql_monitor.username)[(f"{P}alice", "%")]
    assert alice.roles == (f"{P}base", f"{P}reader")
    assert alice.snapshot["direct_roles"] == [{"role": f"{P}reader", "admin_option": False, "active_at_login": False}]
    assert Privilege("column", "SELECT", f"{APP}.t.note", False) in alice.privileges
    assert Privilege("object", "INSERT", f"{APP}.t2", True) in alice.privileges
    assert alice.can_grant and not alice.is_superuser and not alice.is_locked and alice.can_login
    # reader is not her default role: its grant is shown as reachable by SET ROLE only
    assert Privilege("database", "SELECT", APP, via=(f"{P}reader",), via_set_role=True) in alice.privileges


def test_a_role_chain_three_deep_through_the_default_role(scenario, adapter, mysql_monitor):
    erin = _ours(adapter.fetch_accounts(), mysql_monitor.username)[(f"{P}erin", "%")]
    assert erin.roles == (f"{P}r1", f"{P}r2", f"{P}r3")
    assert Privilege("database", "DELETE", APP, via=(f"{P}r1", f"{P}r2", f"{P}r3")) in erin.privileges
    # a grant option held through a role, in a second database
    assert Privilege("database", "SELECT", CRM, True, via=(f"{P}r1", f"{P}r2")) in erin.privileges
    assert erin.can_grant
    assert erin.reasons["can_grant"] == (f"SELECT on {CRM}.* WITH GRANT OPTION via {P}r1 → {P}r2",)


def test_a_granted_role_that_is_not_the_default_is_shown_not_counted(scenario, adapter, mysql_monitor):
    frank = _ours(adapter.fetch_accounts(), mysql_monitor.username)[(f"{P}frank", "%")]
    assert Privilege("database", "DELETE", APP, via=(f"{P}r1", f"{P}r2", f"{P}r3"), via_set_role=True) in (
        frank.privileges
    )
    assert all(p.via_set_role for p in frank.privileges) and not frank.can_grant


def test_an_expired_password_is_recorded_and_does_not_lock(scenario, adapter, mysql_monitor):
    accounts = _ours(adapter.fetch_accounts(), mysql_monitor.username)
    expired = {user for (user, _), account in accounts.items() if account.snapshot["password_expired"]}
    assert expired == {f"{P}frank"}
    frank = accounts[(f"{P}frank", "%")]
    assert not frank.is_locked and frank.can_login  # an expired password still logs in, to change it


def test_locked_user_with_database_grants(scenario, adapter, mysql_monitor):
    bob = _ours(adapter.fetch_accounts(), mysql_monitor.username)[(f"{P}bob", "localhost")]
    assert bob.is_locked and not bob.can_login
    assert set(bob.privileges) == {Privilege("database", "INSERT", APP), Privilege("database", "SELECT", APP),
                                   Privilege("database", "DELETE HISTORY", CRM)}  # fmt: skip
    assert len(bob.privileges) == 3
    assert not bob.can_grant and bob.roles == ()


def test_superuser_and_global_grant_option(scenario, adapter, mysql_monitor):
    carol = _ours(adapter.fetch_accounts(), mysql_monitor.username)[(f"{P}carol", "%")]
    assert carol.is_superuser and carol.can_grant
    assert {p.privilege for p in carol.privileges} == {"SUPER", "PROCESS"}
    assert all(p.level == "global" and p.grantable for p in carol.privileges)
    assert carol.reasons["is_superuser"] == ("SUPER on *.* WITH GRANT OPTION",)


def test_inventory_excludes_system_schemas(scenario, adapter):
    names = {d.name for d in adapter.fetch_database_inventory()}
    assert {APP, EMPTY, WEIRD} <= names
    assert not names & {"mysql", "information_schema", "performance_schema", "sys"}


def test_database_sizes_include_empty_schema(scenario, adapter):
    sizes = {d.name: d for d in adapter.fetch_database_sizes()}
    assert sizes[EMPTY].size_bytes == 0
    assert sizes[APP].size_bytes > 0 and sizes[APP].data_bytes > 0
    # the schema's data bytes are its tables' (read by another statement, TABLE_SIZES; InnoDB statistics may
    # be refreshed between the two reads, hence approx), which here are well apart from their index bytes
    tables = adapter.fetch_table_sizes(APP)
    data, index = sum(t.data_bytes for t in tables), sum(t.index_bytes for t in tables)
    assert data > 2 * index > 0
    assert sizes[APP].data_bytes == pytest.approx(data, rel=0.25)
    assert sizes[APP].size_bytes == pytest.approx(data + index, rel=0.25)
    assert "mysql" not in sizes


def test_table_sizes_all_engines(scenario, adapter):
    tables = {t.table: t for t in adapter.fetch_table_sizes(APP)}
    assert set(tables) == {"t", "t2", "m"}
    assert all(t.schema == APP for t in tables.values())
    assert tables["t"].size_bytes > 0 and tables["t"].row_count is not None
    assert tables["m"].data_bytes >= 500 * 90  # MyISAM counts too
    assert tables["m"].row_count == 500  # exact for MyISAM


def test_table_sizes_of_database_name_needing_quotes(scenario, adapter):
    tables = adapter.fetch_table_sizes(WEIRD)
    assert [(t.schema, t.table) for t in tables] == [(WEIRD, "odd`table")]


def test_table_sizes_of_unknown_database_is_an_error(adapter):
    from whalefall.errors import TargetQueryFailed

    with pytest.raises(TargetQueryFailed, match="not found"):
        adapter.fetch_table_sizes(f"{P}missing")


def test_adapter_from_instance_via_registry(db, mysql_monitor):
    instance = make_instance(
        db_type="mysql",
        host=MYSQL_HOST,
        port=MYSQL_PORT,
        credential=make_credential(username=mysql_monitor.username, password=mysql_monitor.password),
    )
    adapter = get_adapter(instance)
    assert isinstance(adapter, MySQLAdapter)
    assert adapter.params.instance_id == instance.pk
    assert "MariaDB" in adapter.test_connection().version

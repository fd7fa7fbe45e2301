"""parse.py of the MySQL adapter: recorded catalog rows → dataclasses, no database.

Each rule of the module docstring decides at least one test: a baseline account
holding nothing special, then exactly the row that rule is about. The rows are
MariaDB's, for what the live MariaDB cannot be set up to show in a test (other
versions' bitmasks, PUBLIC, validation plugins that are not installed). MySQL
5.7 / 8.0 / 8.4 rows are not replayed here: their SQL is executed on emulated
grant tables (test_mysql_executed.py)."""

from __future__ import annotations

import json
import re

import pytest

from instances.adapters.base import AccountFacts, DatabaseSize, PasswordPolicy, Privilege, TableSize
from instances.adapters.matching import holds
from instances.adapters.matching.mysql import FIRST_MATCH
from instances.adapters.mysql import grants, parse, sql
from instances.adapters.mysql import rows as row_rules
from instances.adapters.mysql.features import MySQLFeatures

SELECT, SUPER, GRANT_OPTION = 1, 1 << 15, 1 << 10


def gp(name: str, host: str = "%", access: int = 0, **keys) -> dict:
    """A ``MARIADB_ACCOUNTS`` row (mysql.global_priv, JSON_VALUE gives text)."""
    row = {"Host": host, "User": name, "access": str(access), "is_role": None, "default_role": None,
           "account_locked": None, "plugin": "mysql_native_password",
           "password_last_changed": "1796118181"}  # fmt: skip
    row.update(keys)
    return row


def role(name: str, access: int = 0) -> dict:
    return gp(name, "", access, is_role="1", plugin=None, password_last_changed=None)


def db(user: str, host: str, database: str, *privs: str, grant: bool = False) -> dict:
    row = {"Host": host, "User": user, "Db": database, "Select_priv": "N", "Insert_priv": "N", "Delete_priv": "N",
           "Grant_priv": "Y" if grant else "N"}  # fmt: skip
    row.update({f"{p}_priv": "Y" for p in privs})
    return row


def grant(grantee: str, role_name: str, host: str = "%", admin: bool = False) -> dict:
    return {"Host": host, "User": grantee, "Role": role_name, "Admin_option": "Y" if admin else "N"}


def mariadb(users, dbs=(), roles_mapping=(), tables=(), columns=()) -> dict[str, AccountFacts]:
    accounts = parse.parse_accounts(
        users, dbs, tables, columns, parse.mariadb_role_grants(roles_mapping), mariadb=True, version=(10, 11, 19)
    )
    return {a.username: a for a in accounts}


def alice(**kw) -> AccountFacts:
    """``alice``@% plus whatever rows ``kw`` adds (users, dbs, roles_mapping)."""
    users = [gp("alice", default_role=kw.pop("default_role", None)), *kw.pop("users", [])]
    return mariadb(users, **kw)["alice"]


# --- accounts and roles -----------------------------------------------------------


def test_roles_are_not_accounts_and_are_held_transitively():
    accounts = mariadb([gp("alice"), role("reader"), role("base")],
                       roles_mapping=[grant("alice", "reader"), grant("reader", "base", host="")])  # fmt: skip
    assert list(accounts) == ["alice"]
    assert accounts["alice"].roles == ("base", "reader")


# --- global privileges: the access bitmask ---------------------------------------


def test_access_bitmask_is_decoded_including_privileges_newer_than_the_user_view():
    names, grantable = grants.decode_access(SELECT | 1 << 20 | 1 << 32 | 1 << 38, (10, 11, 19))
    assert names == ("SELECT", "BINLOG MONITOR", "CONNECTION ADMIN", "SLAVE MONITOR") and not grantable
    assert grants.decode_access(1 << 20, (10, 4, 30))[0] == ("REPLICATION CLIENT",)  # its name before 10.5.2
    assert grants.decode_access(GRANT_OPTION, (10, 11, 0)) == ((), True)


def test_all_privileges_on_star_star_is_every_privilege():
    root = mariadb([gp("root", access=(1 << 39) - 1)])["root"]
    names = {p.privilege for p in root.privileges}
    assert len(names) == 38 and {"SUPER", "DELETE", "SET USER", "SLAVE MONITOR"} <= names
    assert all(p.grantable and p.level == "global" and p.via == () for p in root.privileges)


# --- grant option -------------------------------------------------------------------


def test_grant_option_makes_the_levels_privileges_grantable():
    assert not alice(dbs=[db("alice", "%", "app", "Select")]).can_grant
    account = alice(dbs=[db("alice", "%", "app", "Select", grant=True)])
    assert account.privileges == (Privilege("database", "SELECT", "app", True),)
    assert account.can_grant and account.reasons["can_grant"] == ("SELECT on app.* WITH GRANT OPTION",)


def test_grant_option_without_privileges_is_usage_grantable():
    account = alice(users=[], dbs=[db("alice", "%", "app", grant=True)])
    assert account.privileges == (Privilege("database", "USAGE", "app", True),) and account.can_grant


def test_table_and_column_privileges_and_the_tables_grant_option():
    tables = [{"Host": "%", "User": "alice", "Db": "app", "Table_name": "t2", "Table_priv": "Insert,Grant"},
              {"Host": "%", "User": "alice", "Db": "app", "Table_name": "t", "Table_priv": ""}]  # fmt: skip
    columns = [{"Host": "%", "User": "alice", "Db": "app", "Table_name": "t2", "Column_name": "c",
                "Column_priv": "Select"}]  # fmt: skip
    account = alice(tables=tables, columns=columns)
    assert account.privileges == (Privilege("object", "INSERT", "app.t2", True),
                                  Privilege("column", "SELECT", "app.t2.c", True))  # fmt: skip


# --- effective privileges through roles ---------------------------------------------


def chain(default_role: str | None = "r1", **kw) -> AccountFacts:
    """alice → r1 → r2 → r3; r3 holds DELETE on app.*."""
    return alice(
        default_role=default_role,
        users=[role("r1"), role("r2"), role("r3"), *kw.pop("users", [])],
        dbs=[db("r3", "", "app", "Delete"), *kw.pop("dbs", [])],
        roles_mapping=[grant("alice", "r1"), grant("r1", "r2", host=""), grant("r2", "r3", host=""),
                       *kw.pop("roles_mapping", [])],
        **kw,
    )  # fmt: skip


def test_a_privilege_of_a_role_of_the_default_role_is_effective_with_its_path():
    account = chain()
    assert account.privileges == (Privilege("database", "DELETE", "app", via=("r1", "r2", "r3")),)
    assert account.roles == ("r1", "r2", "r3")


def test_a_granted_role_that_is_not_the_default_needs_set_role():
    account = chain(default_role=None)
    assert account.privileges == (Privilege("database", "DELETE", "app", via=("r1", "r2", "r3"), via_set_role=True),)


def test_super_through_the_default_role_counts_and_through_another_role_does_not():
    users = [role("dba", access=SUPER)]
    held = alice(default_role="dba", users=users, roles_mapping=[grant("alice", "dba")])
    assert held.is_superuser and held.reasons["is_superuser"] == ("SUPER on *.* via dba",)
    assert not alice(users=users, roles_mapping=[grant("alice", "dba")]).is_superuser


def test_a_grant_option_held_through_the_default_role_lets_the_account_grant():
    account = chain(dbs=[db("r2", "", "crm", "Select", grant=True)])
    assert account.can_grant
    assert account.reasons["can_grant"] == ("SELECT on crm.* WITH GRANT OPTION via r1 → r2",)
    assert not chain(default_role=None, dbs=[db("r2", "", "crm", "Select", grant=True)]).can_grant


def test_admin_option_on_a_role_directly_or_through_a_held_role():
    direct = alice(users=[role("r")], roles_mapping=[grant("alice", "r", admin=True)])
    assert direct.can_grant and direct.reasons["can_grant"] == ("ADMIN OPTION on role r",)
    through = chain(roles_mapping=[grant("r1", "ops", host="", admin=True)], users=[role("ops")])
    assert "ADMIN OPTION on role ops via r1" in through.reasons["can_grant"]
    assert not chain(default_role=None, roles_mapping=[grant("r1", "ops", host="", admin=True)],
                     users=[role("ops")]).can_grant  # fmt: skip


# --- database rows: only the most specific one matching a database ------------------------------
# MariaDB uses one mysql.db row per holder and database (live: test_mariadb_random_live.py)


def _held(account: AccountFacts, privilege: str, table: str) -> bool:
    return bool(holds(account.privileges, privilege, "object", table, db_type="mysql"))


def test_a_more_specific_database_row_hides_what_a_wider_one_grants():
    account = alice(dbs=[db("alice", "%", "a%", "Select", "Delete"), db("alice", "%", "a\\_b", "Insert")])
    assert Privilege("database", "DELETE", "a\\_b", state="DENY", implied_by=FIRST_MATCH) in account.privileges
    assert not _held(account, "DELETE", "a_b.t") and not _held(account, "SELECT", "a_b.t")
    assert _held(account, "INSERT", "a_b.t") and _held(account, "DELETE", "a_c.t")


def test_a_role_and_the_roles_granted_to_it_are_one_holder_the_account_another():
    account = chain(dbs=[db("r1", "", "a%", "Select"), db("r3", "", "a\\_b", "Insert"),
                         db("alice", "%", "a%", "Update")])  # fmt: skip
    assert Privilege("database", "SELECT", "a\\_b", state="DENY", via=("r1",), implied_by=FIRST_MATCH) in (
        account.privileges)  # fmt: skip
    assert not _held(account, "SELECT", "a_b.t") and _held(account, "INSERT", "a_b.t")
    assert _held(account, "UPDATE", "a_b.t")  # the account's own row: not hidden by its role's


def test_public_rows_hide_only_public_rows():
    accounts = mariadb([gp("alice"), role("PUBLIC")], dbs=[db("PUBLIC", "", "a%", "Select"),
                                                           db("PUBLIC", "", "a_b", "Insert"),
                                                           db("alice", "%", "a\\_b", "Delete")])  # fmt: skip
    assert not _held(accounts["PUBLIC"], "SELECT", "a_b.t") and _held(accounts["PUBLIC"], "SELECT", "a_c.t")
    assert [p.state for p in accounts["alice"].privileges] == ["GRANT"]


# --- rows of same-name accounts: by user name and client host (matching rule 6) ------------------
# live: test_mariadb_random_live.py test_same_name_at_two_hosts; each rule below was checked against
# MariaDB 10.11 with a connection from 127.0.0.1


def at(host: str, users=(), dbs=(), tables=(), columns=()) -> AccountFacts:
    """``u``@``host`` among the given users (all named ``u``)."""
    accounts = parse.parse_accounts(list(users), dbs, tables, columns, mariadb=True, version=(10, 11, 19))
    return next(a for a in accounts if a.host == host)


def table(host: str, database: str, name: str, privs: str, user: str = "u") -> dict:
    return {"Host": host, "User": user, "Db": database, "Table_name": name, "Table_priv": privs}


def column(host: str, database: str, name: str, col: str, privs: str) -> dict:
    return {"Host": host, "User": "u", "Db": database, "Table_name": name, "Column_name": col, "Column_priv": privs}


def _col(account: AccountFacts, privilege: str, target: str) -> bool:
    return bool(holds(account.privileges, privilege, "column", target, db_type="mysql"))


LOOP = [gp("u", "127.0.0.1"), gp("u", "%"), gp("u", "127.%")]


def test_the_accounts_own_database_row_comes_before_a_covering_hosts():
    account = at("127.0.0.1", LOOP, dbs=[db("u", "127.0.0.1", "a\\_%", "Select"), db("u", "%", "a_b", "Insert")])
    label = "same user name at host %"
    assert Privilege("database", "INSERT", "a_b", implied_by=label) in account.privileges
    assert Privilege("database", "INSERT", "a\\_%", state="DENY", implied_by=FIRST_MATCH) in account.privileges
    assert _held(account, "SELECT", "a_b.t") and not _held(account, "INSERT", "a_b.t")
    assert _held(account, "INSERT", "acb.t")  # only the covering row matches it
    # a covering row all of whose names an own row matches is never reached: not listed
    account = at("127.0.0.1", LOOP, dbs=[db("u", "127.0.0.1", "a%", "Select"), db("u", "%", "a\\_b", "Insert")])
    assert not any(p.implied_by for p in account.privileges) and not _held(account, "INSERT", "a_b.t")


def test_a_covering_hosts_database_row_applies_where_the_account_has_none():
    account = at("127.0.0.1", LOOP, dbs=[db("u", "127.0.0.1", "a", "Select"), db("u", "%", "b", "Insert")])
    assert _held(account, "INSERT", "b.t") and not _held(account, "INSERT", "a.t")
    assert not _held(at("%", LOOP, dbs=[db("u", "127.0.0.1", "a", "Select")]), "SELECT", "a.t")  # not the reverse


def test_the_most_specific_covering_host_comes_first():
    dbs = [db("u", "%", "d%", "Select"), db("u", "127.%", "d_", "Delete")]
    account = at("127.0.0.1", LOOP, dbs=dbs)
    assert _held(account, "DELETE", "d1.t") and not _held(account, "SELECT", "d1.t")
    assert _held(account, "SELECT", "dd1.t")  # only the '%' host's row matches
    assert Privilege("database", "SELECT", "d_", state="DENY",
                     implied_by=f"{FIRST_MATCH}, same user name at host 127.%") in account.privileges  # fmt: skip


def test_a_covering_hosts_row_for_a_pattern_a_more_specific_host_has_is_never_reached():
    """Its grant option included: ``GRANT SELECT ON g.* TO v`` by 'u'@'127.0.0.1' fails (1044) when
    its own ``g`` row has no grant option, whatever 'u'@'%''s ``g`` row has (live)."""
    dbs = [db("u", "127.0.0.1", "g", "Select"), db("u", "%", "g", "Select", "Insert", grant=True),
           db("u", "127.%", "h", "Select"), db("u", "%", "h", "Delete")]  # fmt: skip
    account = at("127.0.0.1", LOOP, dbs=dbs)
    assert not account.can_grant and not _held(account, "INSERT", "g.t")
    assert [p.target for p in account.privileges if p.implied_by] == ["h"]  # 127.%'s h; '%''s g and h: never
    assert not _held(account, "DELETE", "h.t")
    # nor when its names are a part of an earlier row's (live: 'u'@'%''s rvw2\_ab under an own rvw2_ab)
    dbs = [db("u", "127.0.0.1", "a_b", "Select"), db("u", "%", "a\\_b", "Select", "Insert", grant=True)]
    account = at("127.0.0.1", LOOP, dbs=dbs)
    assert not account.can_grant and not _held(account, "INSERT", "a_b.t") and not any(
        p.implied_by for p in account.privileges)


def test_a_covering_hosts_routine_grant_is_not_hidden_by_a_table_of_the_same_name():
    """Tables and routines are looked up apart (MariaDB ``table_hash_search`` / ``routine_hash_search``):
    'u'@'127.0.0.1''s grant on table ``s.t0`` does not hide 'u'@'%''s EXECUTE on routine ``s.t0``, whose
    name procs_priv keeps as the GRANT spelled it (compared case-insensitively: lower case here)."""
    routines = [{"Host": "%", "User": "u", "Db": "s", "Routine_name": "T0", "Routine_type": "PROCEDURE",
                 "Proc_priv": "Execute,Grant"}]  # fmt: skip
    accounts = parse.parse_accounts(LOOP, (), [table("127.0.0.1", "s", "t0", "Select")], (), mariadb=True,
                                    version=(10, 11, 19), routine_privs=routines)  # fmt: skip
    account = next(a for a in accounts if a.host == "127.0.0.1")
    assert _held(account, "EXECUTE", "s.t0") and _held(account, "SELECT", "s.t0")
    assert Privilege("object", "EXECUTE", "s.t0", True, implied_by="same user name at host %") in account.privileges


def test_first_match_denies_only_where_two_rows_can_share_a_database():
    rows = [db("alice", "%", "sales%", "Select"), db("alice", "%", "hr\\_%", "Insert"),
            db("alice", "%", "crm_", "Delete"), db("alice", "%", "crm%", "Update"), db("alice", "%", "%s", "Drop")]
    account = mariadb([gp("alice")], dbs=rows)["alice"]
    denies = {(p.target, p.privilege) for p in account.privileges if p.state == "DENY"}
    # crm_ (fixed length, ends anywhere) and crm% / %s can share one; sales% and hr\_% cannot
    assert denies == {("crm_", "UPDATE"), ("crm_", "DROP"), ("crm%", "DROP"), ("sales%", "DROP"),
                      ("hr\\_%", "DROP")}  # fmt: skip
    assert row_rules._patterns_disjoint("sales%", "hr\\_%") and row_rules._patterns_disjoint("a_", "a__")
    assert row_rules._patterns_disjoint("%ab", "%cb") and not row_rules._patterns_disjoint("a%", "%b")
    assert not row_rules._patterns_disjoint("a_c", "a%") and row_rules._patterns_disjoint("a_c", "b%")


def test_a_tables_entry_of_the_most_specific_host_only_with_its_columns():
    tables = [table("%", "d", "t1", "Select"), table("127.%", "d", "t1", "Insert"),
              table("127.0.0.1", "d", "t2", ""), table("%", "d", "t2", "Select,Update"),
              table("127.%", "d", "t3", ""), table("%", "d", "t3", "Select")]  # fmt: skip
    columns = [column("127.0.0.1", "d", "t2", "c", "Select"), column("127.%", "d", "t3", "c", "Update")]
    account = at("127.0.0.1", LOOP, tables=tables, columns=columns)
    assert _held(account, "INSERT", "d.t1") and not _held(account, "SELECT", "d.t1")
    assert _col(account, "SELECT", "d.t2.c") and not _held(account, "SELECT", "d.t2") and not _col(
        account, "UPDATE", "d.t2.c")  # fmt: skip
    assert _col(account, "UPDATE", "d.t3.c") and not _held(account, "SELECT", "d.t3")


def test_a_role_granted_to_a_covering_host_may_be_set_but_is_never_active():
    # 'u'@'127.0.0.1' may SET ROLE r granted to 'u'@'%' (with the roles granted to r), not at login,
    # with no ADMIN OPTION; a role granted to it directly keeps its own edge (live)
    users = [*LOOP, role("r"), role("inner"), role("own")]
    dbs = [db("r", "", "app", "Select"), db("inner", "", "app", "Insert"), db("own", "", "app", "Delete")]
    memberships = [grant("u", "r", admin=True), grant("r", "inner", host=""), grant("u", "own", host="127.0.0.1"),
                   grant("u", "own")]  # fmt: skip
    accounts = parse.parse_accounts(users, dbs, (), (), parse.mariadb_role_grants(memberships), mariadb=True,
                                    version=(10, 11, 19))  # fmt: skip
    here = next(a for a in accounts if a.host == "127.0.0.1")
    assert here.roles == ("inner", "own", "r") and not here.can_grant
    assert not _held(here, "SELECT", "app.t") and not _held(here, "INSERT", "app.t")
    assert holds(here.privileges, "SELECT", "object", "app.t", db_type="mysql", include_set_role=True)
    assert holds(here.privileges, "INSERT", "object", "app.t", db_type="mysql", include_set_role=True)
    assert [p.via for p in here.privileges if p.privilege == "DELETE"] == [("own",)]  # its own grant only
    wider = next(a for a in accounts if a.host == "%")
    assert wider.can_grant and "own" in wider.roles


def test_a_pattern_host_is_covered_by_a_wider_one_and_a_grant_option_there_lets_it_grant():
    users = [gp("u", "10.%"), gp("u", "%"), gp("u", "10.1.%"), gp("v", "%")]
    dbs = [db("u", "%", "d", "Select", grant=True), db("u", "10.1.%", "e", "Insert"), db("v", "%", "f", "Delete")]
    account = at("10.%", users, dbs=dbs, tables=[table("%", "d", "t", "Update")])
    assert _held(account, "SELECT", "d.t") and _held(account, "UPDATE", "d.t")
    assert not _held(account, "INSERT", "e.t") and not _held(account, "DELETE", "f.t")  # narrower host, other name
    assert account.can_grant and account.reasons["can_grant"] == (
        "SELECT on d.* WITH GRANT OPTION (implied by same user name at host %)",)  # fmt: skip


def test_a_name_at_one_host_only_is_unchanged():
    account = at("%", [gp("u", "%"), gp("w", "127.0.0.1")], dbs=[db("w", "127.0.0.1", "d", "Select")])
    assert account.privileges == () and not parse.parse_accounts(
        [gp("u", "%"), gp("u", "1%")], [db("u", "%", "d", "Select")], mariadb=False)[1].privileges  # fmt: skip


def test_host_covers():
    assert row_rules.host_covers("%", "127.0.0.1") and row_rules.host_covers("127.%", "127.0.0.1")
    assert row_rules.host_covers("%", "10.%") and row_rules.host_covers("1_.%", "10.%")
    assert row_rules.host_covers("%", "%")
    assert not row_rules.host_covers("10._", "10.%") and not row_rules.host_covers("127.%", "%")
    assert row_rules.host_covers("%.EXAMPLE.com", "db.example.COM")


# --- rows of the anonymous user: every login's, role's and PUBLIC's lookup (matching rule 7) -----

ANON = "anonymous user's row"


def _public(accounts: dict[str, AccountFacts]) -> AccountFacts | None:
    return accounts.get("PUBLIC")


def test_the_anonymous_users_rows_apply_to_every_login_at_a_covered_host():
    users = [gp("alice"), gp("bob", "localhost"), gp("carol", "10.%")]
    anon = [db("", "%", "test\\_%", "Select", "Insert"), db("", "10.0.%", "ops", "Delete")]
    accounts = mariadb(users, dbs=anon)
    assert Privilege("database", "SELECT", "test\\_%", implied_by=ANON) in accounts["alice"].privileges
    assert Privilege("database", "INSERT", "test\\_%", implied_by=f"{ANON} at host %") in accounts["bob"].privileges
    assert _held(accounts["carol"], "INSERT", "test_1.t")
    # 10.0.% covers no login's every session (carol@10.% may connect from 10.1.x): not listed
    assert not any(_held(a, "DELETE", "ops.t") for a in accounts.values())


def test_a_login_s_own_more_specific_row_hides_the_anonymous_row_and_the_other_way_round():
    anon = [db("", "%", "test\\_%", "Select"), db("", "%", "app1", "Delete")]
    own = [db("alice", "%", "test\\_1", "Insert"), db("alice", "%", "app%", "Update")]
    account = alice(dbs=[*anon, *own])
    assert _held(account, "INSERT", "test_1.t") and not _held(account, "SELECT", "test_1.t")
    assert _held(account, "SELECT", "test_2.t")
    # at one host a more specific database wins whoever's row it is: app1's anonymous row first
    assert Privilege("database", "UPDATE", "app1", state="DENY", implied_by=f"{FIRST_MATCH}, {ANON}") in (
        account.privileges)  # fmt: skip
    assert _held(account, "DELETE", "app1.t") and not _held(account, "UPDATE", "app1.t")
    assert _held(account, "UPDATE", "app2.t")


def test_of_two_equally_specific_rows_the_logins_own_comes_first():
    account = alice(dbs=[db("", "%", "app%", "Select"), db("alice", "%", "app%", "Insert")])
    assert _held(account, "INSERT", "app1.t") and not _held(account, "SELECT", "app1.t")


def test_a_role_s_lookup_finds_the_anonymous_rows_its_own_do_not_hide():
    # alice's own row on app1 hides the anonymous app% row for her; her default role's lookup (rows
    # of its own only on app2) still finds it on app1 — the server lets her SELECT there (live test)
    users = [gp("alice", default_role="r"), role("r")]
    dbs = [db("", "%", "app%", "Select"), db("alice", "%", "app1", "Insert"), db("r", "", "app2", "Delete")]
    account = mariadb(users, dbs=dbs, roles_mapping=[grant("alice", "r")])["alice"]
    assert Privilege("database", "SELECT", "app%", via=("r",), implied_by=f"{ANON} at host %") in account.privileges
    assert _held(account, "SELECT", "app1.t") and _held(account, "INSERT", "app1.t")
    # on app2 the role's own row comes first for the role; her own lookup still finds app% there
    assert Privilege("database", "SELECT", "app2", state="DENY", via=("r",), implied_by=FIRST_MATCH) in (
        account.privileges)  # fmt: skip
    assert _held(account, "DELETE", "app2.t") and _held(account, "SELECT", "app2.t")


def test_publics_lookup_finds_them_while_its_role_row_exists():
    dbs = [db("", "%", "app%", "Select"), db("alice", "%", "app1", "Insert")]
    without = mariadb([gp("alice")], dbs=dbs)
    assert _public(without) is None and not _held(without["alice"], "SELECT", "app1.t")
    public = _public(mariadb([gp("alice"), role("PUBLIC")], dbs=dbs))
    assert public is not None and _held(public, "SELECT", "app1.t")


def test_an_anonymous_row_with_an_empty_host_is_one_at_any_host():
    # a login's lookup applies it, ranked as at '%' (live: a more specific database of it wins over
    # the login's own pattern there); a role's own rows (host '') still come first in its lookup
    users = [gp("alice"), gp("bob", default_role="r"), role("r")]
    dbs = [db("", "", "app1", "Select"), db("alice", "%", "app%", "Insert"), db("r", "", "app%", "Insert")]
    accounts = mariadb(users, dbs=dbs, roles_mapping=[grant("bob", "r")])
    assert _held(accounts["alice"], "SELECT", "app1.t") and not _held(accounts["alice"], "INSERT", "app1.t")
    assert _held(accounts["bob"], "SELECT", "app1.t") and _held(accounts["bob"], "INSERT", "app1.t")


def test_an_anonymous_row_no_database_reaches_gives_no_grant_option():
    anon = db("", "%", "app", "Select", grant=True)
    reached = alice(dbs=[anon])
    assert reached.can_grant and _held(reached, "SELECT", "app.t")
    # alice's own row on app comes first (named before anonymous): the GRANT fails with 1044 (live)
    hidden = alice(dbs=[anon, db("alice", "%", "app", "Select")])
    assert not hidden.can_grant
    assert not any(p.implied_by for p in hidden.privileges if p.level == "database")


def test_an_accounts_anonymous_entries_do_not_depend_on_the_other_accounts():
    # x reaches c only through r, whose lookup finds c's row on app first; y reaches c through its
    # default role d: r's path holds none of c's rows for y — a memo shared by role alone gave x y's
    dbs = [db("", "%", "app", "Select", grant=True), db("c", "", "app", "Select"), db("x", "%", "app", "Insert")]
    memberships = [grant("x", "r"), grant("y", "r"), grant("y", "d"),
                   grant("r", "c", host=""), grant("d", "c", host="")]  # fmt: skip
    roles = [role("r"), role("d"), role("c")]
    first = mariadb([gp("x"), gp("y", default_role="d"), *roles], dbs=dbs, roles_mapping=memberships)["x"]
    after = mariadb([gp("y", default_role="d"), gp("x"), *roles], dbs=dbs, roles_mapping=memberships)["x"]
    assert first.privileges == after.privileges
    assert not any(p.implied_by and p.via == ("r",) for p in first.privileges)


def test_the_anonymous_users_table_and_column_rows_are_its_own_only():
    tables = [table("%", "d", "t", "Select", user="")]
    account = alice(tables=tables)
    assert not _held(account, "SELECT", "d.t")


# --- locks, PUBLIC, snapshot -------------------------------------------------------


def test_account_lock():
    account = mariadb([gp("bob", account_locked="1")])["bob"]
    assert account.is_locked and not account.can_login and account.reasons == {"is_locked": ("ACCOUNT LOCK",)}
    assert not alice().is_locked and alice().reasons == {}


def test_public_grants_are_one_pseudo_account_not_copied_into_every_account():
    accounts = mariadb([gp("alice"), role("PUBLIC")], dbs=[db("PUBLIC", "", "app", "Select")])
    assert accounts["PUBLIC"].privileges == (Privilege("database", "SELECT", "app"),)
    assert not accounts["PUBLIC"].can_login and accounts["alice"].privileges == ()
    assert "PUBLIC" not in mariadb([gp("alice"), role("PUBLIC")])  # holding nothing: not listed


def test_snapshot_and_expired_password():
    account = mariadb([gp("alice", access=SELECT, password_last_changed="0", default_role="r"), role("r")],
                      roles_mapping=[grant("alice", "r", admin=True)])["alice"]  # fmt: skip
    assert account.snapshot == {
        "engine": "mariadb", "plugin": "mysql_native_password", "password_expired": True, "account_locked": False,
        "direct_roles": [{"role": "r", "admin_option": True, "active_at_login": True}], "default_role": "r",
        "access": 1,
    }  # fmt: skip
    json.dumps(account.snapshot)


def test_privilege_names():
    assert grants.privilege_name("Create_tmp_table_priv") == "CREATE TEMPORARY TABLES"
    assert grants.privilege_name("Show_view_priv") == "SHOW VIEW"
    assert grants.privilege_name("Repl_client_priv") == "REPLICATION CLIENT"


def test_sizes():
    assert parse.parse_database_sizes([{"name": "app", "data_bytes": 16384, "index_bytes": 32768},
                                       {"name": "empty", "data_bytes": 0, "index_bytes": 0}]) == [
        DatabaseSize("app", 49152, 16384), DatabaseSize("empty", 0, 0)]  # fmt: skip
    rows = [{"table_schema": "app", "table_name": "v", "data_bytes": None, "index_bytes": None, "row_count": None}]
    assert parse.parse_table_sizes(rows) == [TableSize("app", "v", 0, 0, 0, None)]


@pytest.mark.parametrize(("version", "table"), [("10.11.19-MariaDB", "mysql.global_priv"), ("8.0.36", "mysql.user"),
                                                ("10.3.39-MariaDB", "mysql.user")])  # fmt: skip
def test_features_pick_the_accounts_table(version, table):
    features = MySQLFeatures(f"5.5.5-{version}")
    assert sql.accounts_table(features) == table and f"FROM {table}" in sql.accounts_sql(features)
    text = sql.accounts_sql(features)
    # from global_priv only named keys, never the whole JSON (it holds the password hash)
    assert "authentication_string" not in text and "Priv" not in re.sub(r"JSON_VALUE\(Priv, '\$\.\w+'\)", "", text)


def test_features_from_handshake_version():
    mariadb_features = MySQLFeatures("5.5.5-10.11.19-MariaDB-0+deb12u1")
    assert mariadb_features.is_mariadb and mariadb_features.version == (10, 11, 19)
    assert mariadb_features.has_global_priv and mariadb_features.has_roles_mapping
    mysql8 = MySQLFeatures("8.0.36")
    assert mysql8.has_role_edges and mysql8.has_account_locked_column and mysql8.has_dynamic_privileges
    assert "account_locked" in sql.accounts_sql(mysql8)


# --- password policy ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("check", "plugin", "mariadb", "expected"),
    [
        ({"plugins": "", "strict_validation": True}, "mysql_native_password", True,
         PasswordPolicy(False, "no password validation plugin is active (simple_password_check, "
                               "cracklib_password_check)")),
        ({"plugins": "cracklib_password_check,simple_password_check", "strict_validation": True}, "ed25519", True,
         PasswordPolicy(True, "cracklib_password_check, simple_password_check active (strict_password_validation ON)")),
        ({"plugins": "simple_password_check", "strict_validation": False}, "mysql_native_password", True,
         PasswordPolicy(False, "simple_password_check active, but strict_password_validation is OFF: a password "
                               "given as a hash is not checked")),
        ({"plugins": "simple_password_check", "strict_validation": True}, "unix_socket", True,
         PasswordPolicy(None, "authenticates with unix_socket, not with a password the server stores")),
        (None, "mysql_native_password", True, PasswordPolicy(False, "this MariaDB (before 10.1.2) has no password "
                                                                    "validation")),
    ],
)  # fmt: skip
def test_password_policy(check, plugin, mariadb, expected):
    assert parse.password_policy(check, plugin, mariadb=mariadb) == expected

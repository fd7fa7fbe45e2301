"""``instances/adapters/matching/``: each rule of ``holds()`` decides a test (pure, no database).

The live oracle comparisons (``test_postgresql_holds_live.py``, ``test_mysql_holds_live.py``) check
the same function against what the engines themselves answer."""

from __future__ import annotations

import itertools

import pytest

from instances.adapters import matching
from instances.adapters.base import Privilege
from instances.adapters.matching import holds, privileges_from_facts
from instances.adapters.matching.mysql import (
    FIRST_MATCH,
    SAME_NAME_HOST,
    mariadb_database_rank,
    mariadb_row_rank,
    mysql_pattern_contains,
    mysql_pattern_matches,
)


def ask(privileges, privilege, level, target="", db_type="mysql", **options):
    return holds(privileges, privilege, level, target, db_type=db_type, **options)


# --- names ------------------------------------------------------------------------------
def test_names_are_compared_upper_case_and_all_counts_as_every_privilege():
    delete = Privilege("database", "delete", "app")
    assert ask([delete], "DELETE", "object", "app.t") == [delete]
    every = Privilege("database", "ALL PRIVILEGES", "app")
    assert ask([every], "update", "column", "app.t.c") == [every]
    assert ask([delete], "INSERT", "object", "app.t") == []


def test_postgresql_all_below_global_means_what_that_kind_of_object_has():
    owner_of_database = Privilege("database", "ALL", "app", implied_by="owner")
    assert ask([owner_of_database], "CREATE", "database", "app", "postgresql") == [owner_of_database]
    assert ask([owner_of_database], "DELETE", "database", "app", "postgresql") == []
    owner_of_schema = Privilege("schema", "ALL", "app.s", implied_by="owner")
    assert ask([owner_of_schema], "USAGE", "schema", "app.s", "postgresql") == [owner_of_schema]
    superuser = Privilege("global", "ALL", implied_by="superuser")
    assert ask([superuser], "DELETE", "object", "app.s.t", "postgresql") == [superuser]
    assert ask([Privilege("database", "TEMPORARY", "app")], "temp", "database", "app", "postgresql")
    # ALL asked is answered by ALL, whichever of its two names either side uses
    assert ask([owner_of_database], "ALL PRIVILEGES", "database", "app", "postgresql") == [owner_of_database]
    oracle_owner = Privilege("schema", "ALL", "HR", True, implied_by="owner")
    assert ask([oracle_owner], "ALL PRIVILEGES", "object", "HR.T", "oracle") == [oracle_owner]
    assert ask([oracle_owner], "CREATE ANY TABLE", "object", "HR.T", "oracle") == []


def test_sqlserver_control_is_every_permission_on_its_securable():
    control = Privilege("schema", "CONTROL", "sales.dbo")
    assert ask([control], "DELETE", "object", "sales.dbo.orders", "sqlserver") == [control]
    assert ask([control], "DELETE", "object", "sales.hr.staff", "sqlserver") == []
    server = Privilege("global", "CONTROL SERVER")
    assert ask([server], "SELECT", "column", "sales.dbo.orders.id", "sqlserver") == [server]
    assert ask([control], "DELETE", "object", "sales.dbo.orders", "mysql") == []  # only SQL Server's CONTROL


# --- scope --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("entry", "level", "target", "expected"),
    [
        (Privilege("global", "DELETE"), "object", "app.t", True),
        (Privilege("database", "DELETE", "app"), "object", "app.t", True),
        (Privilege("database", "DELETE", "app"), "object", "application.t", False),  # a prefix is not a parent
        (Privilege("object", "DELETE", "app.t"), "database", "app", False),  # narrower never covers wider
        (Privilege("column", "UPDATE", "app.t.c"), "object", "app.t", False),
        (Privilege("object", "UPDATE", "app.t"), "column", "app.t.c", True),
    ],
)  # fmt: skip
def test_mysql_passes_every_level_down(entry, level, target, expected):
    assert bool(ask([entry], entry.privilege, level, target)) is expected


@pytest.mark.parametrize(
    ("entry", "level", "target", "expected"),
    [
        (Privilege("database", "CREATE", "app"), "schema", "app.public", False),  # has_schema_privilege agrees
        (Privilege("schema", "USAGE", "app.s"), "object", "app.s.t", False),
        (Privilege("schema", "ALL", "app.s", implied_by="owner"), "object", "app.s.t", False),
        (Privilege("object", "SELECT", "app.s.t"), "column", "app.s.t.c", True),  # table → its columns only
        (Privilege("global", "SELECT", implied_by="pg_read_all_data"), "object", "app.s.t", True),
        # pg_read_all_data's USAGE is on schemas: not a sequence's USAGE (has_sequence_privilege agrees)
        (Privilege("global", "USAGE", implied_by="pg_read_all_data"), "schema", "app.s", True),
        (Privilege("global", "USAGE", implied_by="pg_read_all_data"), "object", "app.s.seq", False),
    ],
)  # fmt: skip
def test_postgresql_passes_only_table_to_column_down(entry, level, target, expected):
    assert bool(ask([entry], entry.privilege if entry.privilege != "ALL" else "USAGE", level, target,
                    "postgresql")) is expected  # fmt: skip


def test_a_functions_argument_list_is_part_of_its_name():
    assert matching.target_parts("app.public.f(integer, public.money)") == ("app", "public", "f(integer, public.money)")
    assert matching.target_parts("app.public.t.c") == ("app", "public", "t", "c")
    assert matching.target_parts("shop.t(1") == ("shop", "t(1")  # not an argument list: no closing parenthesis


def test_sqlserver_securables_outside_the_hierarchy_match_as_a_whole():
    endpoint = Privilege("object", "CONNECT", "ENDPOINT::TSQL Default TCP")
    assert ask([endpoint], "CONNECT", "object", "ENDPOINT::TSQL Default TCP", "sqlserver") == [endpoint]
    certificate = Privilege("object", "CONTROL", "sales.CERTIFICATE::5")
    assert ask([certificate], "CONTROL", "column", "sales.CERTIFICATE::5.x", "sqlserver") == []


def test_oracle_any_privileges_do_not_reach_sys_objects():
    """Oracle, "System Privileges": with O7_DICTIONARY_ACCESSIBILITY FALSE (the default) the ANY
    privileges do not give access to objects in the SYS schema."""
    any_table = Privilege("global", "DELETE", implied_by="any_privilege")
    assert ask([any_table], "DELETE", "object", "HR.EMPLOYEES", "oracle") == [any_table]
    assert ask([any_table], "DELETE", "object", "SYS.AUD$", "oracle") == []
    assert ask([Privilege("global", "DELETE")], "DELETE", "object", "SYS.AUD$", "oracle")  # elsewhere: global


# --- SET ROLE and DENY ----------------------------------------------------------------------
def test_set_role_only_entries_count_only_when_asked():
    later = Privilege("database", "DELETE", "app", via=("r",), via_set_role=True)
    assert ask([later], "DELETE", "object", "app.t") == []
    assert ask([later], "DELETE", "object", "app.t", include_set_role=True) == [later]


def test_a_deny_at_the_same_or_a_wider_scope_cancels_a_grant():
    """Microsoft Learn, "DENY (Transact-SQL)": DENY takes precedence over all permissions."""
    grant = Privilege("object", "SELECT", "sales.dbo.orders")
    for deny in (Privilege("object", "SELECT", "sales.dbo.orders", state="DENY"),
                 Privilege("schema", "SELECT", "sales.dbo", state="DENY"),
                 Privilege("database", "CONTROL", "sales", state="DENY"),
                 Privilege("global", "CONTROL SERVER", state="DENY")):  # fmt: skip
        assert ask([grant, deny], "SELECT", "object", "sales.dbo.orders", "sqlserver") == [], deny
    narrower = Privilege("object", "SELECT", "sales.dbo.other", state="DENY")
    assert ask([grant, narrower], "SELECT", "object", "sales.dbo.orders", "sqlserver") == [grant]
    wide = Privilege("database", "SELECT", "sales")
    assert ask([wide, narrower], "SELECT", "database", "sales", "sqlserver") == [wide]  # not asked about `other`
    assert ask([wide, narrower], "SELECT", "object", "sales.dbo.other", "sqlserver") == []


def test_a_table_deny_does_not_beat_a_column_grant():
    """Microsoft Learn, "DENY (Transact-SQL)": "A table-level DENY does not take precedence over a
    column-level GRANT. This inconsistency in the permissions hierarchy has been preserved for
    backward compatibility." A schema-level DENY does."""
    column = Privilege("column", "SELECT", "sales.dbo.orders.id")
    table_deny = Privilege("object", "SELECT", "sales.dbo.orders", state="DENY")
    assert ask([column, table_deny], "SELECT", "column", "sales.dbo.orders.id", "sqlserver") == [column]
    table = Privilege("object", "SELECT", "sales.dbo.orders")
    assert ask([table, table_deny], "SELECT", "column", "sales.dbo.orders.id", "sqlserver") == []
    schema_deny = Privilege("schema", "SELECT", "sales.dbo", state="DENY")
    assert ask([column, schema_deny], "SELECT", "column", "sales.dbo.orders.id", "sqlserver") == []


def test_sysadmin_dbo_and_superuser_bypass_deny_db_owner_does_not():
    """Microsoft Learn, "DENY (Transact-SQL)": "DENY does not apply to object owners or members of
    the sysadmin fixed server role"; "Permissions hierarchy": sysadmin members and the dbo user
    bypass the permission check. db_owner members are denied like anyone."""
    deny = Privilege("object", "DELETE", "sales.dbo.orders", state="DENY", via=("sales.public",))
    sysadmin = Privilege("global", "ALL", implied_by="sysadmin", via=("sysadmin",))
    dbo = Privilege("database", "ALL", "sales", implied_by="dbo")
    db_owner = Privilege("database", "ALL", "sales", implied_by="db_owner", via=("sales.db_owner",))
    asked = ("DELETE", "object", "sales.dbo.orders", "sqlserver")
    assert ask([sysadmin, deny], *asked) == [sysadmin]
    assert ask([dbo, deny], *asked) == [dbo]
    assert ask([db_owner, deny], *asked) == []
    assert ask([db_owner, dbo, deny], *asked) == [dbo]


def test_mariadb_database_rows_are_ranked_as_the_server_matches_them():
    # no wildcard, then ``_`` (the shorter literal prefix first), then ``%`` (more literal text first)
    order = ["a\\_bc", "a\\_b_", "a\\_%c", "a\\_%", "a%", "%"]
    assert sorted(order, key=mariadb_database_rank) == order
    assert mariadb_database_rank("abc") == mariadb_database_rank("a\\_bc") == 0
    assert mariadb_database_rank("a_bc") < mariadb_database_rank("ab_c")  # live: MariaDB 10.11


def test_a_first_match_deny_cancels_only_a_wider_database_row_of_its_holder():
    deny = Privilege("database", "DELETE", "a\\_b", state="DENY", via=("r",), implied_by=FIRST_MATCH)
    wider, own = Privilege("database", "DELETE", "a%", via=("r", "s")), Privilege("database", "DELETE", "a%")
    narrower = Privilege("database", "DELETE", "a\\_b", via=("r",))
    table = Privilege("object", "DELETE", "a_b.t", via=("r",))
    assert holds([deny, wider], "DELETE", "object", "a_b.t", db_type="mysql") == []
    assert holds([deny, wider], "DELETE", "object", "a_c.t", db_type="mysql") == [wider]  # not where it applies
    for kept in (own, narrower, table):  # another holder, the row itself, a table grant
        assert holds([deny, kept], "DELETE", "object", "a_b.t", db_type="mysql") == [kept]


def test_a_first_match_deny_ranks_rows_by_host_then_database_the_accounts_own_first():
    """Rule 6: a covering host's rows (``implied_by`` SAME_NAME_HOST + host) are the account's holder,
    ranked after its own rows whatever their database patterns, the more specific host first."""
    wide, mid = f"{SAME_NAME_HOST}%", f"{SAME_NAME_HOST}127.%"
    own_deny = Privilege("database", "INSERT", "a%", state="DENY", implied_by=FIRST_MATCH)
    covering_exact = Privilege("database", "INSERT", "a\\_b", implied_by=wide)
    assert ask([own_deny, covering_exact], "INSERT", "object", "a_b.t") == []  # own pattern before covering exact
    mid_deny = Privilege("database", "SELECT", "d", state="DENY", implied_by=f"{FIRST_MATCH}, {mid}")
    wide_row, own_row = Privilege("database", "SELECT", "d", implied_by=wide), Privilege("database", "SELECT", "d")
    assert ask([mid_deny, wide_row], "SELECT", "object", "d.t") == []
    assert ask([mid_deny, own_row], "SELECT", "object", "d.t") == [own_row]  # the account's own row comes first
    role_row = Privilege("database", "SELECT", "d", via=("r",))
    assert ask([mid_deny, role_row], "SELECT", "object", "d.t") == [role_row]  # another holder
    assert mariadb_row_rank(own_row) < mariadb_row_rank(Privilege("database", "SELECT", "d", implied_by=mid)) < (
        mariadb_row_rank(wide_row))  # fmt: skip


def test_entries_read_back_from_stored_facts():
    stored = [{"privilege": "ALL", "level": "global", "target": "", "grantable": True, "state": "GRANT", "via": [],
               "via_set_role": False, "implied_by": "superuser"},
              {"privilege": "SELECT", "level": "object", "target": "app.t", "grantable": False, "state": "GRANT",
               "via": ["r"], "via_set_role": True}, None, {"level": "global"}]  # fmt: skip
    assert privileges_from_facts(stored) == [
        Privilege("global", "ALL", "", True, implied_by="superuser"),
        Privilege("object", "SELECT", "app.t", via=("r",), via_set_role=True),
    ]


def test_mysql_pattern_contains_is_sound_against_brute_force():
    """True only when every name the specific pattern matches, the general one matches (all patterns
    of up to 3 characters over a, b, ``_``, ``%`` and a backslash, names of up to 4)."""
    alphabet = "ab_%\\"
    patterns = ["", *("".join(p) for n in range(1, 4) for p in itertools.product(alphabet, repeat=n))]
    names = ["", *("".join(p) for n in range(1, 5) for p in itertools.product(alphabet, repeat=n))]
    matched = {p: [n for n in names if mysql_pattern_matches(p, n)] for p in patterns}
    for general in patterns:
        for specific in patterns:
            if mysql_pattern_contains(general, specific):
                assert all(mysql_pattern_matches(general, n) for n in matched[specific]), (general, specific)
    assert mysql_pattern_contains("app%", "app\\_1") and mysql_pattern_contains("a_", "ab")
    assert not mysql_pattern_contains("app\\_%", "app%") and not mysql_pattern_contains("ab", "a_")

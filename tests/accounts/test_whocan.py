"""The who-can matching rules (accounts/whocan.py): pure, no database."""

from __future__ import annotations

import pytest

from accounts.whocan import (
    KNOWN_PRIVILEGES,
    OBJECT_PATTERN,
    Entry,
    account_answer,
    asked_object,
    covers,
    mysql_pattern_affixes,
    narrowing,
    object_parts,
)
from instances.adapters.base import Privilege
from instances.adapters.matching.mysql import mysql_pattern_matches


def ask(name: str, db_type: str):
    asked = asked_object(object_parts(name), db_type)
    assert asked is not None
    return asked


def holds(entries, privilege, name, db_type, **options):
    return account_answer(entries, privilege=privilege, asked=ask(name, db_type), **options)


@pytest.mark.parametrize("name", ["", ".", "a.", ".a", "a..b", "a.b.c.d.e", "a\x00b"])
def test_malformed_object_names_are_refused(name):
    with pytest.raises(ValueError):
        object_parts(name)


def test_object_pattern_and_parser_agree():
    import re

    for name in ["db", "db.t", "a.b.c.d", "a b.c-d", "", "a..b", "a.b.c.d.e", ".x",
                 # a PostgreSQL function's argument list keeps its dots
                 "a.b.f(x.y)", "a.b.c.f(x.y)", "a.b.c.d.f(x.y)", "a.(x)", ".(x)", "a(b.c", "(x)", "a..f(x)",
                 # so does a name after a kind
                 "PARAMETER::a.b", "app.LANGUAGE::x", "a.b.c.d::x.y.z", "a.b.c.d.e::x", ".x::y", "a:b.c::d.e.f.g",
                 "a.::x", "a.f(x::y)", "a::b.f(x)"]:
        try:
            object_parts(name)
            parsed = True
        except ValueError:
            parsed = False
        assert bool(re.fullmatch(OBJECT_PATTERN, name)) == parsed, name


@pytest.mark.parametrize(
    ("db_type", "name", "level"),
    [
        ("mysql", "app", "database"), ("mysql", "app.orders", "object"), ("mysql", "app.orders.total", "column"),
        ("postgresql", "app", "database"), ("postgresql", "app.public", "schema"),
        ("postgresql", "app.public.orders", "object"), ("postgresql", "app.public.orders.total", "column"),
        ("sqlserver", "app.dbo.orders", "object"), ("oracle", "SCOTT", "schema"), ("oracle", "SCOTT.EMP", "object"),
        ("oracle", "SCOTT.EMP.SAL", "column"),
    ],
)  # fmt: skip
def test_the_number_of_parts_names_a_level_per_engine(db_type, name, level):
    assert ask(name, db_type).level == level


def test_object_pattern_and_parser_agree_on_random_names():
    import random
    import re

    rng = random.Random(1)
    for _ in range(20_000):
        name = "".join(rng.choice("aAB .:()\x00") for _ in range(rng.randint(0, 12)))
        try:
            object_parts(name)
            parsed = True
        except ValueError:
            parsed = False
        assert bool(re.fullmatch(OBJECT_PATTERN, name)) == parsed, repr(name)


@pytest.mark.parametrize(
    ("db_type", "name", "parts", "level"),
    [
        ("postgresql", "TABLESPACE::fast", ("TABLESPACE::fast",), "object"),
        ("postgresql", "PARAMETER::auto_explain.log_min_duration", ("PARAMETER::auto_explain.log_min_duration",),
         "object"),
        ("postgresql", "app.LANGUAGE::plpgsql", ("app", "LANGUAGE::plpgsql"), "object"),
        ("postgresql", "app.FOREIGN SERVER::remote.host", ("app", "FOREIGN SERVER::remote.host"), "object"),
        ("sqlserver", "ENDPOINT::TSQL Default TCP", ("ENDPOINT::TSQL Default TCP",), "object"),
    ],
)  # fmt: skip
def test_a_kind_named_object_is_an_object_wherever_it_is(db_type, name, parts, level):
    """``KIND::name`` (matching.target_parts): not a database or schema of that name; the name after
    the kind keeps its dots."""
    asked = ask(name, db_type)
    assert (asked.parts, asked.level) == (parts, level)
    entry = Privilege("object", "USAGE", name)
    assert holds([entry], "USAGE", name, db_type)
    assert not holds([Privilege("schema", "USAGE", name)], "USAGE", name, db_type)
    # a global USAGE of pg_read_all_data is on schemas only
    assert not holds([Privilege("global", "USAGE", "", implied_by="pg_read_all_data")], "USAGE", name, "postgresql")
    assert asked_object(("a", "b", "c", "LANGUAGE::x"), "postgresql") is None  # below an object: nothing


@pytest.mark.parametrize(
    ("db_type", "name", "parts", "level"),
    [
        ("mysql", "a::b", ("a::b",), "database"), ("mysql", "a::b.t", ("a::b", "t"), "object"),
        ("postgresql", "app.x::y", ("app", "x::y"), "schema"),
        ("postgresql", "app.s.t.a::b", ("app", "s", "t", "a::b"), "column"),
        ("postgresql", "app.s.f(x::int)", ("app", "s", "f(x::int)"), "object"),
    ],
)  # fmt: skip
def test_a_name_holding_colons_that_is_not_a_kind_is_read_as_usual(db_type, name, parts, level):
    """Only upper-case words at the start of a part are a kind (``matching.KIND``)."""
    asked = ask(name, db_type)
    assert (asked.parts, asked.level) == (parts, level)
    assert covers(Entry("SELECT", "database", "a::b"), ask("a::b.t", "mysql"))


def test_too_many_parts_or_an_unknown_engine_name_nothing():
    assert asked_object(("a", "b", "c", "d"), "mysql") is None
    assert asked_object(("a", "b", "c", "d"), "oracle") is None
    assert asked_object(("a",), "fake") is None


def test_global_database_schema_object_column_coverage():
    table = ask("app.dbo.orders", "sqlserver")
    assert covers(Entry("DELETE", "global", ""), table)
    assert covers(Entry("DELETE", "database", "app"), table)
    assert covers(Entry("DELETE", "schema", "app.dbo"), table)
    assert covers(Entry("DELETE", "object", "app.dbo.orders"), table)
    assert not covers(Entry("DELETE", "object", "app.dbo.orders2"), table)
    assert not covers(Entry("DELETE", "database", "app2"), table)
    assert not covers(Entry("DELETE", "schema", "app.other"), table)
    # a column entry covers only its column; an object entry covers its columns
    assert not covers(Entry("UPDATE", "column", "app.dbo.orders.total"), table)
    assert covers(Entry("UPDATE", "column", "app.dbo.orders.total"), ask("app.dbo.orders.total", "sqlserver"))
    assert covers(Entry("UPDATE", "object", "app.dbo.orders"), ask("app.dbo.orders.total", "sqlserver"))
    assert covers(Entry("DELETE", "database", "app"), ask("app.orders.total", "mysql"))


def test_postgresql_privileges_reach_only_their_object_and_a_tables_columns():
    """has_schema_privilege / has_table_privilege: CREATE on a database is not CREATE on its
    schemas, USAGE on a schema is not USAGE… on its tables; a table's SELECT is its columns'."""
    table = ask("app.public.orders", "postgresql")
    assert covers(Entry("ALL", "global", "", implied_by="superuser"), table)
    assert not covers(Entry("CREATE", "database", "app"), ask("app.public", "postgresql"))
    assert covers(Entry("CREATE", "database", "app"), ask("app", "postgresql"))
    assert not covers(Entry("USAGE", "schema", "app.public"), table)
    assert covers(Entry("SELECT", "object", "app.public.orders"), table)
    assert covers(Entry("SELECT", "object", "app.public.orders"), ask("app.public.orders.total", "postgresql"))
    assert not covers(Entry("SELECT", "column", "app.public.orders.total"), table)


def test_an_entry_whose_level_does_not_fit_its_target_covers_nothing():
    # SQL Server's non-hierarchical securables are objects: their own entry covers them, a database's
    # CONTROL too (everything in it), not one on another securable
    assert covers(Entry("CONTROL", "object", "SERVER_PRINCIPAL::sa"), ask("SERVER_PRINCIPAL::sa", "sqlserver"))
    assert covers(Entry("SELECT", "object", "app.OBJECT_OR_COLUMN::5"), ask("app.OBJECT_OR_COLUMN::5", "sqlserver"))
    assert covers(Entry("CONTROL", "database", "app"), ask("app.OBJECT_OR_COLUMN::5", "sqlserver"))
    assert not covers(Entry("CONTROL", "object", "SERVER_PRINCIPAL::sa"), ask("SERVER_PRINCIPAL::sa.x", "sqlserver"))
    assert not covers(Entry("CONTROL", "database", "SERVER_PRINCIPAL"), ask("SERVER_PRINCIPAL::sa", "sqlserver"))
    # a MySQL table entry read as a PostgreSQL schema name is not a schema entry
    assert not covers(Entry("DELETE", "object", "app.orders"), ask("app.orders.x", "postgresql"))


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("app_1", "app_1", True), ("app_1", "appX1", True), ("app_1", "app_12", False),
        (r"app\_1", "app_1", True), (r"app\_1", "appX1", False), ("app%", "app", True), ("app%", "apple_db", True),
        ("app%", "ap", False), ("%", "anything", True), ("a%b_c", "aXXbYc", True), ("a%b_c", "aXXbc", False),
        ("App", "app", False), (r"a\%", "a%", True), (r"a\%", "ab", False), ("x\\", "x\\", True),
    ],
)  # fmt: skip
def test_mysql_database_patterns_are_like_patterns(pattern, name, matches):
    assert mysql_pattern_matches(pattern, name) is matches
    if matches:  # every name a pattern matches has its literal prefix and suffix (what the index looks up)
        prefix, suffix = mysql_pattern_affixes(pattern)
        assert name.startswith(prefix) and name.endswith(suffix)


@pytest.mark.parametrize(
    ("pattern", "affixes"),
    [
        ("app_03", ("app", "03")), ("app\\_0%", ("app_0", "")), ("a%b_c", ("a", "c")), ("plain", ("plain", "plain")),
        ("a\\\\%b", ("a\\", "b")), ("x\\", ("x", "x\\")), ("a_b\\", ("a", "b\\")),
    ],
)  # fmt: skip
def test_mysql_pattern_affixes(pattern, affixes):
    assert mysql_pattern_affixes(pattern) == affixes


def test_a_mysql_database_pattern_covers_matching_databases_only_on_mysql():
    entry = Entry("DELETE", "database", "app_%")
    assert covers(entry, ask("app_eu.orders", "mysql"))
    assert covers(entry, ask("appeu.orders", "mysql"))  # "_" is a wildcard in a database-level grant
    assert not covers(entry, ask("app.orders", "mysql"))
    escaped = Entry("DELETE", "database", r"app\_%")
    assert covers(escaped, ask("app_eu.orders", "mysql")) and not covers(escaped, ask("appeu.orders", "mysql"))
    assert not covers(entry, ask("app_eu.dbo.orders", "sqlserver"))  # no patterns on SQL Server
    assert covers(Entry("DELETE", "database", "app_eu"), ask("app_eu.dbo.orders", "sqlserver"))


def test_all_and_control_hold_every_privilege_but_other_privileges_do_not():
    assert holds([Entry("ALL", "database", "app")], "DELETE", "app.t", "mysql")
    assert holds([Entry("ALL PRIVILEGES", "global", "")], "DELETE", "app.t", "mysql")
    assert holds([Entry("CONTROL", "schema", "app.dbo")], "DELETE", "app.dbo.t", "sqlserver")
    assert holds([Entry("CONTROL SERVER", "global", "")], "SELECT", "app.dbo.t", "sqlserver")
    assert not holds([Entry("SELECT", "database", "app")], "DELETE", "app.t", "mysql")
    assert holds([Entry("delete", "database", "app")], "DELETE", "app.t", "mysql")  # entries compare upper case


def test_postgresql_default_privileges_are_not_privileges_on_existing_objects():
    default = Entry("DEFAULT SELECT ON TABLES FOR ROLE owner", "schema", "app.public")
    assert not holds([default], "SELECT", "app.public.t", "postgresql")
    assert not holds([default], None, "app.public.t", "postgresql")  # nor "any privilege"


def test_set_role_only_entries_count_only_when_asked():
    entry = Entry("DELETE", "database", "app", via=("r",), via_set_role=True)
    assert not holds([entry], "DELETE", "app.t", "mysql")
    assert holds([entry], "DELETE", "app.t", "mysql", include_set_role=True) == entry


def test_a_bare_database_is_asked_at_that_level_unless_contained_is_asked():
    table = Entry("DELETE", "object", "billing.public.invoices")
    column = Entry("UPDATE", "column", "billing.public.invoices.total")
    assert not holds([table], "DELETE", "billing", "postgresql")  # at the database's level: no
    assert holds([table], "DELETE", "billing", "postgresql", include_contained=True) == table
    assert holds([table], "DELETE", "billing.public", "postgresql", include_contained=True) == table
    assert not holds([column], "UPDATE", "billing.public.invoices", "postgresql")
    assert holds([column], "UPDATE", "billing.public.invoices", "postgresql", include_contained=True) == column
    assert not holds([table], "DELETE", "other", "postgresql", include_contained=True)


# --- SQL Server DENY ------------------------------------------------------------------------------
# Microsoft Learn, "GRANT Object Permissions (Transact-SQL)" and "Permissions hierarchy (Database
# Engine)": a DENY on a securable or on a containing scope overrides a GRANT; "a table-level DENY
# does not take precedence over a column-level GRANT"; members of sysadmin and the database owner
# (dbo) bypass permission checks, so DENY has no effect on them — db_owner members are checked.


def test_deny_on_the_object_or_a_containing_scope_cancels_a_grant():
    grant = Entry("SELECT", "database", "app")
    for deny_target, level in (("app.dbo.t", "object"), ("app.dbo", "schema"), ("app", "database")):
        deny = Entry("SELECT", level, deny_target, state="DENY")
        assert not holds([grant, deny], "SELECT", "app.dbo.t", "sqlserver"), deny
    # a DENY elsewhere, or of another permission, does not
    assert holds([grant, Entry("SELECT", "object", "app.dbo.u", state="DENY")], "SELECT", "app.dbo.t", "sqlserver")
    assert holds([grant, Entry("DELETE", "object", "app.dbo.t", state="DENY")], "SELECT", "app.dbo.t", "sqlserver")


def test_deny_of_control_cancels_every_permission():
    grant = Entry("SELECT", "object", "app.dbo.t")
    assert not holds([grant, Entry("CONTROL", "schema", "app.dbo", state="DENY")], "SELECT", "app.dbo.t", "sqlserver")


def test_a_column_grant_beats_a_table_deny_but_not_a_schema_deny():
    column_grant = Entry("SELECT", "column", "app.dbo.t.c")
    table_deny = Entry("SELECT", "object", "app.dbo.t", state="DENY")
    assert holds([column_grant, table_deny], "SELECT", "app.dbo.t.c", "sqlserver") == column_grant
    schema_deny = Entry("SELECT", "schema", "app.dbo", state="DENY")
    assert not holds([column_grant, schema_deny], "SELECT", "app.dbo.t.c", "sqlserver")
    # a table-level grant asked for a column is denied by the table-level DENY
    assert not holds([Entry("SELECT", "database", "app"), table_deny], "SELECT", "app.dbo.t.c", "sqlserver")


def test_sysadmin_and_dbo_bypass_deny_db_owner_does_not():
    deny = Entry("SELECT", "object", "app.dbo.t", state="DENY")
    sysadmin = Entry("ALL", "global", "", implied_by="sysadmin")
    dbo = Entry("ALL", "database", "app", implied_by="dbo")
    db_owner = Entry("CONTROL", "database", "app", via=("app.db_owner",))
    assert holds([sysadmin, deny], "SELECT", "app.dbo.t", "sqlserver") == sysadmin
    assert holds([dbo, deny], "SELECT", "app.dbo.t", "sqlserver") == dbo
    assert not holds([db_owner, deny], "SELECT", "app.dbo.t", "sqlserver")


def test_contained_grants_are_checked_against_denies_of_their_own_securable():
    table_grant = Entry("DELETE", "object", "app.dbo.t")
    assert holds([table_grant], "DELETE", "app", "sqlserver", include_contained=True) == table_grant
    table_deny = Entry("DELETE", "object", "app.dbo.t", state="DENY")
    assert not holds([table_grant, table_deny], "DELETE", "app", "sqlserver", include_contained=True)


def test_any_privilege_counts_a_grant_unless_that_privilege_is_denied():
    grant, deny_other = Entry("SELECT", "object", "app.dbo.t"), Entry("DELETE", "object", "app.dbo.t", state="DENY")
    assert holds([grant, deny_other], None, "app.dbo.t", "sqlserver") == grant
    assert not holds([grant, Entry("SELECT", "schema", "app.dbo", state="DENY")], None, "app.dbo.t", "sqlserver")


def test_any_privilege_means_any_privilege_the_search_knows():
    # PostgreSQL's default privileges are stored as entries but name no privilege one can ask for;
    # the index selects only known names, so the rule must not answer with them either
    default = Entry("DEFAULT SELECT ON TABLES FOR ROLE r", "database", "a")
    assert holds([default], None, "a", "sqlserver") is None
    assert holds([default], None, "a", "postgresql", include_contained=True) is None
    assert holds([default, Entry("CONNECT", "database", "a")], None, "a", "postgresql").privilege == "CONNECT"


# --- which entry is shown --------------------------------------------------------------------------


def test_the_broadest_direct_held_grant_is_the_answer():
    direct_db = Entry("DELETE", "database", "app")
    via_global = Entry("DELETE", "global", "", via=("dba",))
    direct_table = Entry("DELETE", "object", "app.t")
    set_role_global = Entry("ALL", "global", "", via=("x",), via_set_role=True)
    implied = Entry("ALL", "database", "app", implied_by="owner")
    entries = [direct_table, direct_db, implied, via_global, set_role_global]
    assert holds(entries, "DELETE", "app.t", "mysql", include_set_role=True) == via_global
    assert holds([direct_table, direct_db, implied], "DELETE", "app.t", "mysql") == direct_db


def test_adapter_privileges_are_decided_by_the_same_rules():
    privileges = [Privilege("database", "DELETE", "app", via=("rw",)), Privilege("object", "SELECT", "app.t")]
    assert holds(privileges, "DELETE", "app.t", "mysql") == privileges[0]


# --- what the indexed SQL selects -----------------------------------------------------------------


def test_narrowing_lists_the_containing_targets_the_prefixes_and_the_inside_range():
    wanted = narrowing(privilege="DELETE", parts=("app_1", "public", "t"), include_contained=True)
    assert set(wanted.names) == {"DELETE", "ALL", "ALL PRIVILEGES", "CONTROL", "CONTROL SERVER"}
    assert wanted.targets == ("", "app_1", "app_1.public", "app_1.public.t")
    assert wanted.prefixes == ("", "a", "ap", "app", "app_", "app_1")
    assert wanted.suffixes == ("app_1", "pp_1", "p_1", "_1", "1", "")
    assert (wanted.inside, wanted.inside_end) == ("app_1.public.t.", "app_1.public.t/")
    assert narrowing(privilege=None, parts=("a",)).names == KNOWN_PRIVILEGES
    assert narrowing(privilege="DELETE", parts=("a",)).inside == ""  # an empty range: nothing inside


def test_known_privileges_cover_every_engine_and_are_upper_case():
    assert {"SELECT", "DELETE", "TRUNCATE", "CONTROL", "TAKE OWNERSHIP", "ON COMMIT REFRESH", "DELETE HISTORY"} <= set(
        KNOWN_PRIVILEGES
    )
    assert all(p == p.upper() and p == " ".join(p.split()) for p in KNOWN_PRIVILEGES)
    assert "SUPER" not in KNOWN_PRIVILEGES and "CREATE SESSION" not in KNOWN_PRIVILEGES  # server-wide, not on objects

"""The rule DSL (classification/dsl.py): every rule of the grammar decides a test, errors carry
the JSON path, and properties (hypothesis) hold for any valid rule and any facts."""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.diff import permission_facts
from classification import dsl
from classification.dsl import Subject, compile_rule, validate
from instances.adapters import matching
from instances.adapters.matching import privileges_from_facts
from instances.adapters.mysql import parse as mysql_parse
from tests.instances.adapters.test_mysql_parse import db, gp


def priv(name, level="database", target="app", *, grantable=False, state="GRANT", via=(), set_role=False,
         implied_by=None):  # fmt: skip
    entry = {"privilege": name, "level": level, "target": target, "grantable": grantable, "state": state,
             "via": list(via), "via_set_role": set_role}  # fmt: skip
    return entry | ({"implied_by": implied_by} if implied_by else {})


def subject(*privileges, roles=(), username="alice", db_type="mysql", environment="production", tags=(), **flags):
    facts = {"is_superuser": False, "can_grant": False, "is_locked": False, "can_login": True, **flags,
             "roles": list(roles), "privileges": list(privileges)}  # fmt: skip
    return Subject(username=username, facts=facts, db_type=db_type, environment=environment, tags=frozenset(tags))


def match(rule, account):
    return compile_rule(rule)(account)


# --- validation: every problem, with its path ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rule", "errors"),
    [
        ({"op": "or", "args": [{"fn": "is_superuser"}, {"fn": "x"}]}, ["args/1/fn: unknown function 'x'"]),
        ({"op": "xor", "args": []}, ["op: unknown operator 'xor' (and, or, not)"]),
        ({"op": "not", "args": [{"fn": "is_locked"}, {"fn": "can_login"}]},
         ["args: 'not' takes exactly one rule, got 2"]),
        ({"op": "and", "args": []}, ["args: 'and' needs at least one rule"]),
        ({"op": "and", "args": {"fn": "is_locked"}}, ["args: must be a list of rules"]),
        ({"op": "and"}, ["args: must be a list of rules"]),
        ({"op": "and", "args": [{"fn": "is_locked"}], "extra": 1},
         ["extra: unknown key 'extra' (an operator has op, args)"]),
        ({"fn": "is_superuser", "role": "x"}, ["role: unknown key 'role' for is_superuser (no other keys)"]),
        ({"fn": "has_role"}, ["role: required: a role name (non-empty string)"]),
        ({"fn": "has_role", "role": ""}, ["role: must be a role name (non-empty string), not ''"]),
        ({"fn": "has_role", "role": 7}, ["role: must be a role name (non-empty string), not 7"]),
        ({"fn": "has_privilege", "privilege": "DELETE", "level": "table"},
         ["level: must be one of global, database, schema, object, column, not 'table'"]),
        ({"fn": "has_privilege", "privilege": "DELETE", "grantable": "yes"},
         ["grantable: must be true or false, not 'yes'"]),
        ({"fn": "has_privilege", "privilege": "DELETE", "include_set_role": 1},
         ["include_set_role: must be true or false, not 1"]),
        ({"fn": "has_privilege", "privilege": "DELETE", "target": ""},
         ["target: must be a glob (non-empty string), not ''"]),
        ({"fn": "db_type_in", "values": []}, ["values: must be a non-empty list of database type names, not []"]),
        ({"fn": "environment_in", "values": ["prod", 3]},
         ["values: must be a non-empty list of environments, not ['prod', 3]"]),
        ({"fn": "instance_tag"}, ["tag: required: a tag name (non-empty string)"]),
        ({"fn": "username_matches", "pattern": None}, ["pattern: must be a glob (non-empty string), not None"]),
        ({"fn": "is_locked", "op": "not"}, ["rule: has both 'op' and 'fn'; a rule is one or the other"]),
        ({}, ["rule: needs 'op' (and, or, not) or 'fn'"]),
        ([{"fn": "is_locked"}], ['rule: must be an object: {"op": …, "args": […]} or {"fn": …}']),
        ({"op": "or", "args": [{"fn": ["x"]}]}, ["args/0/fn: unknown function ['x']"]),
        ({"fn": "has_privilege", "privilege": "DELETE", "level": {}},  # unhashable: an error, not a TypeError
         ["level: must be one of global, database, schema, object, column, not {}"]),
        ({"fn": "has_role", "role": "r\x00"}, ["role: must be a role name (non-empty string), not 'r\\x00'"]),
        ({"op": "and", "args": [{"fn": "x"}, {"fn": "has_role", "role": 1, "bogus": 2}]},
         ["args/0/fn: unknown function 'x'", "args/1/bogus: unknown key 'bogus' for has_role (role)",
          "args/1/role: must be a role name (non-empty string), not 1"]),
    ],
)  # fmt: skip
def test_invalid_rules_name_every_problem_with_its_path(rule, errors):
    assert [str(e) for e in validate(rule)] == errors
    with pytest.raises(dsl.RuleInvalid) as caught:
        compile_rule(rule)
    assert [str(e) for e in caught.value.errors] == errors


def test_depth_and_size_are_bounded():
    deep = {"fn": "is_locked"}
    for _ in range(dsl.MAX_DEPTH + 1):
        deep = {"op": "not", "args": [deep]}
    assert [e.message for e in validate(deep)] == ["rule nested too deeply (more than 32 levels)"]
    wide = {"op": "or", "args": [{"fn": "is_locked"}] * dsl.MAX_NODES}
    assert [e.message for e in validate(wide)] == ["rule too large (more than 500 nodes)"]


def test_every_function_of_the_grammar_compiles():
    assert set(dsl.FUNCTIONS) == set(dsl._FUNCTION_COMPILERS)


# --- evaluation: each function decides --------------------------------------------------------------------------------
@pytest.mark.parametrize("flag", ["is_superuser", "can_grant", "is_locked", "can_login"])
def test_flags(flag):
    assert match({"fn": flag}, subject(**{flag: True})) == (flag,)
    assert match({"fn": flag}, subject(**{flag: False})) is None
    assert match({"fn": flag}, Subject(username="x", facts={flag: "yes"})) is None  # only a real true counts


def test_has_role_reads_direct_and_inherited_roles():
    account = subject(roles=["app_rw", "reporting"])
    assert match({"fn": "has_role", "role": "reporting"}, account) == ("role reporting",)
    assert match({"fn": "has_role", "role": "Reporting"}, account) is None  # names are exact


def test_has_privilege_name_is_case_insensitive_and_all_counts_as_every_privilege():
    rule = {"fn": "has_privilege", "privilege": "delete"}
    assert match(rule, subject(priv("DELETE"))) == ("DELETE on app (database) (direct)",)
    assert match(rule, subject(priv("ALL PRIVILEGES"))) == ("ALL PRIVILEGES on app (database) (direct)",)
    assert match(rule, subject(priv("ALL", "global", ""))) == ("ALL on * (global) (direct)",)
    assert match(rule, subject(priv("INSERT"))) is None


def test_has_privilege_level_keeps_that_level_and_broader():
    rule = {"fn": "has_privilege", "privilege": "DELETE", "level": "database"}
    assert match(rule, subject(priv("DELETE", "global", "")))  # a global privilege satisfies any narrower level
    assert match(rule, subject(priv("DELETE", "database", "app")))
    assert match(rule, subject(priv("DELETE", "object", "app.orders"))) is None
    assert match({**rule, "level": "global"}, subject(priv("DELETE", "database", "app"))) is None


def test_has_privilege_target_glob_and_broader_privileges_cover_it():
    rule = {"fn": "has_privilege", "privilege": "DELETE", "target": "app.orders"}
    assert match(rule, subject(priv("DELETE", "object", "app.orders")))
    assert match(rule, subject(priv("DELETE", "database", "app")))  # the database covers its tables
    assert match(rule, subject(priv("DELETE", "global", "")))
    assert match(rule, subject(priv("DELETE", "object", "app.users"))) is None
    assert match(rule, subject(priv("DELETE", "database", "other"))) is None
    glob = {"fn": "has_privilege", "privilege": "DELETE", "target": "prod_*"}
    assert match(glob, subject(priv("DELETE", "database", "prod_eu")))
    assert match(glob, subject(priv("DELETE", "object", "prod_eu.orders")))  # * spans dots (fnmatch)
    assert match(glob, subject(priv("DELETE", "database", "test_eu"))) is None


def test_has_privilege_grantable():
    rule = {"fn": "has_privilege", "privilege": "SELECT", "grantable": True}
    assert match(rule, subject(priv("SELECT", grantable=True))) == (
        "SELECT on app (database) WITH GRANT OPTION (direct)",
    )
    assert match(rule, subject(priv("SELECT"))) is None
    assert match({**rule, "grantable": False}, subject(priv("SELECT")))  # false does not filter


def test_has_privilege_through_set_role_counts_only_when_asked():
    held = priv("DELETE", via=["reporting"], set_role=True)
    rule = {"fn": "has_privilege", "privilege": "DELETE"}
    assert match(rule, subject(held)) is None
    assert match({**rule, "include_set_role": True}, subject(held)) == (
        "DELETE on app (database) via reporting (SET ROLE)",
    )
    assert match(rule, subject(priv("DELETE", via=["reporting", "app_rw"]))) == (
        "DELETE on app (database) via reporting → app_rw",
    )


def test_has_privilege_deny_beats_grant_at_the_same_or_a_broader_scope():
    rule = {"fn": "has_privilege", "privilege": "DELETE"}
    granted = priv("DELETE", "object", "app.dbo.orders", via=["db_datawriter"])

    def sqlserver(*privileges):
        return subject(*privileges, db_type="sqlserver")

    assert match(rule, sqlserver(granted, priv("DELETE", "object", "app.dbo.orders", state="DENY"))) is None
    assert match(rule, sqlserver(granted, priv("DELETE", "database", "app", state="DENY"))) is None
    assert match(rule, sqlserver(granted, priv("DELETE", "object", "app.dbo.other", state="DENY")))  # elsewhere
    assert match(rule, sqlserver(priv("DELETE", state="DENY"))) is None  # a DENY alone grants nothing


def test_has_privilege_a_mysql_partial_revoke_narrows_only_its_holders_global_grant():
    rule = {"fn": "has_privilege", "privilege": "INSERT"}
    revoke = priv("INSERT", "database", "mysql", state="DENY")  # REVOKE INSERT ON mysql.* (partial_revokes ON)
    on_mysql = {**rule, "level": "database", "target": "mysql"}
    assert match(on_mysql, subject(priv("INSERT", "global", ""), revoke)) is None
    assert match({**rule, "level": "database", "target": "app"}, subject(priv("INSERT", "global", ""), revoke))
    assert match(on_mysql, subject(priv("INSERT", "database", "mysql"), revoke))  # a database grant is not narrowed
    assert match(on_mysql, subject(priv("INSERT", "global", "", via=["r"]), revoke))  # nor another holder's grant


def test_has_privilege_a_mariadb_first_match_deny_does_not_hide_the_whole_wider_pattern():
    """``app_%`` SELECT and ``app%`` SELECT, INSERT: the server allows INSERT on ``app`` (only ``app%``
    matches it), refuses it on ``app_1`` (``app_%`` matches first) — INSERT is held somewhere."""
    parsed = {a.username: a for a in mysql_parse.parse_accounts(
        [gp("alice")], [db("alice", "%", "app_%", "Select"), db("alice", "%", "app%", "Select", "Insert")],
        mariadb=True)}  # fmt: skip
    facts = permission_facts(parsed["alice"])
    assert any(p["state"] == "DENY" and p["target"] == "app_%" for p in facts["privileges"])
    alice = Subject(username="alice", facts=facts, db_type="mysql", environment="production", tags=frozenset())
    assert match({"fn": "has_privilege", "privilege": "INSERT"}, alice)
    assert match({"fn": "has_privilege", "privilege": "INSERT", "level": "database", "target": "app*"}, alice)


def _mariadb_subject(users, dbs, username="u", host="%"):
    parsed = mysql_parse.parse_accounts(users, dbs, mariadb=True)
    account = next(a for a in parsed if (a.username, a.host) == (username, host))
    return Subject(username=username, facts=permission_facts(account), db_type="mysql", environment="production",
                   tags=frozenset())  # fmt: skip


def test_has_privilege_a_row_entirely_hidden_by_a_first_match_is_not_held():
    """'u'@'127.0.0.1' with ``a%`` SELECT, 'u'@'%' with ``a\\_b`` INSERT: the own row matches ``a_b``
    first, so INSERT is refused there — the only place the covering row could give it (live: 1142)."""
    users = [gp("u", "127.0.0.1"), gp("u", "%")]
    dbs = [db("u", "127.0.0.1", "a%", "Select"), db("u", "%", "a\\_b", "Insert")]
    assert match({"fn": "has_privilege", "privilege": "INSERT"}, _mariadb_subject(users, dbs, host="127.0.0.1")) is None


def test_has_privilege_asked_about_one_database_follows_the_row_that_matches_it_first():
    """``app\\_1`` SELECT and ``app_1`` INSERT: on the database ``app_1`` the literal row comes first."""
    subject = _mariadb_subject([gp("u")], [db("u", "%", "app\\_1", "Select"), db("u", "%", "app_1", "Insert")])
    on_app_1 = {"fn": "has_privilege", "privilege": "INSERT", "level": "database", "target": "app_1"}
    assert match(on_app_1, subject) is None
    assert match({"fn": "has_privilege", "privilege": "INSERT"}, subject)  # on app21, say


def test_has_privilege_counts_implied_privileges_and_names_them():
    rule = {"fn": "has_privilege", "privilege": "DELETE"}
    superuser = subject(priv("ALL", "global", "", implied_by="superuser"), db_type="postgresql")
    assert match(rule, superuser) == ("ALL on * (global) (direct) (implied by superuser)",)
    owner = subject(priv("ALL", "object", "app.public.t", via=["app_owner"], implied_by="owner"), db_type="postgresql")
    assert match(rule, owner) == ("ALL on app.public.t (object) via app_owner (implied by owner)",)
    any_table = subject(priv("DELETE", "global", "", implied_by="any_privilege"), db_type="oracle")
    assert match(rule, any_table) == ("DELETE on * (global) (direct) (implied by any_privilege)",)


def test_postgresql_all_on_a_database_or_schema_is_what_that_object_has():
    """A PostgreSQL database owner may CREATE in it, not DELETE from the tables of others."""
    owner = subject(priv("ALL", "database", "app", implied_by="owner"), db_type="postgresql")
    assert match({"fn": "has_privilege", "privilege": "DELETE"}, owner) is None
    assert match({"fn": "has_privilege", "privilege": "CREATE"}, owner)
    # and a database privilege does not reach into its schemas there (it does on MySQL)
    create = priv("CREATE", "database", "app")
    rule = {"fn": "has_privilege", "privilege": "CREATE", "target": "app.public"}
    assert match(rule, subject(create, db_type="postgresql")) is None
    assert match(rule, subject(create, db_type="mysql"))


def test_postgresql_read_all_datas_usage_is_on_schemas_not_on_sequences():
    reader = subject(priv("USAGE", "global", "", implied_by="pg_read_all_data"), db_type="postgresql")
    assert match({"fn": "has_privilege", "privilege": "USAGE", "target": "app.s*"}, reader)
    assert match({"fn": "has_privilege", "privilege": "USAGE", "target": "app.public.seq"}, reader) is None
    assert match({"fn": "has_privilege", "privilege": "USAGE", "target": "app"}, reader) is None  # a database
    # two parts, but a language of the database, not a schema
    assert match({"fn": "has_privilege", "privilege": "USAGE", "target": "app.LANGUAGE::*"}, reader) is None
    # a foreign server's USAGE is on the server only, not on what a 3-part glob names
    server = subject(priv("USAGE", "object", "app.FOREIGN SERVER::s", implied_by="owner"), db_type="postgresql")
    assert match({"fn": "has_privilege", "privilege": "USAGE", "target": "app.FOREIGN SERVER::*"}, server)
    assert match({"fn": "has_privilege", "privilege": "USAGE", "target": "app.*.*"}, server) is None
    # elsewhere a global privilege covers every target
    usage = subject(priv("USAGE", "global", ""), db_type="sqlserver")
    assert match({"fn": "has_privilege", "privilege": "USAGE", "target": "app.dbo.seq"}, usage)


def test_an_oracle_owners_all_on_its_schema_is_object_privileges_only():
    owner = subject(priv("ALL", "schema", "HR", grantable=True, implied_by="owner"), db_type="oracle")
    assert match({"fn": "has_privilege", "privilege": "DELETE"}, owner)
    assert match({"fn": "has_privilege", "privilege": "DELETE", "target": "HR.*"}, owner)
    assert match({"fn": "has_privilege", "privilege": "DELETE", "target": "APP.*"}, owner) is None
    assert match({"fn": "has_privilege", "privilege": "CREATE ANY TABLE"}, owner) is None  # a system privilege
    # a global ALL is every privilege
    assert match({"fn": "has_privilege", "privilege": "CREATE ANY TABLE"},
                 subject(priv("ALL", "global", ""), db_type="oracle"))  # fmt: skip


def test_sqlserver_control_deny_and_bypass():
    rule = {"fn": "has_privilege", "privilege": "DELETE"}
    control = priv("CONTROL", "schema", "sales.dbo")
    assert match(rule, subject(control, db_type="sqlserver")) == ("CONTROL on sales.dbo (schema) (direct)",)
    db_owner = priv("ALL", "database", "sales", via=["sales.db_owner"], implied_by="db_owner")
    deny = priv("DELETE", "database", "sales", state="DENY", via=["sales.public"])
    assert match(rule, subject(db_owner, deny, db_type="sqlserver")) is None  # DENY applies to db_owner
    sysadmin = priv("ALL", "global", "", via=["sysadmin"], implied_by="sysadmin")
    deny_all = priv("CONTROL SERVER", "global", "", state="DENY")
    assert match(rule, subject(sysadmin, deny, deny_all, db_type="sqlserver"))  # but not to sysadmin
    dbo = priv("ALL", "database", "sales", implied_by="dbo")
    assert match(rule, subject(dbo, deny, db_type="sqlserver"))


def test_password_policy_matches_only_the_value_the_engine_reported():
    off = subject(password_policy={"enforced": False, "reason": "CHECK_POLICY OFF"})
    on = subject(password_policy={"enforced": True, "reason": "CHECK_POLICY ON"})
    unknown = subject(password_policy={"enforced": None, "reason": "Windows login"})
    not_enforced, enforced = {"fn": "password_policy", "enforced": False}, {"fn": "password_policy", "enforced": True}
    assert match(not_enforced, off) == ("password policy not enforced: CHECK_POLICY OFF",)
    assert match(enforced, on) == ("password policy enforced: CHECK_POLICY ON",)
    assert match(not_enforced, on) is None and match(enforced, off) is None
    for account in (unknown, subject(), subject(password_policy="off"), subject(password_policy={"enforced": 0})):
        assert match(not_enforced, account) is None and match(enforced, account) is None  # null never matches
    assert [str(e) for e in validate({"fn": "password_policy"})] == ["enforced: required: true or false"]
    assert [str(e) for e in validate({"fn": "password_policy", "enforced": "no"})] == [
        "enforced: must be true or false, not 'no'"]  # fmt: skip


def test_the_default_rules_are_valid():
    from classification.defaults import CLASSIFICATIONS

    for code, (*_, rules) in CLASSIFICATIONS.items():
        for db_type, rule in rules.items():
            assert validate(rule) == [], (code, db_type)
    rule = CLASSIFICATIONS["no_password_policy"][-1]["sqlserver"]
    assert match(rule, subject(password_policy={"enforced": False, "reason": "CHECK_POLICY OFF"}))
    assert match(rule, subject(password_policy={"enforced": False, "reason": "x"}, can_login=False)) is None


@pytest.mark.parametrize(
    ("rule", "account", "why"),
    [
        ({"fn": "db_type_in", "values": ["mysql", "oracle"]}, subject(db_type="mysql"), ("db type mysql",)),
        ({"fn": "db_type_in", "values": ["oracle"]}, subject(db_type="mysql"), None),
        ({"fn": "environment_in", "values": ["production"]}, subject(), ("environment production",)),
        ({"fn": "environment_in", "values": ["staging"]}, subject(), None),
        ({"fn": "instance_tag", "tag": "prod"}, subject(tags=["prod", "eu"]), ("instance tag prod",)),
        ({"fn": "instance_tag", "tag": "prod"}, subject(tags=["eu"]), None),
        ({"fn": "username_matches", "pattern": "app_*"}, subject(username="app_orders"),
         ("username app_orders matches app_*",)),
        ({"fn": "username_matches", "pattern": "app_*"}, subject(username="bob"), None),
    ],
)  # fmt: skip
def test_instance_and_name_functions(rule, account, why):
    assert match(rule, account) == why


def test_operators_and_their_reasons():
    account = subject(priv("DELETE"), is_superuser=True)
    both = {"op": "and", "args": [{"fn": "is_superuser"}, {"fn": "has_privilege", "privilege": "DELETE"}]}
    assert match(both, account) == ("is_superuser", "DELETE on app (database) (direct)")
    either = {"op": "or", "args": [{"fn": "is_locked"}, {"fn": "is_superuser"}]}
    assert match(either, account) == ("is_superuser",)
    assert match({"op": "not", "args": [{"fn": "is_locked"}]}, account) == ("not is_locked()",)
    assert match({"op": "not", "args": [{"fn": "is_superuser"}]}, account) is None


def test_evaluation_never_raises_on_odd_facts():
    rule = {"op": "or", "args": [{"fn": "has_privilege", "privilege": "X", "target": "a.b", "level": "schema"},
                                 {"fn": "has_role", "role": "r"}, {"fn": "can_login"}]}  # fmt: skip
    for facts in ({}, {"roles": "r", "privileges": "DELETE"}, {"privileges": [None, 1, {"privilege": 3}, {}]},
                  {"privileges": [{"privilege": "X", "level": "bogus", "target": None, "via": "r"}]}):  # fmt: skip
        compile_rule(rule)(Subject(username="u", facts=facts))


# --- properties over generated rules and facts ------------------------------------------------------------------------
NAMES = st.sampled_from(["DELETE", "INSERT", "SELECT", "ALL", "CREATE", "CONTROL"])
TARGETS = st.sampled_from(["app", "app.orders", "prod_eu", "prod_*", "*", "a.b.c"])

LEAVES = st.one_of(
    st.sampled_from([{"fn": f} for f in ("is_superuser", "can_grant", "is_locked", "can_login")]),
    st.builds(lambda r: {"fn": "has_role", "role": r}, st.sampled_from(["r1", "r2"])),
    st.builds(
        lambda name, level, target, grantable, set_role: {
            "fn": "has_privilege", "privilege": name,
            **({"level": level} if level else {}), **({"target": target} if target else {}),
            **({"grantable": grantable} if grantable is not None else {}),
            **({"include_set_role": set_role} if set_role is not None else {}),
        },
        NAMES, st.sampled_from([None, *dsl.LEVELS]), st.one_of(st.none(), TARGETS),
        st.one_of(st.none(), st.booleans()), st.one_of(st.none(), st.booleans()),
    ),
    st.builds(lambda v: {"fn": "db_type_in", "values": v}, st.lists(st.sampled_from(["mysql", "oracle"]), min_size=1)),
    st.builds(lambda v: {"fn": "environment_in", "values": v}, st.lists(st.sampled_from(["production", "testing"]),
                                                                        min_size=1)),
    st.builds(lambda t: {"fn": "instance_tag", "tag": t}, st.sampled_from(["prod", "eu"])),
    st.builds(lambda p: {"fn": "username_matches", "pattern": p}, st.sampled_from(["app_*", "*", "bob"])),
    st.builds(lambda e: {"fn": "password_policy", "enforced": e}, st.booleans()),
)  # fmt: skip
RULES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda a: {"op": "not", "args": [a]}, inner),
        st.builds(lambda op, args: {"op": op, "args": args}, st.sampled_from(["and", "or"]),
                  st.lists(inner, min_size=1, max_size=3)),
    ),
    max_leaves=12,
)  # fmt: skip
PRIVILEGES = st.builds(
    lambda name, level, target, grantable, deny, via, set_role, implied_by: priv(
        name, level, "" if level == "global" else target, grantable=grantable, state="DENY" if deny else "GRANT",
        via=via, set_role=set_role, implied_by=implied_by,
    ),
    NAMES, st.sampled_from(dsl.LEVELS), st.sampled_from(["app", "app.orders", "prod_eu", "prod_eu.t", "a.b.c"]),
    st.booleans(), st.booleans(), st.lists(st.sampled_from(["r1", "r2"]), max_size=2), st.booleans(),
    st.sampled_from([None, None, "owner", "sysadmin", "db_owner", "any_privilege"]),
)  # fmt: skip
SUBJECTS = st.builds(
    lambda privileges, roles, flags, username, db_type, environment, tags: subject(
        *privileges, roles=roles, username=username, db_type=db_type, environment=environment, tags=tags,
        **dict(zip(("is_superuser", "can_grant", "is_locked", "can_login"), flags, strict=True)),
    ),
    st.lists(PRIVILEGES, max_size=6), st.lists(st.sampled_from(["r1", "r2", "r3"]), max_size=3),
    st.tuples(*[st.booleans()] * 4), st.sampled_from(["app_x", "bob", "PUBLIC"]),
    st.sampled_from(["mysql", "oracle", "postgresql", "sqlserver"]),
    st.sampled_from(["production", "testing"]), st.lists(st.sampled_from(["prod", "eu"]), max_size=2),
)  # fmt: skip
PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def holds(rule, account) -> bool:
    return compile_rule(rule)(account) is not None


@PROPERTIES
@given(RULES, SUBJECTS)
def test_every_generated_rule_is_valid_and_evaluates(rule, account):
    assert validate(rule) == []
    result = compile_rule(rule)(account)
    assert result is None or (isinstance(result, tuple) and all(isinstance(r, str) for r in result))


@PROPERTIES
@given(RULES, SUBJECTS)
def test_double_negation(rule, account):
    assert holds({"op": "not", "args": [{"op": "not", "args": [rule]}]}, account) == holds(rule, account)


@PROPERTIES
@given(RULES, RULES, SUBJECTS)
def test_de_morgan(a, b, account):
    not_and = {"op": "not", "args": [{"op": "and", "args": [a, b]}]}
    or_nots = {"op": "or", "args": [{"op": "not", "args": [a]}, {"op": "not", "args": [b]}]}
    assert holds(not_and, account) == holds(or_nots, account)
    not_or = {"op": "not", "args": [{"op": "or", "args": [a, b]}]}
    and_nots = {"op": "and", "args": [{"op": "not", "args": [a]}, {"op": "not", "args": [b]}]}
    assert holds(not_or, account) == holds(and_nots, account)


@PROPERTIES
@given(RULES, RULES, SUBJECTS)
def test_and_or_commute(a, b, account):
    for op in ("and", "or"):
        assert holds({"op": op, "args": [a, b]}, account) == holds({"op": op, "args": [b, a]}, account)


@PROPERTIES
@given(SUBJECTS, NAMES, st.sampled_from(dsl.LEVELS), st.sampled_from(["app", "app.orders", "prod_eu.t", "a.b.c"]),
       st.booleans())  # fmt: skip
def test_has_privilege_never_misses_what_holds_grants(account, name, level, target, include_set_role):
    """``matching.holds`` on a concrete object ⇒ ``has_privilege`` with that object as its target
    (has_privilege asks "somewhere in the glob": a DENY on a narrower object does not cancel it)."""
    target = "" if level == "global" else target
    entries = privileges_from_facts(account.facts["privileges"])
    granted = matching.holds(entries, name, level, target, db_type=account.db_type, include_set_role=include_set_role)
    rule = {"fn": "has_privilege", "privilege": name, "include_set_role": include_set_role}
    if target:
        rule["target"] = target
    if granted:
        assert holds(rule, account.fresh())


@PROPERTIES
@given(RULES, st.integers(min_value=0, max_value=5))
def test_a_broken_leaf_is_reported_at_its_path(rule, index):
    """Wrapping any valid rule with a bad sibling: exactly that sibling's path is reported."""
    args = [rule] * index + [{"fn": "nope"}]
    assert [str(e) for e in validate({"op": "or", "args": args})] == [f"args/{index}/fn: unknown function 'nope'"]


# --- the published JSON Schema of the grammar (OpenAPI component RuleExpression) agrees with validate()

_SCHEMA_REF = "#/components/schemas/RuleExpression"
_SCHEMA_VALIDATOR = jsonschema.Draft7Validator(
    {"$ref": _SCHEMA_REF, "components": {"schemas": {"RuleExpression": dsl.json_schema(_SCHEMA_REF)}}}
)
_WORDS = st.sampled_from(["op", "args", "fn", "and", "or", "not", "role", "privilege", "level", "values", "tag",
                          "pattern", "target", "grantable", "is_locked", "has_role", "has_privilege", "db_type_in",
                          "database", " ", "", "x\x00"])  # fmt: skip
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 2), _WORDS),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_WORDS, inner, max_size=4)),
    max_leaves=10,
)


# valid leaves with keys added, dropped or replaced: the near misses a schema most easily gets wrong
_MUTATED = st.builds(
    lambda leaf, drop, extra: {**{k: v for k, v in leaf.items() if k not in drop}, **extra},
    LEAVES, st.sets(_WORDS, max_size=2), st.dictionaries(_WORDS, _JSON, max_size=2),
)  # fmt: skip
_NEAR_RULES = st.recursive(
    st.one_of(LEAVES, _MUTATED),
    lambda inner: st.builds(lambda op, args: {"op": op, "args": args}, st.sampled_from(["and", "or", "not", "xor"]),
                            st.lists(inner, max_size=3)),
    max_leaves=6,
)  # fmt: skip


@PROPERTIES
@given(st.one_of(RULES, _JSON, _NEAR_RULES))
def test_the_json_schema_accepts_exactly_the_valid_rules(value):
    assert _SCHEMA_VALIDATOR.is_valid(value) == (validate(value) == [])

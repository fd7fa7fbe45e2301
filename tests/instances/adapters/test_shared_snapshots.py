"""Logins with the same attributes and direct roles share one snapshot (``parsing.snapshot_interner``),
which the account sync encodes once (``accounts.encoding.snapshot_json``).

The property tests draw listings whose logins differ in every input a snapshot reads and check
that each login's shared snapshot is exactly the one built for it alone, down to its JSON text:
sharing never lends one login another's snapshot.
"""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.encoding import _canonical, account_state, snapshot_json
from instances.adapters.mysql import parse as mysql_parse
from instances.adapters.parsing import SharedSnapshot, snapshot_interner
from instances.adapters.postgresql import parse as pg_parse
from tests.instances.adapters.test_mysql_parse import gp, grant
from tests.instances.adapters.test_mysql_parse import role as mysql_role
from tests.instances.adapters.test_postgresql_parse import member, role

INSTANT = datetime(2027, 1, 1, 12, tzinfo=UTC)
# the same instant as INSTANT, printed in another zone: equal in Python, not in the snapshot's JSON
SAME_INSTANT_ELSEWHERE = INSTANT.astimezone(timezone(timedelta(hours=2)))
GROUPS = ("g1", "g2", "g3")


def test_the_interner_builds_once_per_key():
    intern, built = snapshot_interner(), []

    def build():
        built.append(1)
        return {"a": 1}

    first, second, other = intern(("k",), build), intern(("k",), build), intern(("k2",), build)
    assert first is second and first is not other and len(built) == 2
    assert isinstance(first, SharedSnapshot) and first == {"a": 1}


def test_a_shared_snapshot_is_encoded_once_with_the_canonical_text():
    shared = SharedSnapshot({"b": [1, {"y": 2, "x": 1}], "a": INSTANT})
    assert snapshot_json(shared) == _canonical(dict(shared)) == shared.encoded
    shared.encoded = "cached"  # the slot is what later calls return
    assert snapshot_json(shared) == "cached"
    assert snapshot_json({"b": 1}) == '{"b":1}'  # a plain dict: encoded each time


pg_login = st.fixed_dictionaries({
    "rolsuper": st.booleans(), "rolcreatedb": st.booleans(), "rolinherit": st.booleans(),
    "rolconnlimit": st.sampled_from([-1, 5]),
    "rolvaliduntil": st.sampled_from([None, INSTANT, SAME_INSTANT_ELSEWHERE]),
    "groups": st.lists(st.tuples(st.sampled_from(GROUPS), st.booleans(), st.booleans()), max_size=3,
                       unique_by=lambda g: g[0]),
})  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(pg_login, min_size=1, max_size=8))
def test_postgresql_shared_snapshots_equal_each_logins_own(logins):
    roles = [role(g, rolcanlogin=False) for g in GROUPS]
    memberships = []
    for i, spec in enumerate(logins):
        name = f"u{i}"
        roles.append(role(name, **{k: v for k, v in spec.items() if k != "groups"}))
        memberships += [member(name, g, admin=admin, inherit=inherit) for g, admin, inherit in spec["groups"]]
    parsed = {a.username: a for a in pg_parse.parse_accounts(roles, membership_rows=memberships)}
    graph = pg_parse.membership_graph(memberships, {r["oid"]: r for r in roles})
    for row in roles[len(GROUPS):]:
        own = pg_parse._snapshot(row, graph.direct(row["rolname"]))
        shared = parsed[row["rolname"]].snapshot
        assert shared == own
        assert snapshot_json(shared) == _canonical(own)


def test_postgresql_logins_alike_share_one_snapshot_and_others_do_not():
    roles = [role("g1", rolcanlogin=False), role("a"), role("b"), role("c", rolvaliduntil=INSTANT),
             role("d", rolvaliduntil=SAME_INSTANT_ELSEWHERE), role("e")]  # fmt: skip
    memberships = [member(name, "g1") for name in ("a", "b", "c", "d")]
    parsed = {a.username: a for a in pg_parse.parse_accounts(roles, membership_rows=memberships)}
    assert parsed["a"].snapshot is parsed["b"].snapshot
    assert parsed["c"].snapshot is not parsed["d"].snapshot  # equal instants, different text
    assert parsed["e"].snapshot is not parsed["a"].snapshot  # no direct role
    assert account_state(parsed["a"]).snapshot_json == _canonical(dict(parsed["b"].snapshot))


mysql_account = st.fixed_dictionaries({
    "plugin": st.sampled_from(["mysql_native_password", "unix_socket", None]),
    "account_locked": st.sampled_from([None, "Y", "N"]),
    "default_role": st.sampled_from([None, "g1"]),
    "access": st.sampled_from(["0", "1"]),
    "password_last_changed": st.sampled_from(["0", "1796118181"]),
    "groups": st.lists(st.tuples(st.sampled_from(GROUPS), st.booleans()), max_size=3, unique_by=lambda g: g[0]),
})  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(mysql_account, min_size=1, max_size=8))
def test_mariadb_shared_snapshots_equal_each_accounts_own(specs):
    users = [mysql_role(g) for g in GROUPS]
    mapping = []
    for i, spec in enumerate(specs):
        users.append(gp(f"u{i}", **{k: v for k, v in spec.items() if k != "groups"}))
        mapping += [grant(f"u{i}", g, admin=admin) for g, admin in spec["groups"]]
    role_grants = mysql_parse.mariadb_role_grants(mapping)
    parsed = {a.username: a for a in mysql_parse.parse_accounts(users, role_grants=role_grants, mariadb=True)}
    defaults = mysql_parse._default_roles(users, ())
    for row in users[len(GROUPS):]:
        key = (row["User"], row["Host"])
        direct = [g for g in role_grants if g.grantee == key]
        own = mysql_parse._snapshot(row, direct, defaults.get(key, set()), mariadb=True, activate_all=False)
        shared = parsed[row["User"]].snapshot
        assert shared == own
        assert snapshot_json(shared) == _canonical(own)


def test_mariadb_accounts_alike_share_one_snapshot_and_others_do_not():
    users = [mysql_role("g1"), gp("a"), gp("b", password_last_changed="1796118999"),
             gp("c", password_last_changed="0"), gp("d", plugin="unix_socket")]  # fmt: skip
    role_grants = mysql_parse.mariadb_role_grants([grant(name, "g1") for name in "abcd"])
    parsed = {a.username: a for a in mysql_parse.parse_accounts(users, role_grants=role_grants, mariadb=True)}
    assert parsed["a"].snapshot is parsed["b"].snapshot  # other change times, neither expired
    assert parsed["c"].snapshot is not parsed["a"].snapshot  # expired password
    assert parsed["d"].snapshot is not parsed["a"].snapshot  # another plugin


mysql8_account = st.fixed_dictionaries({
    "plugin": st.sampled_from(["caching_sha2_password", "auth_socket"]),
    "password_expired": st.sampled_from(["N", "Y"]),
    "account_locked": st.sampled_from(["N", "Y"]),
    "groups": st.lists(st.tuples(st.sampled_from(GROUPS), st.booleans(), st.booleans()), max_size=3,
                       unique_by=lambda g: g[0]),
})  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(mysql8_account, min_size=1, max_size=8), st.booleans())
def test_mysql8_shared_snapshots_equal_each_accounts_own(specs, activate_all):
    """MySQL 8: role edges, default roles (``SET DEFAULT ROLE``) and activate_all_roles_on_login."""
    users = [{"User": g, "Host": "%", "plugin": "caching_sha2_password", "password_expired": "Y",
              "account_locked": "Y"} for g in GROUPS]  # fmt: skip
    edges, default_rows = [], []
    for i, spec in enumerate(specs):
        users.append({"User": f"u{i}", "Host": "%", **{k: v for k, v in spec.items() if k != "groups"}})
        for group, admin, default in spec["groups"]:
            edges.append({"FROM_USER": group, "FROM_HOST": "%", "TO_USER": f"u{i}", "TO_HOST": "%",
                          "WITH_ADMIN_OPTION": "Y" if admin else "N"})  # fmt: skip
            if default:
                default_rows.append({"USER": f"u{i}", "HOST": "%", "DEFAULT_ROLE_USER": group,
                                     "DEFAULT_ROLE_HOST": "%"})  # fmt: skip
    role_grants = mysql_parse.mysql_role_grants(edges)
    parsed = {a.username: a for a in mysql_parse.parse_accounts(
        users, role_grants=role_grants, default_roles=default_rows, mariadb=False, version=(8, 0, 40),
        activate_all_roles=activate_all)}  # fmt: skip
    defaults = mysql_parse._default_roles(users, default_rows)
    for row in users[len(GROUPS):]:
        key = (row["User"], row["Host"])
        direct = [g for g in role_grants if g.grantee == key]
        own = mysql_parse._snapshot(row, direct, defaults.get(key, set()), mariadb=False, activate_all=activate_all)
        assert parsed[row["User"]].snapshot == own
        assert snapshot_json(parsed[row["User"]].snapshot) == _canonical(own)


def test_a_copy_of_a_shared_snapshot_starts_without_its_encoding():
    shared = SharedSnapshot({"a": 1})
    snapshot_json(shared)
    for copied in (copy.copy(shared), copy.deepcopy(shared), pickle.loads(pickle.dumps(shared))):
        assert copied == shared and copied.encoded is None
        copied["a"] = 2
        assert snapshot_json(copied) == '{"a":2}'

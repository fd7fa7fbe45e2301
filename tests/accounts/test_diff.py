"""accounts/diff.py: the engine-neutral facts and the change-log diff (pure, no database)."""

from __future__ import annotations

import json

from accounts.diff import diff_lines, diff_summary, facts_diff, facts_json, permission_facts
from instances.adapters.base import AccountFacts, PasswordPolicy, Privilege

DIRECT = Privilege("database", "SELECT", "app")
VIA = Privilege("database", "DELETE", "app", grantable=True, via=("reporting", "base"))
SET_ROLE = Privilege("object", "DROP", "app.t", via=("ops",), via_set_role=True)


def account(*privileges: Privilege, **kw) -> AccountFacts:
    return AccountFacts("alice", "%", privileges=privileges, **kw)


def test_facts_have_the_designed_shape():
    reasons = {"can_grant": ("DELETE on app.* WITH GRANT OPTION via reporting → base",)}
    roles = ("reporting", "base")
    facts = permission_facts(account(VIA, DIRECT, SET_ROLE, can_grant=True, roles=roles, reasons=reasons))
    assert facts == {
        "is_superuser": False, "can_grant": True, "is_locked": False, "can_login": True,
        "roles": ["base", "reporting"],
        "privileges": [
            {"privilege": "DELETE", "level": "database", "target": "app", "grantable": True, "state": "GRANT",
             "via": ["reporting", "base"], "via_set_role": False},
            {"privilege": "SELECT", "level": "database", "target": "app", "grantable": False, "state": "GRANT",
             "via": [], "via_set_role": False},
            {"privilege": "DROP", "level": "object", "target": "app.t", "grantable": False, "state": "GRANT",
             "via": ["ops"], "via_set_role": True},
        ],
        "reasons": {"can_grant": ["DELETE on app.* WITH GRANT OPTION via reporting → base"]},
    }  # fmt: skip


def test_equal_facts_are_equal_text_whatever_the_order_and_duplicates():
    one = facts_json(account(VIA, DIRECT, SET_ROLE, roles=("b", "a")))
    assert one == facts_json(account(SET_ROLE, DIRECT, VIA, DIRECT, roles=("a", "b", "a")))
    assert one != facts_json(account(VIA, DIRECT, roles=("a", "b")))
    text = facts_json(account(Privilege("object", "SELECT", 'we"ird\\näme'), roles=("ü",)))
    assert text.isascii() and json.loads(text)["privileges"][0]["target"] == 'we"ird\\näme'


def test_a_privilege_lost_through_a_role_shows_with_its_path():
    old = permission_facts(account(DIRECT, VIA, roles=("base", "reporting")))
    new = permission_facts(account(DIRECT))
    assert facts_diff(old, new) == {
        "roles": {"added": [], "removed": ["base", "reporting"]},
        "privileges": {"added": [], "removed": ["DELETE on app.* WITH GRANT OPTION via reporting → base"]},
    }
    assert facts_diff(new, new) == {}


def test_a_new_path_to_a_privilege_already_held_is_a_change():
    old = permission_facts(account(Privilege("database", "DELETE", "app", via=("x",))))
    new = permission_facts(account(Privilege("database", "DELETE", "app", via=("y",))))
    assert facts_diff(old, new)["privileges"] == {"added": ["DELETE on app.* via y"],
                                                  "removed": ["DELETE on app.* via x"]}  # fmt: skip


def test_facts_stored_before_paths_were_recorded_compare_as_direct_grants():
    legacy = {"privileges": [{"level": "database", "privilege": "SELECT", "target": "app", "grantable": False,
                              "state": "GRANT"}], "roles": []}  # fmt: skip
    assert facts_diff(legacy, permission_facts(account(DIRECT))) == {
        "is_superuser": {"old": None, "new": False}, "can_grant": {"old": None, "new": False},
        "is_locked": {"old": None, "new": False}, "can_login": {"old": None, "new": True},
    }  # fmt: skip


# --- diff_lines: the change as "+"/"-" lines for the account pages ---------------------------------------------------
def test_an_added_account_lists_what_it_holds_and_a_removed_one_what_it_held():
    facts = permission_facts(account(VIA, is_superuser=True, can_login=False, roles=("reporting",)))
    added = diff_lines({"facts": facts})
    assert added == [("+", "is superuser"), ("+", "cannot log in"), ("+", "role reporting"),
                     ("+", "DELETE on app.* WITH GRANT OPTION via reporting → base")]  # fmt: skip
    assert diff_lines({"last_facts": facts}) == [("-", text) for _sign, text in added]


def test_a_modification_shows_gains_and_losses_with_their_paths():
    old = permission_facts(account(DIRECT, VIA, is_locked=True, roles=("reporting",)))
    new = permission_facts(account(DIRECT, can_grant=True))
    assert diff_lines(facts_diff(old, new)) == [
        ("+", "can grant"), ("-", "is locked"), ("-", "role reporting"),
        ("-", "DELETE on app.* WITH GRANT OPTION via reporting → base"),
    ]  # fmt: skip
    assert diff_lines(facts_diff(new, old))[-1] == ("+", "DELETE on app.* WITH GRANT OPTION via reporting → base")


def test_a_snapshot_only_change_says_so():
    lines = diff_lines({"snapshot": {"changed": True}})
    assert lines == [("~", "engine-native detail changed (the privileges did not)")]


def test_diff_summary_is_one_line_with_the_first_changes():
    privileges = {"added": ["SELECT on a.*", "INSERT on a.*", "DELETE on a.*"], "removed": ["UPDATE on b.*"]}
    diff = {"is_superuser": {"old": False, "new": True}, "privileges": privileges}
    assert diff_summary(diff) == "+is superuser; \u2212UPDATE on b.*; +SELECT on a.* (and 2 more)"
    assert diff_summary({"facts": {"is_superuser": True, "roles": ["dba"]}}) == "+is superuser; +role dba"
    assert diff_summary({}) == "no visible change"


def test_password_policy_is_in_the_facts_when_reported_and_its_first_appearance_is_no_change():
    reported = account(password_policy=PasswordPolicy(None, "Windows login"))
    facts = permission_facts(reported)
    assert facts["password_policy"] == {"enforced": None, "reason": "Windows login"}
    assert "password_policy" not in permission_facts(account())
    assert facts_json(reported, omit=("password_policy",)) == facts_json(account())
    assert facts_diff(permission_facts(account()), facts) == {}  # the field appears: not a change
    off = permission_facts(account(password_policy=PasswordPolicy(False, "no plugin")))
    diff = facts_diff(off, permission_facts(account(password_policy=PasswordPolicy(True, "simple_password_check"))))
    assert diff == {"password_policy": {"old": {"enforced": False, "reason": "no plugin"},
                                        "new": {"enforced": True, "reason": "simple_password_check"}}}
    assert diff_lines(diff) == [
        ("~", "password policy: not enforced (no plugin) → enforced (simple_password_check)")]  # fmt: skip

"""Pure comparison of account permission states (no ORM, no drivers).

``permission_facts`` turns an adapter's ``AccountFacts`` into the
engine-neutral JSON stored in ``account_permissions.facts`` (what the
classification DSL reads); ``facts_diff`` gives the field-level diff written
to the change log.

The facts (DESIGN.md § accounts): ``is_superuser``, ``can_grant``,
``is_locked``, ``can_login``, ``password_policy`` (``{enforced: true|false|null,
reason}``, when the adapter reports one), ``roles`` (inherited included), ``privileges``
— the effective privileges, each ``{privilege, level, target, grantable,
state, via, via_set_role}`` (``via`` = [] for a direct grant) plus ``implied_by``
for what the engine allows without a grant (superuser, owner, …) — and
``reasons`` (``{flag: [why, …]}`` for each flag that is set).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from instances.adapters.base import AccountFacts, PasswordPolicy, Privilege
from instances.adapters.parsing import OrderedPrivileges, privilege_label, privilege_order

SCALAR_FIELDS = ("is_superuser", "can_grant", "is_locked", "can_login")


# one encoder for every value (json.dumps would build one per call); ASCII-only
# output, so the text goes through COPY and into jsonb unchanged
_encode = json.JSONEncoder(separators=(",", ":")).encode
# JSON text of each distinct privilege: accounts share most of theirs (interned
# by the parsers), so each is encoded once per process, not once per account
_PRIVILEGE_JSON: dict[Privilege, str] = {}
_PRIVILEGE_JSON_LIMIT = 200_000


def _privilege_json(p: Privilege) -> str:
    text = _PRIVILEGE_JSON.get(p)
    if text is None:
        if len(_PRIVILEGE_JSON) >= _PRIVILEGE_JSON_LIMIT:
            _PRIVILEGE_JSON.clear()
        entry = {"privilege": p.privilege, "level": p.level, "target": p.target, "grantable": p.grantable,
                 "state": p.state, "via": list(p.via), "via_set_role": p.via_set_role}  # fmt: skip
        if p.implied_by is not None:  # only when set: the stored facts of grants keep their text
            entry["implied_by"] = p.implied_by
        text = _PRIVILEGE_JSON[p] = _encode(entry)
    return text


_BOOL = {True: "true", False: "false"}


#: fields added to the facts after accounts were first stored: their first appearance is not a
#: change (``facts_diff`` skips a field the old facts lack; ``facts_json(…, omit=…)`` gives the
#: text the facts had before, so the sync can tell whether anything else changed)
ADDED_FIELDS = ("password_policy",)


def facts_privileges(account: AccountFacts) -> Sequence[Privilege]:
    """The account's privileges as its facts list them: distinct, in ``privilege_order``
    (the who-can index numbers them in this order too)."""
    privileges = account.privileges
    if len(privileges) > 1 and not isinstance(privileges, OrderedPrivileges):  # the parsers' are sorted already
        privileges = sorted(set(privileges), key=privilege_order)
    return privileges


def facts_json(account: AccountFacts, *, omit: tuple[str, ...] = ()) -> str:
    """The canonical JSON text of an account's facts: fixed key order, privileges
    distinct and in ``privilege_order``, roles sorted — equal facts, equal text.
    ``password_policy`` only when the adapter reports one; ``omit`` leaves out
    ``ADDED_FIELDS`` (the text before they existed)."""
    privileges = facts_privileges(account)
    reasons = {flag: list(items) for flag, items in sorted(account.reasons.items())} if account.reasons else None
    policy = account.password_policy
    policy_json = _policy_json(policy) if policy is not None and "password_policy" not in omit else ""
    return (
        f'{{"can_grant":{_BOOL[bool(account.can_grant)]},"can_login":{_BOOL[bool(account.can_login)]},'
        f'"is_locked":{_BOOL[bool(account.is_locked)]},"is_superuser":{_BOOL[bool(account.is_superuser)]},'
        f'{policy_json}"privileges":[{",".join(map(_privilege_json, privileges))}],'
        f'"reasons":{_encode(reasons) if reasons else "{}"},"roles":{_roles_json(tuple(account.roles))}}}'
    )


# many accounts share their roles and their password policy: each distinct one is encoded once
@functools.lru_cache(maxsize=4096)
def _roles_json(roles: tuple[str, ...]) -> str:
    return _encode(sorted(set(roles))) if roles else "[]"


@functools.lru_cache(maxsize=1024)
def _policy_json(policy: PasswordPolicy) -> str:
    return f'"password_policy":{_encode({"enforced": policy.enforced, "reason": policy.reason})},'


def permission_facts(account: AccountFacts) -> dict[str, Any]:
    """The facts as a dict (what ``facts_json`` encodes)."""
    return json.loads(facts_json(account))


def facts_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Field-level diff: ``{field: {"old", "new"}}`` for flags and
    ``{"roles"|"privileges": {"added": [...], "removed": [...]}}`` for lists;
    privileges are named with their path (``DELETE on app.* via reporting``), so
    one gained or lost through a role change shows with the role. Empty when
    nothing changed."""
    diff: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        if old.get(name) != new.get(name):
            diff[name] = {"old": old.get(name), "new": new.get(name)}
    # a field the old facts do not have yet appears without being a change (ADDED_FIELDS)
    if "password_policy" in old and old.get("password_policy") != new.get("password_policy"):
        diff["password_policy"] = {"old": old.get("password_policy"), "new": new.get("password_policy")}
    old_roles, new_roles = set(old.get("roles", [])), set(new.get("roles", []))
    if old_roles != new_roles:
        diff["roles"] = {"added": sorted(new_roles - old_roles), "removed": sorted(old_roles - new_roles)}
    old_privs = {privilege_label(p) for p in old.get("privileges", [])}
    new_privs = {privilege_label(p) for p in new.get("privileges", [])}
    if old_privs != new_privs:
        diff["privileges"] = {"added": sorted(new_privs - old_privs), "removed": sorted(old_privs - new_privs)}
    return diff


def diff_lines(diff: dict[str, Any]) -> list[tuple[str, str]]:
    """A change-log diff as signed lines for people: ``("+", "DELETE on app.* via reporting")``
    for what was gained, ``("-", …)`` for what was lost, ``("~", …)`` for a change with no
    direction. An added account lists what it holds; a removed one what it held; an instance's
    baseline what its first sync found."""
    if "baseline" in diff:
        return [("~", baseline_label(diff["baseline"]))]
    facts, sign = diff.get("facts"), "+"
    if facts is None and "last_facts" in diff:
        facts, sign = diff["last_facts"], "-"
    if facts is not None:
        flags = ("is_superuser", "can_grant", "is_locked")
        lines = [(sign, name.replace("_", " ")) for name in flags if facts.get(name)]
        if facts.get("can_login") is False:
            lines.append((sign, "cannot log in"))
        lines += [(sign, f"role {role}") for role in facts.get("roles", [])]
        return lines + [(sign, privilege_label(p)) for p in facts.get("privileges", [])]
    lines = [("+" if diff[name]["new"] else "-", name.replace("_", " ")) for name in SCALAR_FIELDS if name in diff]
    if "password_policy" in diff:
        lines.append(("~", "password policy: " + " → ".join(
            _policy_label(diff["password_policy"][side]) for side in ("old", "new"))))  # fmt: skip
    for key, prefix in (("roles", "role "), ("privileges", "")):
        part = diff.get(key) or {}
        lines += [("-", prefix + item) for item in part.get("removed", [])]
        lines += [("+", prefix + item) for item in part.get("added", [])]
    if diff.get("snapshot"):
        lines.append(("~", "engine-native detail changed (the privileges did not)"))
    return lines


def baseline_label(summary: dict[str, Any]) -> str:
    """A baseline row's summary for people: "baseline: 10,004 accounts (3 superusers, 5 can grant,
    2 locked)"."""
    counts = ", ".join(f"{summary.get(key, 0):,} {label}" for key, label in
                       (("superusers", "superusers"), ("can_grant", "can grant"), ("locked", "locked")))  # fmt: skip
    return f"baseline: {summary.get('account_count', 0):,} accounts ({counts})"


def diff_summary(diff: dict[str, Any], *, shown: int = 3) -> str:
    """A change-log diff on one line, for the change-log list: its first ``shown`` signed lines
    (``diff_lines``) and how many more ("+superuser; +role reporting; −SELECT on app.* (and 4
    more)"); "no visible change" when there are none."""
    lines = diff_lines(diff)
    if not lines:
        return "no visible change"
    signs = {"+": "+", "-": "\u2212", "~": ""}
    text = "; ".join(f"{signs[sign]}{item}" for sign, item in lines[:shown])
    more = len(lines) - shown
    return f"{text} (and {more} more)" if more > 0 else text


def _policy_label(policy: Any) -> str:
    """``enforced`` / ``not enforced`` / ``unknown`` with the engine's reason."""
    if not isinstance(policy, dict):
        return "not reported"
    state = {True: "enforced", False: "not enforced"}.get(policy.get("enforced"), "unknown")
    return f"{state} ({policy['reason']})" if policy.get("reason") else state

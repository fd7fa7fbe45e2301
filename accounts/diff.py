"""Pure comparison of account permission states (no ORM, no drivers).

``permission_facts`` turns an adapter's ``AccountFacts`` into the
engine-neutral JSON stored in ``account_permissions.facts`` (what the
classification DSL reads); ``facts_diff`` gives the field-level diff written
to the change log.

The facts (DESIGN.md § accounts): ``is_superuser``, ``can_grant``,
``is_locked``, ``can_login``, ``roles`` (inherited included), ``privileges``
— the effective privileges, each ``{privilege, level, target, grantable,
state, via, via_set_role}`` (``via`` = [] for a direct grant) plus ``implied_by``
for what the engine allows without a grant (superuser, owner, …) — and
``reasons`` (``{flag: [why, …]}`` for each flag that is set).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from instances.adapters.base import AccountFacts, Privilege
from instances.adapters.parsing import privilege_label, privilege_order

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


def facts_privileges(account: AccountFacts) -> Sequence[Privilege]:
    """The account's privileges as its facts list them: distinct, in ``privilege_order``
    (the who-can index numbers them in this order too)."""
    privileges = account.privileges
    if len(privileges) > 1:
        privileges = sorted(set(privileges), key=privilege_order)
    return privileges


def facts_json(account: AccountFacts) -> str:
    """The canonical JSON text of an account's facts: fixed key order, privileges
    distinct and in ``privilege_order``, roles sorted — equal facts, equal text."""
    privileges = facts_privileges(account)
    reasons = {flag: list(items) for flag, items in sorted(account.reasons.items())} if account.reasons else None
    roles = sorted(set(account.roles)) if account.roles else None
    return (
        f'{{"can_grant":{_BOOL[bool(account.can_grant)]},"can_login":{_BOOL[bool(account.can_login)]},'
        f'"is_locked":{_BOOL[bool(account.is_locked)]},"is_superuser":{_BOOL[bool(account.is_superuser)]},'
        f'"privileges":[{",".join(map(_privilege_json, privileges))}],'
        f'"reasons":{_encode(reasons) if reasons else "{}"},"roles":{_encode(roles) if roles else "[]"}}}'
    )


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
    direction. An added account lists what it holds; a removed one what it held."""
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
    for key, prefix in (("roles", "role "), ("privileges", "")):
        part = diff.get(key) or {}
        lines += [("-", prefix + item) for item in part.get("removed", [])]
        lines += [("+", prefix + item) for item in part.get("added", [])]
    if diff.get("snapshot"):
        lines.append(("~", "engine-native detail changed (the privileges did not)"))
    return lines

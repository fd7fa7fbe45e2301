"""Pure comparison of account permission states (no ORM, no drivers).

``permission_facts`` turns an adapter's ``AccountFacts`` into the
engine-neutral JSON stored in ``account_permissions.facts`` (what the
classification DSL reads); ``facts_diff`` gives the field-level diff written
to the change log.
"""

from __future__ import annotations

from typing import Any

from instances.adapters.base import AccountFacts

SCALAR_FIELDS = ("is_superuser", "can_grant", "is_locked", "can_login")


def _privilege_sort_key(p: dict) -> tuple:
    return (p["level"], p["target"], p["privilege"], p["state"], p["grantable"])


def permission_facts(account: AccountFacts) -> dict[str, Any]:
    """Canonical, order-independent JSON of an account's permissions."""
    unique = {(p.level, p.privilege, p.target, p.grantable, p.state) for p in account.privileges}
    privileges = [
        {"level": level, "privilege": priv, "target": target, "grantable": grantable, "state": state}
        for level, priv, target, grantable, state in unique
    ]
    return {
        "is_superuser": account.is_superuser,
        "can_grant": account.can_grant,
        "is_locked": account.is_locked,
        "can_login": account.can_login,
        "roles": sorted(set(account.roles)),
        "privileges": sorted(privileges, key=_privilege_sort_key),
    }


def _privilege_label(p: dict) -> str:
    label = f"{p['state']} {p['privilege']} ON {p['target'] or '*'} ({p['level']})"
    return label + (" WITH GRANT OPTION" if p["grantable"] else "")


def facts_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Field-level diff: ``{field: {"old", "new"}}`` for flags and
    ``{"roles"|"privileges": {"added": [...], "removed": [...]}}`` for lists.
    Empty when nothing changed."""
    diff: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        if old.get(name) != new.get(name):
            diff[name] = {"old": old.get(name), "new": new.get(name)}
    old_roles, new_roles = set(old.get("roles", [])), set(new.get("roles", []))
    if old_roles != new_roles:
        diff["roles"] = {"added": sorted(new_roles - old_roles), "removed": sorted(old_roles - new_roles)}
    old_privs = {_privilege_label(p) for p in old.get("privileges", [])}
    new_privs = {_privilege_label(p) for p in new.get("privileges", [])}
    if old_privs != new_privs:
        diff["privileges"] = {"added": sorted(new_privs - old_privs), "removed": sorted(old_privs - new_privs)}
    return diff

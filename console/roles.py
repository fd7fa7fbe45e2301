"""The three operator groups: viewer (read), operator (read + run actions), admin (edit)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

WHALEFALL_APPS = ("instances", "accounts", "capacity", "classification", "sync_sessions")


def groups_ensure() -> dict[str, int]:
    """Create/refresh the groups; returns permission counts per group.

    ``operator`` gets the view permissions plus every custom (non-CRUD)
    permission, which is how actions such as "run sync" are guarded.
    """
    perms = Permission.objects.filter(content_type__app_label__in=WHALEFALL_APPS)
    crud = ("add_", "change_", "delete_", "view_")
    view = [p for p in perms if p.codename.startswith("view_")]
    custom = [p for p in perms if not p.codename.startswith(crud)]
    wanted = {"viewer": view, "operator": view + custom, "admin": list(perms)}
    counts = {}
    for name, group_perms in wanted.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(group_perms)
        counts[name] = len(group_perms)
    return counts


def groups_after_migrate(*, app_config, using: str = "default", **kwargs) -> None:
    """post_migrate: keep the groups' permissions current on every deploy.
    Runs after Django has created each WhaleFall app's permissions (auth's
    handler is connected first); idempotent, three groups."""
    from django.db import connections

    if app_config.label not in WHALEFALL_APPS:
        return
    if "auth_group" not in connections[using].introspection.table_names():
        return  # auth migrated backwards
    groups_ensure()

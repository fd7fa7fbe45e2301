"""The three operator groups, the same in the admin and the API:

- ``viewer``: reads everything except credentials and the audit trail (django-q2's schedules and
  task results too);
- ``operator``: what a viewer reads, plus every custom permission — running actions on
  instances (test connection, sync, collect, refresh, aggregate, classify) and assigning
  classifications by hand;
- ``admin``: everything: configuration (instances, credentials, tags), rules and classifications,
  alert channels (only admins see them: webhook URLs may hold tokens; everyone reads the alerts),
  and the audit trail (read-only for everyone: nobody edits or deletes an event by hand).
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

WHALEFALL_APPS = ("audit", "instances", "accounts", "capacity", "classification", "sync_sessions", "alerts")
#: the scheduler's models (schedules, task results): read by every group, managed by admins
SCHEDULER_APP = "django_q"
#: what only the admin group reads
# (alert channels: webhook URLs may hold tokens)
SECRET_VIEWS = {("instances", "view_credential"), ("audit", "view_auditevent"), ("alerts", "view_alertchannel")}


def groups_ensure() -> dict[str, int]:
    """Create/refresh the groups; returns permission counts per group.

    ``operator`` gets the view permissions plus every custom (non-CRUD)
    permission, which is how actions such as "run sync" are guarded.
    """
    perms = Permission.objects.filter(content_type__app_label__in=(*WHALEFALL_APPS, SCHEDULER_APP)).select_related(
        "content_type"
    )
    crud = ("add_", "change_", "delete_", "view_")
    view = [p for p in perms if p.codename.startswith("view_") and (p.content_type.app_label, p.codename)
            not in SECRET_VIEWS]  # fmt: skip
    custom = [p for p in perms if not p.codename.startswith(crud) and p.content_type.app_label != SCHEDULER_APP]
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

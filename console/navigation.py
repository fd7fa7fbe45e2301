"""The admin's sidebar (``UNFOLD["SIDEBAR"]["navigation"]``): the pages a DBA uses, grouped by
task; the bookkeeping tables sit in a collapsed "Internal" group at the bottom.

Each entry names a registered model (its changelist) or an admin URL name with the model whose
view permission it needs; entries the user may not see, and groups left empty, are dropped.
Add a page by adding a line to :data:`NAVIGATION`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.contrib import admin
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Entry:
    title: str
    icon: str  # a Material Symbols name (unfold ships the font)
    model: str = ""  # "app_label.ModelName": its changelist, shown to who may view it
    url_name: str = ""  # an admin URL name instead of the changelist (needs the model's view permission)


@dataclass(frozen=True)
class Group:
    title: str
    entries: tuple[Entry, ...]
    collapsible: bool = False


NAVIGATION: tuple[Group, ...] = (
    Group("Console", (Entry("Dashboard", "dashboard", url_name="admin:index"),)),
    Group("Instances", (
        Entry("Instances", "dns", "instances.Instance"),
        Entry("Credentials", "key", "instances.Credential"),
        Entry("Tags", "sell", "instances.Tag"),
    )),
    Group("Accounts", (
        Entry("Accounts", "person", "accounts.InstanceAccount"),
        Entry("Who can…", "policy", "accounts.InstanceAccount", "admin:accounts_who_can"),
        Entry("Account changes", "history", "accounts.AccountChangeLog"),
        Entry("Permissions", "shield_person", "accounts.AccountPermission"),
        Entry("Unread scopes", "visibility_off", "accounts.AccountUnreadScope"),
    )),
    Group("Capacity", (
        Entry("Current sizes", "storage", "capacity.DatabaseSizeCurrent"),
        Entry("Top growers", "trending_up", "capacity.DatabaseSizeCurrent", "admin:capacity_top_growers"),
        Entry("Databases and limits", "database", "capacity.InstanceDatabase"),
        Entry("Daily database sizes", "calendar_month", "capacity.DatabaseSizeStat"),
        Entry("Daily instance sizes", "calendar_view_month", "capacity.InstanceSizeStat"),
        Entry("Database roll-ups", "stacked_line_chart", "capacity.DatabaseSizeAggregation"),
        Entry("Instance roll-ups", "area_chart", "capacity.InstanceSizeAggregation"),
        Entry("Table sizes", "table_chart", "capacity.DatabaseTableSizeStat"),
    )),
    Group("Classification", (
        Entry("Classifications", "category", "classification.AccountClassification"),
        Entry("Rules", "rule", "classification.ClassificationRule"),
        Entry("Assignments", "assignment_ind", "classification.AccountClassificationAssignment"),
        Entry("Assignment history", "history_toggle_off", "classification.AccountClassificationHistory"),
        Entry("Daily counts", "bar_chart", "classification.ClassificationDailyStat"),
    )),
    Group("Runs", (
        Entry("Sync sessions", "sync", "sync_sessions.SyncSession"),
        Entry("Instance runs", "playlist_play", "sync_sessions.SyncInstanceRecord"),
        Entry("Schedules", "schedule", "django_q.Schedule"),
        Entry("Failed tasks", "error", "django_q.Failure"),
        Entry("Finished tasks", "task_alt", "django_q.Success"),
    )),
    Group("Alerts", (
        Entry("Alert events", "notifications", "alerts.AlertEvent"),
        Entry("Alert deliveries", "send", "alerts.AlertDelivery"),
        Entry("Alert channels", "campaign", "alerts.AlertChannel"),
    )),
    Group("Audit", (Entry("Audit trail", "policy", "audit.AuditEvent"),)),
    Group("Settings", (
        Entry("Users", "manage_accounts", "auth.User"),
        Entry("Groups (roles)", "group", "auth.Group"),
        Entry("API tokens", "token", "authtoken.TokenProxy"),
        Entry("Team scopes", "workspaces", "instances.Scope"),
        Entry("Database types", "category_search", "instances.DatabaseType"),
    )),
    # what the services keep for themselves: open them to debug, not to work
    Group("Internal", (
        Entry("Account listings", "fingerprint", "accounts.AccountListing"),
        Entry("Classification states", "fingerprint", "classification.InstanceClassificationState"),
        Entry("Aggregation requests", "pending_actions", "capacity.AggregationRequest"),
        Entry("Task queue", "queue", "django_q.OrmQ"),
        Entry("Login attempts", "lock_clock", "axes.AccessAttempt"),
        Entry("Login failures", "lock", "axes.AccessFailureLog"),
        Entry("Logins", "login", "axes.AccessLog"),
    ), collapsible=True),
)  # fmt: skip


def _link(entry: Entry, request) -> str | None:
    """The entry's URL when the user may open it, else None."""
    try:
        model = apps.get_model(entry.model) if entry.model else None
    except LookupError:
        return None
    if model is not None:
        model_admin = admin.site._registry.get(model)
        if model_admin is None or not model_admin.has_view_or_change_permission(request):
            return None
    name = entry.url_name or f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def sidebar_navigation(request) -> list[dict]:
    """The sidebar for ``request.user``, in unfold's format."""
    groups = []
    for group in NAVIGATION:
        items = [
            {"title": entry.title, "icon": entry.icon, "link": link}
            for entry in group.entries
            if (link := _link(entry, request)) is not None
        ]
        if items:
            groups.append({"title": group.title, "separator": True, "collapsible": group.collapsible, "items": items})
    return groups


def stylesheet(request) -> str:
    """The console's own CSS on top of unfold's (``UNFOLD["STYLES"]``)."""
    return static("console/console.css")


def favicon(request) -> str:
    return static("console/favicon.svg")

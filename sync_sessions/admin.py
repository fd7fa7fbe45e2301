"""Admin for sync sessions and their per-instance records (written by services: read-only)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from instances.admin import (
    instance_admin_action_register,
    instance_admin_problem_register,
    instance_admin_summary_register,
)
from instances.models import SYNC_INSTANCE_PERMISSION, Instance
from instances.selectors import instances_check_privileges
from instances.services import instance_test_connection
from sync_sessions.contact import instances_check_privileges_batch, instances_test_connection_batch
from sync_sessions.models import RecordStatus, SyncInstanceRecord, SyncSession
from sync_sessions.selectors import (
    RECORD_CSV_COLUMNS,
    SESSION_CSV_COLUMNS,
    records_latest_per_category,
    sessions_in_scope,
)
from sync_sessions.services import session_cancel
from whalefall.admin_tools import (
    BigTableAdmin,
    CsvExportMixin,
    ModelAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    TabularInline,
    pretty_json,
    recent_date_filter,
)
from whalefall.errors import AlreadyFinished, WhalefallError
from whalefall.units import datetime_html

_RECORD_FIELDS = (
    "instance_name",
    "sync_category",
    "status",
    "started_at",
    "completed_at",
    "items_synced",
    "items_created",
    "items_updated",
    "items_deleted",
    "error_code",
    "error_message",
)


class SessionFilter(admin.SimpleListFilter):
    """The rows one sync session wrote (``?session=<uuid>``): hidden until used (the session page
    links here), then it names the session and offers "All". For the lists of apps above whose
    rows carry a ``session`` foreign key (account changes, classification history)."""

    title = "session"
    parameter_name = "session"

    def lookups(self, request, model_admin):
        value = self.value()
        if not value:
            return ()  # a filter with no choices would not be applied at all: list the chosen one only
        return ((value, f"session {value[:8]}"),)

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        try:
            return queryset.filter(session_id=uuid.UUID(value))
        except ValueError:
            return queryset.none()


def session_admin_link_register(label: str, url_for: Callable[[SyncSession], str]) -> None:
    """Add a link (``url_for(session)``: the rows it wrote, e.g. its account changes) to the
    "What it changed" row of a session's page; apps above call it from their ``admin`` module."""
    if all(existing != label for existing, _ in SyncSessionAdmin.change_link_makers):
        SyncSessionAdmin.change_link_makers = (*SyncSessionAdmin.change_link_makers, (label, url_for))


def _duration(started, completed) -> str:
    if started is None or completed is None:
        return "-"
    seconds = (completed - started).total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class SyncInstanceRecordInline(ReadOnlyInlineMixin, TabularInline):
    """What the session did on each instance."""

    model = SyncInstanceRecord
    fields = (*_RECORD_FIELDS[:5], "took", *_RECORD_FIELDS[5:], "record_link")
    readonly_fields = fields
    ordering = ("instance_name",)

    @admin.display(description="Took")
    def took(self, obj: SyncInstanceRecord) -> str:
        return _duration(obj.started_at, obj.completed_at)

    @admin.display(description="Details")
    def record_link(self, obj: SyncInstanceRecord) -> str:
        url = reverse("admin:sync_sessions_syncinstancerecord_change", args=(obj.pk,))
        return format_html('<a href="{}">details</a>', url)


@admin.register(SyncSession)
class SyncSessionAdmin(CsvExportMixin, ReadOnlyAdminMixin, ModelAdmin):
    """Batch runs (account sync, capacity, aggregation, …) with their instance records."""

    actions = ("cancel_action", "export_csv")
    csv_columns = SESSION_CSV_COLUMNS

    list_display = ("short_id", "sync_category", "sync_type", "status", "started_at", "duration", "instances",
                    "created_by")  # fmt: skip
    list_display_links = ("short_id",)
    list_select_related = ("created_by",)
    list_filter = ("status", "sync_category", "sync_type")
    search_fields = ("=session_id",)
    fieldsets = (
        (None, {"fields": ("session_id", "sync_category", "sync_type", "status", "created_by")}),
        ("Timing", {"fields": ("started_at", "completed_at", "duration", "created_at", "updated_at")}),
        ("Outcome", {"fields": ("total_instances", "successful_instances", "partial_instances", "failed_instances",
                                "skipped_instances", "cancelled_instances", "enqueued", "error_message", "changes")}),
    )  # fmt: skip
    #: (label, url_for(session)) what a session wrote, from the apps that own it (``session_admin_link_register``)
    change_link_makers: tuple[tuple[str, Callable[[SyncSession], str]], ...] = ()

    def scope_queryset(self, queryset, visible):
        return sessions_in_scope(queryset, visible)
    readonly_fields = (
        "session_id",
        "sync_category",
        "sync_type",
        "status",
        "created_by",
        "started_at",
        "completed_at",
        "duration",
        "created_at",
        "updated_at",
        "total_instances",
        "successful_instances",
        "partial_instances",
        "failed_instances",
        "skipped_instances",
        "cancelled_instances",
        "enqueued",
        "error_message",
        "changes",
    )
    ordering = ("-started_at",)
    inlines = (SyncInstanceRecordInline,)
    show_full_result_count = False

    @admin.display(description="Session", ordering="session_id")
    def short_id(self, obj: SyncSession) -> str:
        return str(obj.session_id)[:8]

    @admin.display(description="Duration")
    def duration(self, obj: SyncSession) -> str:
        return _duration(obj.started_at, obj.completed_at)

    def has_sync_permission(self, request) -> bool:
        return request.user.has_perm(SYNC_INSTANCE_PERMISSION)

    @admin.action(description="Cancel (their queued instances are not run)", permissions=["sync"])
    def cancel_action(self, request, queryset):
        """``session_cancel`` per selected session; finished ones are left as they are (and named)."""
        cancelled, finished = [], []
        for session in queryset.order_by("started_at"):
            try:
                session_cancel(session=session, user=request.user)
            except AlreadyFinished:
                finished.append(str(session.session_id)[:8])
            else:
                cancelled.append(session)
        if cancelled:
            records = sum(session.cancelled_instances for session in cancelled)
            self.message_user(request, f"{len(cancelled)} session(s) cancelled: {records} queued instance run(s) "
                              "will not start; those already running finish.", messages.SUCCESS)  # fmt: skip
        if finished:
            self.message_user(request, f"Already finished, not cancelled: {', '.join(finished)}.", messages.WARNING)

    @admin.display(description="What it changed")
    def changes(self, obj: SyncSession) -> str:
        links = [format_html('<a href="{}">{}</a>', url_for(obj), label) for label, url_for in self.change_link_makers]
        return format_html_join(" · ", "{}", ((link,) for link in links)) or "-"

    @admin.display(description="Instances", ordering="total_instances")
    def instances(self, obj: SyncSession) -> str:
        """"5" when all went well, else "5: 3 ok (1 partial), 1 failed, 1 cancelled" (what is not 0)."""
        if obj.successful_instances == obj.total_instances and not obj.partial_instances:
            return str(obj.total_instances)
        parts = [f"{obj.successful_instances} ok" + (f" ({obj.partial_instances} partial)" if obj.partial_instances
                                                      else "")]  # fmt: skip
        parts += [f"{count} {label}" for count, label in ((obj.failed_instances, "failed"),
                  (obj.skipped_instances, "skipped"), (obj.cancelled_instances, "cancelled")) if count]  # fmt: skip
        unfinished = obj.total_instances - obj.successful_instances - obj.failed_instances - obj.skipped_instances \
            - obj.cancelled_instances  # fmt: skip
        if unfinished > 0:
            parts.append(f"{unfinished} to go")
        return f"{obj.total_instances}: " + ", ".join(parts)


@admin.register(SyncInstanceRecord)
class SyncInstanceRecordAdmin(CsvExportMixin, BigTableAdmin):
    """Every per-instance record of every session."""

    scope_instance_path = "instance"

    actions = ("export_csv",)
    csv_columns = RECORD_CSV_COLUMNS

    list_display = (
        "instance_name",
        "session_ref",
        "sync_category",
        "status",
        "started_at",
        "duration",
        "items_synced",
        "error_code",
    )
    list_filter = (recent_date_filter("completed_at", default="all", title="finished"), "status", "sync_category")
    search_fields = ("^instance_name", "=error_code")
    autocomplete_fields = ("instance",)
    fieldsets = (
        (None, {"fields": ("session_ref", "instance", "instance_name", "sync_category", "status")}),
        ("Timing", {"fields": ("started_at", "completed_at", "duration", "created_at")}),
        ("Items", {"fields": ("items_synced", "items_created", "items_updated", "items_deleted")}),
        ("Outcome", {"fields": ("error_code", "error_message", "details_json")}),
    )
    readonly_fields = (
        "session_ref",
        "instance",
        "instance_name",
        "sync_category",
        "status",
        "started_at",
        "completed_at",
        "duration",
        "created_at",
        "items_synced",
        "items_created",
        "items_updated",
        "items_deleted",
        "error_code",
        "error_message",
        "details_json",
    )
    ordering = ("-id",)

    @admin.display(description="Session", ordering="session_id")
    def session_ref(self, obj: SyncInstanceRecord) -> str:
        url = reverse("admin:sync_sessions_syncsession_changelist") + f"?session_id={obj.session_id}"
        return format_html('<a href="{}">{}</a>', url, str(obj.session_id)[:8])

    @admin.display(description="Duration")
    def duration(self, obj: SyncInstanceRecord) -> str:
        return _duration(obj.started_at, obj.completed_at)

    @admin.display(description="Details")
    def details_json(self, obj: SyncInstanceRecord) -> str:
        return pretty_json(obj.sync_details)


def batch_admin_action(
    *,
    name: str,
    description: str,
    label: str,
    start: Callable[..., SyncSession],
    one: Callable[[admin.ModelAdmin, HttpRequest, Instance], None] | None = None,
):
    """An admin action on instances (``description`` in the menu) that starts one
    batch session (``label``: "Account sync") over the selected ones in the task
    cluster: ``start(instance_ids=…, created_by=…, enqueue=True)``; the request never waits on
    a target. With ``one``, a single selected instance is handled by ``one(modeladmin, request,
    instance)`` in the request instead (one target, within its deadlines: an answer at once).

    Reports the session as a link, or why nothing started (unknown instances, …).
    Needs ``instances.sync_instance`` (checked here too, for views that call the
    action directly). Register it with ``instances.admin.instance_admin_action_register``.
    """

    @admin.action(description=description, permissions=["sync"])
    def action(modeladmin, request, queryset):
        if not request.user.has_perm(SYNC_INSTANCE_PERMISSION):
            modeladmin.message_user(request, f"You may not start a {label.lower()}.", messages.ERROR)
            return
        ids = list(queryset.values_list("pk", flat=True))
        if not ids:  # the selection held only rows the list no longer shows (another team's, deleted)
            modeladmin.message_user(request, f"No {label.lower()} started: none of the selected instances is "
                                    "in the list.", messages.WARNING)  # fmt: skip
            return
        if one is not None and len(ids) == 1:
            # a fresh query: the changelist's one defers the encrypted password the adapter needs
            one(modeladmin, request, Instance.objects.select_related("credential").get(pk=ids[0]))
            return
        try:
            session = start(instance_ids=ids, created_by=request.user, enqueue=True)
        except ValidationError as exc:
            modeladmin.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        except WhalefallError as exc:
            modeladmin.message_user(request, exc.message, messages.ERROR)
            return
        url = reverse("admin:sync_sessions_syncsession_change", args=(session.pk,))
        text = '{} of {} instance(s) started: <a href="{}">session {}</a> (its records fill in as each answers).'
        modeladmin.message_user(
            request,
            format_html(text, label, session.total_instances, url, str(session.session_id)[:8]),
            messages.SUCCESS,
        )

    action.__name__ = action.__qualname__ = name
    return action


def _test_one(modeladmin, request, instance: Instance) -> None:
    try:
        result = instance_test_connection(instance=instance)
    except WhalefallError as exc:
        modeladmin.message_user(request, f"{instance.name}: FAILED ({exc.code}) {exc.message}", messages.ERROR)
    else:
        modeladmin.message_user(
            request, f"{instance.name}: ok — {result.version} ({result.latency_ms:.0f} ms)", messages.SUCCESS
        )


def _check_one(modeladmin, request, instance: Instance) -> None:
    """All checks ok, or one message per failing check with its GRANT."""
    try:
        report = instances_check_privileges(instance=instance)
    except WhalefallError as exc:
        modeladmin.message_user(request, f"{instance.name}: FAILED ({exc.code}) {exc.message}", messages.ERROR)
        return
    if report.ok:
        modeladmin.message_user(request, f"{instance.name}: all {len(report.checks)} privilege checks ok",
                                messages.SUCCESS)  # fmt: skip
    for check in report.failures:
        where = f"{check.collector} {check.target}".strip()
        fix = f" — fix: {check.fix}" if check.fix else ""
        modeladmin.message_user(request, f"{instance.name}: {where}: {check.detail}{fix}", messages.ERROR)


# the instance list's checks: one instance answered in the request, several as a batch session
test_connection_action = batch_admin_action(
    name="test_connection_action", description="Test connection", label="Connection test",
    start=instances_test_connection_batch, one=_test_one,
)  # fmt: skip
check_privileges_action = batch_admin_action(
    name="check_privileges_action", description="Check monitoring privileges", label="Privilege check",
    start=instances_check_privileges_batch, one=_check_one,
)  # fmt: skip
instance_admin_action_register(test_connection_action)
instance_admin_action_register(check_privileges_action)


def _latest_records(instance) -> list[SyncInstanceRecord]:
    """The instance's latest record per kind of run, read once per page (status row and problems)."""
    if not hasattr(instance, "_latest_records"):
        instance._latest_records = records_latest_per_category(instance_id=instance.pk)
    return instance._latest_records


def _last_runs_overview(instance) -> str:
    records = _latest_records(instance)
    if not records:
        return "no runs recorded"
    rows = (
        (
            reverse("admin:sync_sessions_syncinstancerecord_change", args=(r.pk,)),
            r.get_sync_category_display(),
            r.status,
            f" ({r.error_code})" if r.error_code else "",
            datetime_html(r.started_at or r.created_at),
            _duration(r.started_at, r.completed_at),
        )
        for r in records
    )
    items = format_html_join(" · ", '<a href="{}">{}</a>: {}{} at {} ({})', rows)
    url = reverse("admin:sync_sessions_syncinstancerecord_changelist") + f"?instance__id__exact={instance.pk}"
    return format_html('{} · <a href="{}">all runs</a>', items, url)


def _failed_runs(instance) -> list[str]:
    """A problem line per kind of run whose latest record failed or was partial (something was
    not read): when, the error code and message."""
    return [
        format_html(
            '<a href="{}">{}</a> {} at {}: <code>{}</code> {}',
            reverse("admin:sync_sessions_syncinstancerecord_change", args=(r.pk,)),
            r.get_sync_category_display(),
            "failed" if r.status == RecordStatus.FAILED else "was partial",
            datetime_html(r.completed_at or r.started_at or r.created_at),
            r.error_code or "error",
            r.error_message[:300],
        )
        for r in _latest_records(instance)
        if r.status in (RecordStatus.FAILED, RecordStatus.PARTIAL)
    ]


instance_admin_summary_register("Last runs", _last_runs_overview)
instance_admin_problem_register(_failed_runs)

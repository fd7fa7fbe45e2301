"""Admin for sync sessions and their per-instance records (written by services: read-only)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from instances.admin import instance_admin_problem_register, instance_admin_summary_register
from instances.models import SYNC_INSTANCE_PERMISSION
from sync_sessions.models import RecordStatus, SyncInstanceRecord, SyncSession
from sync_sessions.selectors import RECORD_CSV_COLUMNS, SESSION_CSV_COLUMNS, records_latest_per_category
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
from whalefall.errors import WhalefallError
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

    actions = ("export_csv",)
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
        ("Outcome", {"fields": ("total_instances", "successful_instances", "failed_instances", "error_message",
                                "changes")}),
    )  # fmt: skip
    #: (label, url_for(session)) what a session wrote, from the apps that own it (``session_admin_link_register``)
    change_link_makers: tuple[tuple[str, Callable[[SyncSession], str]], ...] = ()
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
        "failed_instances",
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

    @admin.display(description="What it changed")
    def changes(self, obj: SyncSession) -> str:
        links = [format_html('<a href="{}">{}</a>', url_for(obj), label) for label, url_for in self.change_link_makers]
        return format_html_join(" · ", "{}", ((link,) for link in links)) or "-"

    @admin.display(description="Instances", ordering="total_instances")
    def instances(self, obj: SyncSession) -> str:
        """"5" when all went well, else "5: 4 ok, 1 failed"."""
        if not obj.failed_instances and obj.successful_instances == obj.total_instances:
            return str(obj.total_instances)
        return f"{obj.total_instances}: {obj.successful_instances} ok, {obj.failed_instances} failed"


@admin.register(SyncInstanceRecord)
class SyncInstanceRecordAdmin(CsvExportMixin, BigTableAdmin):
    """Every per-instance record of every session."""

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


def batch_admin_action(*, name: str, description: str, label: str, start: Callable[..., SyncSession]):
    """An admin action on instances (``description`` in the menu) that starts one
    batch session (``label``: "Account sync") over the selected ones in the task
    cluster: ``start(instance_ids=…, created_by=…, enqueue=True)``.

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
        try:
            session = start(instance_ids=ids, created_by=request.user, enqueue=True)
        except ValidationError as exc:
            modeladmin.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        except WhalefallError as exc:
            modeladmin.message_user(request, exc.message, messages.ERROR)
            return
        url = reverse("admin:sync_sessions_syncsession_change", args=(session.pk,))
        text = '{} of {} instance(s) started: <a href="{}">session {}</a>.'
        modeladmin.message_user(
            request,
            format_html(text, label, session.total_instances, url, str(session.session_id)[:8]),
            messages.SUCCESS,
        )

    action.__name__ = action.__qualname__ = name
    return action


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
    """A problem line per kind of run whose latest record failed: when, the error code and message."""
    return [
        format_html(
            '<a href="{}">{}</a> failed at {}: <code>{}</code> {}',
            reverse("admin:sync_sessions_syncinstancerecord_change", args=(r.pk,)),
            r.get_sync_category_display(),
            datetime_html(r.completed_at or r.started_at or r.created_at),
            r.error_code or "error",
            r.error_message[:300],
        )
        for r in _latest_records(instance)
        if r.status == RecordStatus.FAILED
    ]


instance_admin_summary_register("Last runs", _last_runs_overview)
instance_admin_problem_register(_failed_runs)

"""Admin for capacity: inventory, latest sizes, the partitioned size history and
its aggregations, and per-table sizes. Everything here is written by the
collection/aggregation services, so every admin is read-only.

The four partitioned fact tables open on a recent date window (so the planner
prunes old partitions), order like their indexes and never ``COUNT(*)`` the
whole history (see ``whalefall.admin_tools``).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode

from capacity import selectors
from capacity.charts import trend_chart
from capacity.models import (
    DatabaseSizeAggregation,
    DatabaseSizeCurrent,
    DatabaseSizeStat,
    DatabaseTableSizeStat,
    InstanceDatabase,
    InstanceSizeAggregation,
    InstanceSizeStat,
)
from capacity.services import capacity_collect_all, table_sizes_refresh
from instances.admin import instance_admin_action_register, instance_admin_link_register
from instances.models import SYNC_INSTANCE_PERMISSION, Instance
from sync_sessions.admin import batch_admin_action
from whalefall.admin_tools import (
    BigTableAdmin,
    ReadOnlyAdminMixin,
    format_bytes,
    recent_date_filter,
)
from whalefall.errors import WhalefallError, describe

#: windows offered on the instance capacity page (days)
TREND_WINDOWS = (30, 90, 365, 730)

# Aggregation periods start up to a quarter back, so their default window is wider.
AGGREGATION_DEFAULT_WINDOW = "365"


class FactTableAdmin(BigTableAdmin):
    """Read-only admin for the partitioned facts (one row per instance per day/period)."""

    list_select_related = ("instance",)
    autocomplete_fields = ("instance",)


class SizeColumnsMixin:
    """Human-readable size columns, sortable by the underlying byte column."""

    @admin.display(description="Size", ordering="size_bytes")
    def size(self, obj) -> str:
        return format_bytes(obj.size_bytes)

    @admin.display(description="Data", ordering="data_bytes")
    def data_size(self, obj) -> str:
        return format_bytes(obj.data_bytes)

    @admin.display(description="Log", ordering="log_bytes")
    def log_size(self, obj) -> str:
        return format_bytes(obj.log_bytes)


class AggregationColumnsMixin:
    """Display columns shared by both aggregation admins."""

    @admin.display(description="Avg size", ordering="avg_size_bytes")
    def avg_size(self, obj) -> str:
        return format_bytes(obj.avg_size_bytes)

    @admin.display(description="Max size", ordering="max_size_bytes")
    def max_size(self, obj) -> str:
        return format_bytes(obj.max_size_bytes)

    @admin.display(description="Min size", ordering="min_size_bytes")
    def min_size(self, obj) -> str:
        return format_bytes(obj.min_size_bytes)

    @admin.display(description="Change", ordering="size_change_bytes")
    def size_change(self, obj) -> str:
        if obj.size_change_bytes is None:
            return "-"
        sign = "-" if obj.size_change_bytes < 0 else "+"
        return f"{sign}{format_bytes(abs(obj.size_change_bytes))}"

    @admin.display(description="Change %", ordering="size_change_percent")
    def size_change_pct(self, obj) -> str:
        if obj.size_change_percent is None:
            return "-"
        return f"{obj.size_change_percent:+.2f} %"


_AGGREGATION_FIGURES = (
    "avg_size_bytes",
    "max_size_bytes",
    "min_size_bytes",
    "avg_data_bytes",
    "avg_log_bytes",
    "sample_count",
    "size_change_bytes",
    "size_change_percent",
    "growth_rate_bytes_per_day",
)


@admin.register(InstanceDatabase)
class InstanceDatabaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Database inventory per instance; a vanished database turns inactive."""

    list_display = ("name", "instance", "is_active", "first_seen_at", "last_seen_at", "deleted_at")
    list_select_related = ("instance",)
    list_filter = ("is_active",)
    search_fields = ("^name", "^instance__name")
    autocomplete_fields = ("instance",)
    fields = ("instance", "name", "is_active", "first_seen_at", "last_seen_at", "deleted_at")
    readonly_fields = fields
    ordering = ("instance__name", "name")


@admin.register(DatabaseSizeCurrent)
class DatabaseSizeCurrentAdmin(SizeColumnsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Latest size of every database (one row per database)."""

    list_display = (
        "database_name", "instance_capacity", "size", "data_size", "log_size", "complete", "collected_at"
    )  # fmt: skip
    list_select_related = ("instance",)
    search_fields = ("^database_name", "^instance__name")
    autocomplete_fields = ("instance",)
    fields = ("instance", "database_name", "size_bytes", "data_bytes", "log_bytes", "complete", "collected_at")
    readonly_fields = fields
    ordering = ("instance__name", "database_name")
    show_facets = admin.ShowFacets.NEVER

    @admin.display(description="Instance", ordering="instance__name")
    def instance_capacity(self, obj: DatabaseSizeCurrent) -> str:
        url = reverse("admin:capacity_instance_capacity", args=[obj.instance_id])
        return format_html('<a href="{}">{}</a>', url, obj.instance)

    def get_urls(self):
        view = self.admin_site.admin_view(self.instance_capacity_view)
        return [
            path("instance/<int:instance_id>/", view, name="capacity_instance_capacity"),
            path(
                "instance/<int:instance_id>/collect/",
                self.admin_site.admin_view(self.instance_collect_view),
                name="capacity_instance_collect",
            ),
            *super().get_urls(),
        ]

    def instance_capacity_view(self, request, instance_id: int):
        """Size over time (instance total + top databases) and the current sizes of one instance.

        Reads only the chosen window's partitions and database_size_current
        (a handful of indexed queries; no COUNT, no window over all history).
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        instance = get_object_or_404(Instance, pk=instance_id)
        days = int(request.GET.get("days", "90")) if request.GET.get("days", "90").isdigit() else 90
        days = days if days in TREND_WINDOWS else 90
        end = timezone.localdate()
        trend = selectors.capacity_trend(instance_id=instance.pk, start=end - dt.timedelta(days=days), end=end)
        current = list(selectors.database_sizes_current(instance_id=instance.pk).order_by("-size_bytes"))
        tables_url = reverse("admin:capacity_databasetablesizestat_changelist")
        for row in current:
            query = urlencode({"instance__id__exact": instance.pk, "database_name": row.database_name})
            row.tables_url = f"{tables_url}?{query}"
        context = {
            **self.admin_site.each_context(request),
            "title": f"Capacity of {instance.name}",
            "instance": instance,
            "opts": self.model._meta,
            "days": days,
            "windows": TREND_WINDOWS,
            "chart": trend_chart(trend),
            "current": current,
            "total_current": format_bytes(sum(r.size_bytes for r in current)),
            "can_collect": request.user.has_perm(SYNC_INSTANCE_PERMISSION),
        }
        return TemplateResponse(request, "admin/capacity/instance_capacity.html", context)

    def instance_collect_view(self, request, instance_id: int):
        """POST: start a capacity collection of one instance, back to its capacity page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        collect_capacity_action(self, request, Instance.objects.filter(pk=instance_id))
        return HttpResponseRedirect(reverse("admin:capacity_instance_capacity", args=[instance_id]))


@admin.register(DatabaseSizeStat)
class DatabaseSizeStatAdmin(SizeColumnsMixin, FactTableAdmin):
    """Daily size of every database (partitioned by collected date)."""

    list_display = (
        "collected_date", "instance", "database_name", "size", "data_size", "log_size", "complete", "collected_at"
    )  # fmt: skip
    list_filter = (recent_date_filter("collected_date", title="collected"),)
    search_fields = ("=database_name", "=instance__name")
    fields = (
        "collected_date", "instance", "database_name", "size_bytes", "data_bytes", "log_bytes", "complete",
        "collected_at",
    )  # fmt: skip
    readonly_fields = fields
    ordering = ("-collected_date", "instance_id")


@admin.register(InstanceSizeStat)
class InstanceSizeStatAdmin(FactTableAdmin):
    """Daily total size of every instance (partitioned by collected date)."""

    list_display = ("collected_date", "instance", "total_size", "database_count", "complete", "collected_at")
    list_filter = (recent_date_filter("collected_date", title="collected"),)
    search_fields = ("=instance__name",)
    fields = ("collected_date", "instance", "total_size_bytes", "database_count", "complete", "collected_at")
    readonly_fields = fields
    ordering = ("-collected_date", "instance_id")

    @admin.display(description="Total size", ordering="total_size_bytes")
    def total_size(self, obj: InstanceSizeStat) -> str:
        return format_bytes(obj.total_size_bytes)


@admin.register(DatabaseSizeAggregation)
class DatabaseSizeAggregationAdmin(AggregationColumnsMixin, FactTableAdmin):
    """Per-database roll-ups per day/week/month/quarter (partitioned by period start)."""

    list_display = (
        "period_start",
        "period_type",
        "instance",
        "database_name",
        "avg_size",
        "max_size",
        "min_size",
        "size_change",
        "size_change_pct",
        "sample_count",
        "is_complete",
    )
    list_filter = (
        recent_date_filter("period_start", default=AGGREGATION_DEFAULT_WINDOW, title="period start"),
        "period_type",
        "is_complete",
    )
    search_fields = ("=database_name", "=instance__name")
    fields = (
        "instance",
        "database_name",
        "period_type",
        "period_start",
        "period_end",
        *_AGGREGATION_FIGURES,
        "is_complete",
        "calculated_at",
    )
    readonly_fields = fields
    ordering = ("-period_start", "instance_id")


@admin.register(InstanceSizeAggregation)
class InstanceSizeAggregationAdmin(AggregationColumnsMixin, FactTableAdmin):
    """Per-instance roll-ups per day/week/month/quarter (partitioned by period start)."""

    list_display = (
        "period_start",
        "period_type",
        "instance",
        "avg_size",
        "max_size",
        "min_size",
        "size_change",
        "size_change_pct",
        "database_count",
        "sample_count",
        "is_complete",
    )
    list_filter = (
        recent_date_filter("period_start", default=AGGREGATION_DEFAULT_WINDOW, title="period start"),
        "period_type",
        "is_complete",
    )
    search_fields = ("=instance__name",)
    fields = (
        "instance",
        "period_type",
        "period_start",
        "period_end",
        "database_count",
        *_AGGREGATION_FIGURES,
        "is_complete",
        "calculated_at",
    )
    readonly_fields = fields
    ordering = ("-period_start", "instance_id")


@admin.register(DatabaseTableSizeStat)
class DatabaseTableSizeStatAdmin(BigTableAdmin):
    """Latest per-table sizes (refreshed per database on demand)."""

    list_display = (
        "table_name",
        "schema_name",
        "database_name",
        "instance",
        "size",
        "data_size",
        "index_size",
        "row_count",
        "complete",
        "collected_at",
    )
    list_select_related = ("instance",)
    search_fields = ("^table_name", "=database_name", "=instance__name")
    autocomplete_fields = ("instance",)
    fields = (
        "instance",
        "database_name",
        "schema_name",
        "table_name",
        "size_bytes",
        "data_bytes",
        "index_bytes",
        "row_count",
        "complete",
        "collected_at",
    )
    readonly_fields = fields
    ordering = ("instance_id", "database_name", "-size_bytes")
    change_list_template = "admin/capacity/databasetablesizestat/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.refresh_view)
        return [
            path("refresh/<int:instance_id>/<path:database>/", view, name="capacity_table_sizes_refresh"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        """Filtered to one instance + database (``?instance__id__exact=&database_name=``),
        the page shows a "Refresh" button for that database."""
        instance_id, database = request.GET.get("instance__id__exact", ""), request.GET.get("database_name", "")
        extra_context = extra_context or {}
        if instance_id.isdigit() and database and request.user.has_perm(SYNC_INSTANCE_PERMISSION):
            url = reverse("admin:capacity_table_sizes_refresh", args=[int(instance_id), database])
            extra_context["refresh_url"] = url
            extra_context["refresh_database"] = database
        return super().changelist_view(request, extra_context=extra_context)

    def refresh_view(self, request, instance_id: int, database: str):
        """POST: collect this database's table sizes now; on failure the old snapshot stays."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(SYNC_INSTANCE_PERMISSION):
            raise PermissionDenied
        instance = get_object_or_404(Instance, pk=instance_id, deleted_at__isnull=True)
        try:
            result = table_sizes_refresh(instance=instance, database=database, created_by=request.user)
        except (WhalefallError, ValidationError) as exc:
            code, message = describe(exc)
            text = f"Refresh of {database} failed ({code}): {message} The previous snapshot is kept."
            self.message_user(request, text, messages.ERROR)
        else:
            self.message_user(
                request,
                f"{database}: {result.tables} table(s) in {result.elapsed_ms} ms "
                f"({result.created} new, {result.deleted} removed).",
                messages.SUCCESS,
            )
        query = urlencode({"instance__id__exact": instance_id, "database_name": database})
        return HttpResponseRedirect(f"{reverse('admin:capacity_databasetablesizestat_changelist')}?{query}")

    @admin.display(description="Size", ordering="size_bytes")
    def size(self, obj: DatabaseTableSizeStat) -> str:
        return format_bytes(obj.size_bytes)

    @admin.display(description="Data", ordering="data_bytes")
    def data_size(self, obj: DatabaseTableSizeStat) -> str:
        return format_bytes(obj.data_bytes)

    @admin.display(description="Indexes", ordering="index_bytes")
    def index_size(self, obj: DatabaseTableSizeStat) -> str:
        return format_bytes(obj.index_bytes)


# --- actions and chart ------------------------------------------------------------


collect_capacity_action = batch_admin_action(
    name="collect_capacity_action",
    description="Collect capacity",
    label="Capacity collection",
    start=capacity_collect_all,
)
instance_admin_action_register(collect_capacity_action)
instance_admin_link_register(
    "Capacity", lambda instance: reverse("admin:capacity_instance_capacity", args=[instance.pk])
)

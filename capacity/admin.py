"""Admin for capacity: inventory, latest sizes, the partitioned size history and
its aggregations, and per-table sizes. Everything here is written by the
collection/aggregation services, so every admin is read-only.

The four partitioned fact tables open on a recent date window (so the planner
prunes old partitions), order like their indexes and never ``COUNT(*)`` the
whole history (see ``whalefall.admin_tools``).
"""

from __future__ import annotations

from django.contrib import admin

from capacity.models import (
    DatabaseSizeAggregation,
    DatabaseSizeCurrent,
    DatabaseSizeStat,
    DatabaseTableSizeStat,
    InstanceDatabase,
    InstanceSizeAggregation,
    InstanceSizeStat,
)
from whalefall.admin_tools import (
    BigTableAdmin,
    FactTableAdmin,
    ReadOnlyAdminMixin,
    format_bytes,
    recent_date_filter,
)

# Aggregation periods start up to a quarter back, so their default window is wider.
AGGREGATION_DEFAULT_WINDOW = "365"


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

    list_display = ("database_name", "instance", "size", "data_size", "log_size", "collected_at")
    list_select_related = ("instance",)
    search_fields = ("^database_name", "^instance__name")
    autocomplete_fields = ("instance",)
    fields = ("instance", "database_name", "size_bytes", "data_bytes", "log_bytes", "collected_at")
    readonly_fields = fields
    ordering = ("instance__name", "database_name")
    show_facets = admin.ShowFacets.NEVER


@admin.register(DatabaseSizeStat)
class DatabaseSizeStatAdmin(SizeColumnsMixin, FactTableAdmin):
    """Daily size of every database (partitioned by collected date)."""

    list_display = ("collected_date", "instance", "database_name", "size", "data_size", "log_size", "collected_at")
    list_filter = (recent_date_filter("collected_date", title="collected"),)
    search_fields = ("=database_name", "=instance__name")
    fields = ("collected_date", "instance", "database_name", "size_bytes", "data_bytes", "log_bytes", "collected_at")
    readonly_fields = fields
    ordering = ("-collected_date", "instance_id")


@admin.register(InstanceSizeStat)
class InstanceSizeStatAdmin(FactTableAdmin):
    """Daily total size of every instance (partitioned by collected date)."""

    list_display = ("collected_date", "instance", "total_size", "database_count", "collected_at")
    list_filter = (recent_date_filter("collected_date", title="collected"),)
    search_fields = ("=instance__name",)
    fields = ("collected_date", "instance", "total_size_bytes", "database_count", "collected_at")
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
        "collected_at",
    )
    readonly_fields = fields
    ordering = ("instance_id", "database_name", "-size_bytes")
    # The "refresh" action (capacity table-size service) goes here.

    @admin.display(description="Size", ordering="size_bytes")
    def size(self, obj: DatabaseTableSizeStat) -> str:
        return format_bytes(obj.size_bytes)

    @admin.display(description="Data", ordering="data_bytes")
    def data_size(self, obj: DatabaseTableSizeStat) -> str:
        return format_bytes(obj.data_bytes)

    @admin.display(description="Indexes", ordering="index_bytes")
    def index_size(self, obj: DatabaseTableSizeStat) -> str:
        return format_bytes(obj.index_bytes)

"""Admins of the four partitioned fact tables: daily stats and their aggregations.

Each opens on a recent window of its partition key (pruned partitions), orders
like its index, shows estimated counts (no ``COUNT(*)`` over history) and can be
filtered by instance (``?instance__id__exact=``), period type and completeness.
"""

from __future__ import annotations

from django.contrib import admin

from capacity.admin.base import AGGREGATION_FIGURES, AggregationColumnsMixin, FactTableAdmin, SizeColumnsMixin
from capacity.models import (
    AggregationRequest,
    DatabaseSizeAggregation,
    DatabaseSizeStat,
    InstanceSizeAggregation,
    InstanceSizeStat,
)
from capacity.selectors import DATABASE_SIZE_CSV_COLUMNS
from sync_sessions.selectors import sessions_in_scope
from whalefall.admin_tools import CsvExportMixin, ModelAdmin, ReadOnlyAdminMixin, format_bytes, recent_date_filter

# Aggregation periods start up to a quarter back, so their default window is wider.
AGGREGATION_DEFAULT_WINDOW = "365"


#: both aggregation admins: a recent window of period starts by default (partition pruning)
AGGREGATION_FILTERS = (
    recent_date_filter("period_start", default=AGGREGATION_DEFAULT_WINDOW, title="period start"),
    "period_type",
    "is_complete",
)


@admin.register(DatabaseSizeStat)
class DatabaseSizeStatAdmin(CsvExportMixin, SizeColumnsMixin, FactTableAdmin):
    """Daily size of every database (partitioned by collected date)."""

    actions = ("export_csv",)
    csv_columns = DATABASE_SIZE_CSV_COLUMNS

    list_display = ("collected_date", "instance", "database_name", "size", "data_size", "log_size", "complete")
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
    """Per-database roll-ups per week/month/quarter (partitioned by period start; daily values are read from the
    daily sizes, never stored)."""

    # max, min and the sample count are on the row's page
    list_display = (
        "period_start", "period_type", "instance", "database_name", "avg_size", "size_change", "growth_rate",
        "is_complete",
    )  # fmt: skip
    list_filter = AGGREGATION_FILTERS
    search_fields = ("=database_name", "=instance__name")
    fields = (
        "instance",
        "database_name",
        "period_type",
        "period_start",
        "period_end",
        *AGGREGATION_FIGURES,
        "is_complete",
        "calculated_at",
    )
    readonly_fields = fields
    ordering = ("-period_start", "instance_id")


@admin.register(InstanceSizeAggregation)
class InstanceSizeAggregationAdmin(AggregationColumnsMixin, FactTableAdmin):
    """Per-instance roll-ups per week/month/quarter (partitioned by period start; daily values are read from the
    daily totals, never stored)."""

    list_display = (
        "period_start", "period_type", "instance", "avg_size", "size_change", "growth_rate", "database_count",
        "is_complete",
    )  # fmt: skip
    list_filter = AGGREGATION_FILTERS
    search_fields = ("=instance__name",)
    fields = (
        "instance",
        "period_type",
        "period_start",
        "period_end",
        "database_count",
        *AGGREGATION_FIGURES,
        "is_complete",
        "calculated_at",
    )
    readonly_fields = fields
    ordering = ("-period_start", "instance_id")




@admin.register(AggregationRequest)
class AggregationRequestAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """What each aggregation session was asked for (period types, inclusive day range)."""

    list_select_related = ("session",)

    list_display = ("session_id", "period_types", "start_date", "end_date")

    def scope_queryset(self, queryset, visible):
        return sessions_in_scope(queryset, visible)  # a request shows for the sessions shown
    search_fields = ("=session__session_id",)
    fields = ("session", "period_types", "start_date", "end_date")
    readonly_fields = fields
    ordering = ("-start_date",)

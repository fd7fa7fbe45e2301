"""Building blocks of the capacity admins: the fact-table base and size columns."""

from __future__ import annotations

from django.contrib import admin

from whalefall.admin_tools import BigTableAdmin, format_bytes


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


def signed_bytes(value: int | None) -> str:
    """"+1.5 GB" / "-2.0 KB"; "-" for unknown."""
    if value is None:
        return "-"
    return f"{'-' if value < 0 else '+'}{format_bytes(abs(value))}"


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
        return signed_bytes(obj.size_change_bytes)

    @admin.display(description="Change %", ordering="size_change_percent")
    def size_change_pct(self, obj) -> str:
        if obj.size_change_percent is None:
            return "-"
        return f"{obj.size_change_percent:+.2f} %"


AGGREGATION_FIGURES = (
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

"""Building blocks of the capacity admins: the fact-table base and size columns."""

from __future__ import annotations

from django.contrib import admin

from whalefall.admin_tools import BigTableAdmin, format_bytes
from whalefall.units import MINUS, rate_format, size_delta_format


class FactTableAdmin(BigTableAdmin):
    """Read-only admin for the partitioned facts (one row per instance per day/period)."""

    scope_instance_path = "instance"

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


def change_text(change_bytes, change_percent) -> str:
    """A roll-up's change against the previous period: "+66.6 MB (+3.0 %)"; "-" when unknown."""
    if change_bytes is None:
        return "-"
    percent = f" ({change_percent:+.1f} %)".replace("-", MINUS) if change_percent is not None else ""
    return size_delta_format(change_bytes) + percent


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

    list_before_template = "admin/capacity/_rollup_note.html"  # what "change" and "trend" mean

    @admin.display(description="Change vs previous period", ordering="size_change_bytes")
    def size_change(self, obj) -> str:
        return change_text(obj.size_change_bytes, obj.size_change_percent)

    @admin.display(description="Trend within period", ordering="growth_rate_bytes_per_day")
    def growth_rate(self, obj) -> str:
        return rate_format(obj.growth_rate_bytes_per_day)


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

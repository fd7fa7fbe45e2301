"""Named capacity reads (sizes in bytes).

Every read of a partitioned fact table filters its partition key with
constant dates, so PostgreSQL prunes the partitions outside the window at
plan time. "Latest sizes" read ``database_size_current`` (one row per
database), never the history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Max, QuerySet
from django.utils import timezone

from capacity.models import DatabaseSizeCurrent, DatabaseSizeStat, DatabaseTableSizeStat, InstanceSizeStat

#: window of the history endpoints when no date is given (days, ending today)
DEFAULT_HISTORY_DAYS = 30


def date_window(*, start: dt.date | None, end: dt.date | None, default_days: int = DEFAULT_HISTORY_DAYS):
    """``(start, end)`` with defaults: end = today (settings.TIME_ZONE), start = end − default_days."""
    end = end or timezone.localdate()
    start = start or end - dt.timedelta(days=default_days)
    return start, end


def database_sizes_current(*, instance_id: int) -> QuerySet[DatabaseSizeCurrent]:
    """Latest size of every database of an instance (one indexed range, O(databases))."""
    return DatabaseSizeCurrent.objects.filter(instance_id=instance_id).order_by("database_name")


def database_size_history(
    *,
    start: dt.date,
    end: dt.date,
    instance_id: int | None = None,
    database: str | None = None,
) -> QuerySet[DatabaseSizeStat]:
    """Daily database sizes with ``start <= collected_date <= end`` (pruned to those months)."""
    qs = DatabaseSizeStat.objects.filter(collected_date__gte=start, collected_date__lte=end)
    if instance_id is not None:
        qs = qs.filter(instance_id=instance_id)
    if database:
        qs = qs.filter(database_name=database)
    return qs


def instance_size_history(
    *, start: dt.date, end: dt.date, instance_id: int | None = None
) -> QuerySet[InstanceSizeStat]:
    """Daily instance totals with ``start <= collected_date <= end`` (pruned to those months)."""
    qs = InstanceSizeStat.objects.filter(collected_date__gte=start, collected_date__lte=end)
    if instance_id is not None:
        qs = qs.filter(instance_id=instance_id)
    return qs


def table_sizes_snapshot(*, instance_id: int, database: str) -> QuerySet[DatabaseTableSizeStat]:
    """Stored per-table sizes of one database, largest first."""
    return DatabaseTableSizeStat.objects.filter(instance_id=instance_id, database_name=database).order_by(
        "-size_bytes", "schema_name", "table_name"
    )


def table_sizes_collected_at(*, instance_id: int, database: str) -> dt.datetime | None:
    """When the stored snapshot of one database was taken (None: never refreshed)."""
    return table_sizes_snapshot(instance_id=instance_id, database=database).aggregate(at=Max("collected_at"))["at"]


@dataclass
class CapacityTrend:
    """Series for the instance capacity chart: ``{date: bytes}`` per series."""

    start: dt.date
    end: dt.date
    instance_total: dict[dt.date, int] = field(default_factory=dict)
    databases: dict[str, dict[dt.date, int]] = field(default_factory=dict)


def capacity_trend(*, instance_id: int, start: dt.date, end: dt.date, top: int = 5) -> CapacityTrend:
    """Instance total and the ``top`` currently largest databases over ``[start, end]``.

    Three indexed queries: current sizes (top N), instance totals in the
    window, and the top databases' daily rows in the window (unique index
    instance/database/date). Cost grows with the window, not with history
    outside it; no COUNT, no window function over history.
    """
    names = list(
        database_sizes_current(instance_id=instance_id).order_by("-size_bytes", "database_name")
        .values_list("database_name", flat=True)[:top]
    )  # fmt: skip
    trend = CapacityTrend(start=start, end=end)
    totals = instance_size_history(start=start, end=end, instance_id=instance_id).order_by("collected_date")
    trend.instance_total = dict(totals.values_list("collected_date", "total_size_bytes"))
    trend.databases = {name: {} for name in names}
    if names:
        rows = database_size_history(start=start, end=end, instance_id=instance_id).filter(database_name__in=names)
        for name, day, size in rows.order_by("collected_date").values_list(
            "database_name", "collected_date", "size_bytes"
        ):
            trend.databases[name][day] = size
    return trend

"""Named capacity reads (sizes in bytes): history, latest sizes, growth and forecasts.

Every read of a partitioned fact table filters its partition key with
constant dates, so PostgreSQL prunes the partitions outside the window at
plan time. "Latest sizes" read ``database_size_current`` (one row per
database), never the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Max, QuerySet
from django.utils import timezone

from capacity.forecast import DEFAULT_WINDOW_DAYS, STEP_FRACTION, STEP_MIN_BYTES, Forecast, Sample, size_forecast
from capacity.models import (
    DatabaseSizeCurrent,
    DatabaseSizeStat,
    DatabaseTableSizeStat,
    InstanceDatabase,
    InstanceSizeStat,
)
from instances.models import Instance
from whalefall.csv_export import CsvColumns

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


# --- growth and forecast ---------------------------------------------------------------

#: growth windows of the instance summary (days)
GROWTH_WINDOWS = (7, 30, 90)


def forecast_options() -> dict:
    """Step detection of the forecast; override with WHALEFALL["FORECAST_STEP_FRACTION"]
    and WHALEFALL["FORECAST_STEP_MIN_BYTES"]."""
    options = settings.WHALEFALL
    return {
        "step_fraction": float(options.get("FORECAST_STEP_FRACTION", STEP_FRACTION)),
        "step_min_bytes": int(options.get("FORECAST_STEP_MIN_BYTES", STEP_MIN_BYTES)),
    }


def series_forecast(
    samples: Sequence[Sample], *, today: dt.date, window_days: int, limit_bytes: int | None
) -> Forecast:
    """Forecast from the samples of the last ``window_days`` days (``today`` included)."""
    first = today - dt.timedelta(days=window_days - 1)
    recent = [s for s in samples if first <= s[0] <= today]
    return size_forecast(recent, window_days=window_days, limit_bytes=limit_bytes, **forecast_options())


@dataclass(frozen=True)
class Growth:
    """Growth over the last ``days`` days: the latest sample of ``[today - days, today]``
    minus the earliest one (``since``); None with fewer than two samples. ``percent``
    is that ÷ the earliest × 100 (None when the earliest is 0)."""

    days: int
    bytes: int | None = None
    percent: float | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def series_growth(samples: Sequence[Sample], *, days: int, today: dt.date) -> Growth:
    window = sorted(s for s in samples if today - dt.timedelta(days=days) <= s[0] <= today)
    if len(window) < 2:
        return Growth(days)
    (since, first), (until, last) = window[0], window[-1]
    percent = round((last - first) * 100 / first, 2) if first else None
    return Growth(days, last - first, percent, since, until)


@dataclass(frozen=True)
class DatabaseGrowth:
    """One database's latest size, growth and forecast."""

    instance_id: int
    instance_name: str
    database_name: str
    size_bytes: int
    growth: Growth
    size_limit_bytes: int | None
    forecast: Forecast


# Growth ranking over the window, with every sample of the fetched window for the forecasts.
# One GROUP BY over [fetch_from, today] (partition-pruned), sorted by growth, cut at LIMIT.
_TOP_GROWERS_SQL = """
SELECT g.instance_id, i.name, g.database_name, g.days, g.sizes, d.size_limit_bytes
FROM (
    SELECT s.instance_id, s.database_name,
           array_agg(s.collected_date ORDER BY s.collected_date) AS days,
           array_agg(s.size_bytes ORDER BY s.collected_date) AS sizes,
           (array_agg(s.size_bytes ORDER BY s.collected_date DESC))[1]
             - (array_agg(s.size_bytes ORDER BY s.collected_date) FILTER (WHERE s.collected_date >= %(growth_from)s))[1]
             AS growth
    FROM database_size_stats s
    WHERE s.collected_date BETWEEN %(fetch_from)s AND %(today)s{instance_filter}
    GROUP BY s.instance_id, s.database_name
    HAVING count(*) FILTER (WHERE s.collected_date >= %(growth_from)s) >= 2
) g
JOIN instances i ON i.id = g.instance_id AND i.deleted_at IS NULL{active_filter}
LEFT JOIN instance_databases d ON d.instance_id = g.instance_id AND d.name = g.database_name
WHERE g.growth > 0{limit_filter}
ORDER BY g.growth DESC, i.name, g.database_name
LIMIT %(limit)s
"""


def capacity_top_growers(
    *,
    days: int = 30,
    limit: int = 20,
    forecast_days: int = DEFAULT_WINDOW_DAYS,
    instance_id: int | None = None,
    instance_ids: list[int] | None = None,
    limited_only: bool = False,
    active_only: bool = False,
    today: dt.date | None = None,
) -> list[DatabaseGrowth]:
    """The ``limit`` databases (of instances not deleted; one instance with ``instance_id``)
    that grew most over the last ``days`` days (``Growth``; growing ones only), each with
    its forecast over ``forecast_days`` and its inventory limit; with ``limited_only``, only
    databases that have a limit; with ``active_only``, only active instances (alerts); with
    ``instance_ids`` (a team scope's), only those instances. One query."""
    today = today or timezone.localdate()
    fetch_from = today - dt.timedelta(days=max(days, forecast_days - 1))
    sql = _TOP_GROWERS_SQL.format(
        instance_filter=(" AND s.instance_id = %(instance_id)s" if instance_id else "")
        + (" AND s.instance_id = ANY(%(instance_ids)s)" if instance_ids is not None else ""),
        limit_filter=" AND d.size_limit_bytes IS NOT NULL" if limited_only else "",
        active_filter=" AND i.is_active" if active_only else "",
    )
    params = {
        "growth_from": today - dt.timedelta(days=days),
        "fetch_from": fetch_from,
        "today": today,
        "instance_id": instance_id,
        "instance_ids": instance_ids,
        "limit": limit,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = []
    for iid, instance_name, database, days_, sizes, limit_bytes in rows:
        samples = list(zip(days_, sizes, strict=True))
        result.append(
            DatabaseGrowth(
                instance_id=iid,
                instance_name=instance_name,
                database_name=database,
                size_bytes=sizes[-1],
                growth=series_growth(samples, days=days, today=today),
                size_limit_bytes=limit_bytes,
                forecast=series_forecast(samples, today=today, window_days=forecast_days, limit_bytes=limit_bytes),
            )
        )
    return result


@dataclass(frozen=True)
class CapacitySummary:
    """An instance's current total (its latest daily total, on ``as_of``), growth over
    ``GROWTH_WINDOWS``, forecast and its fastest-growing databases."""

    instance: Instance
    today: dt.date
    as_of: dt.date | None
    total_bytes: int | None
    database_count: int | None
    growth: list[Growth]
    forecast: Forecast
    top_databases: list[DatabaseGrowth]


def capacity_summary(
    *, instance: Instance, forecast_days: int = DEFAULT_WINDOW_DAYS, top: int = 5, today: dt.date | None = None
) -> CapacitySummary:
    """Summary of one instance from the last max(90, forecast_days) days of daily totals
    (one query) and the top ``top`` growers over ``forecast_days`` (one query; none with
    ``top=0``). The cost
    depends on that window, not on how much history is stored."""
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=max(max(GROWTH_WINDOWS), forecast_days - 1))
    rows = list(
        instance_size_history(start=start, end=today, instance_id=instance.pk)
        .order_by("collected_date")
        .values_list("collected_date", "total_size_bytes", "database_count")
    )
    samples = [(day, total) for day, total, _count in rows]
    latest = rows[-1] if rows else (None, None, None)
    return CapacitySummary(
        instance=instance,
        today=today,
        as_of=latest[0],
        total_bytes=latest[1],
        database_count=latest[2],
        growth=[series_growth(samples, days=days, today=today) for days in GROWTH_WINDOWS],
        forecast=series_forecast(
            samples, today=today, window_days=forecast_days, limit_bytes=instance.size_limit_bytes
        ),
        top_databases=capacity_top_growers(
            days=forecast_days, limit=top, forecast_days=forecast_days, instance_id=instance.pk, today=today
        )
        if top
        else [],
    )


@dataclass(frozen=True)
class DatabaseCapacity:
    """One database's daily sizes over ``[start, end]``, its inventory row (None when it
    was never inventoried) and its forecast."""

    instance_id: int
    database: str
    start: dt.date
    end: dt.date
    sizes: dict[dt.date, int]
    inventory: InstanceDatabase | None
    forecast: Forecast


def database_capacity(
    *, instance_id: int, database: str, start: dt.date, end: dt.date, forecast_days: int = DEFAULT_WINDOW_DAYS
) -> DatabaseCapacity:
    """Sizes of one database over the window (unique index instance/database/date) plus the
    forecast days before ``end`` that the window may not cover: two indexed queries."""
    first = min(start, end - dt.timedelta(days=forecast_days - 1))
    rows = (
        database_size_history(start=first, end=end, instance_id=instance_id, database=database)
        .order_by("collected_date")
        .values_list("collected_date", "size_bytes")
    )
    samples = list(rows)
    inventory = InstanceDatabase.objects.filter(instance_id=instance_id, name=database).first()
    limit = inventory.size_limit_bytes if inventory else None
    return DatabaseCapacity(
        instance_id=instance_id,
        database=database,
        start=start,
        end=end,
        sizes={day: size for day, size in samples if day >= start},
        inventory=inventory,
        forecast=series_forecast(samples, today=end, window_days=forecast_days, limit_bytes=limit),
    )


def capacity_soonest_limits(
    *, limit: int = 5, candidates: int = 200, today: dt.date | None = None, instance_ids: list[int] | None = None
) -> list[DatabaseGrowth]:
    """The ``limit`` databases whose forecast reaches their inventory limit soonest, among the
    ``candidates`` fastest-growing databases that have a limit (one query; a shrinking or
    flat database never reaches it)."""
    growers = capacity_top_growers(limit=candidates, limited_only=True, today=today, instance_ids=instance_ids)
    reaching = [g for g in growers if g.forecast.days_until_limit is not None]
    return sorted(reaching, key=lambda g: (g.forecast.days_until_limit, g.instance_name, g.database_name))[:limit]


#: the list's columns in a CSV export (admin "Export as CSV" and the API's ?format=csv)
DATABASE_SIZE_CSV_COLUMNS: CsvColumns = (
    ("collected_date", "collected_date"), ("instance", "instance__name"), ("database", "database_name"),
    ("size_bytes", "size_bytes"), ("data_bytes", "data_bytes"), ("log_bytes", "log_bytes"),
    ("complete", "complete"), ("collected_at", "collected_at"),
)  # fmt: skip

INSTANCE_SIZE_CSV_COLUMNS: CsvColumns = (
    ("collected_date", "collected_date"), ("instance", "instance__name"), ("total_size_bytes", "total_size_bytes"),
    ("databases", "database_count"), ("complete", "complete"), ("collected_at", "collected_at"),
)  # fmt: skip

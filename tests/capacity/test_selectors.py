"""Selectors: partition pruning (checked with EXPLAIN) and the capacity trend."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from capacity import selectors
from capacity.models import DatabaseSizeCurrent, DatabaseSizeStat, InstanceSizeStat
from capacity.partitions import add_months, month_start, partition_name
from tests.capacity.conftest import ensure_partitions, partitions_in_plan
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
HISTORY_START = TODAY - dt.timedelta(days=400)


@pytest.fixture
def history_partitions(db):
    tables = ("database_size_stats", "instance_size_stats")
    return {table: ensure_partitions(table, HISTORY_START, TODAY) for table in tables}


def scanned_partitions(queryset, table: str) -> set[str]:
    return partitions_in_plan(queryset.explain(), table)


def months(start: dt.date, end: dt.date, table: str) -> set[str]:
    names, month = set(), month_start(start)
    while month <= end:
        names.add(partition_name(table, month))
        month = add_months(month, 1)
    return names


@pytest.mark.parametrize("days", [0, 20, 75])
def test_database_history_reads_only_the_window_partitions(history_partitions, days):
    start = TODAY - dt.timedelta(days=days)
    qs = selectors.database_size_history(start=start, end=TODAY, instance_id=1, database="x")
    scanned = scanned_partitions(qs, "database_size_stats")
    assert scanned == months(start, TODAY, "database_size_stats")
    assert len(history_partitions["database_size_stats"]) > len(scanned)  # there are others to skip


def test_instance_history_reads_only_the_window_partitions(history_partitions):
    start, end = HISTORY_START, HISTORY_START + dt.timedelta(days=40)
    qs = selectors.instance_size_history(start=start, end=end)
    assert scanned_partitions(qs, "instance_size_stats") == months(start, end, "instance_size_stats")


def test_trend_reads_only_the_window_partitions(history_partitions):
    start = TODAY - dt.timedelta(days=10)
    qs = selectors.database_size_history(start=start, end=TODAY, instance_id=1).filter(database_name__in=["a", "b"])
    assert scanned_partitions(qs, "database_size_stats") == months(start, TODAY, "database_size_stats")


def test_latest_sizes_never_touch_the_history():
    plan = selectors.database_sizes_current(instance_id=1).explain()
    assert "database_size_current" in plan and "database_size_stats" not in plan


def test_capacity_trend_instance_total_and_top_databases(history_partitions):
    inst = make_instance()
    now = timezone.now()
    days = [TODAY - dt.timedelta(days=d) for d in range(5)]
    names = [f"db{i}" for i in range(8)]
    DatabaseSizeStat.objects.bulk_create(
        DatabaseSizeStat(instance=inst, database_name=n, size_bytes=(i + 1) * 100 + d.day, collected_date=d,
                         collected_at=now)
        for i, n in enumerate(names) for d in days
    )  # fmt: skip
    InstanceSizeStat.objects.bulk_create(
        InstanceSizeStat(instance=inst, total_size_bytes=1000 + d.day, database_count=8, collected_date=d,
                         collected_at=now)
        for d in days
    )  # fmt: skip
    DatabaseSizeCurrent.objects.bulk_create(
        DatabaseSizeCurrent(instance=inst, database_name=n, size_bytes=(i + 1) * 100, collected_at=now)
        for i, n in enumerate(names)
    )
    trend = selectors.capacity_trend(instance_id=inst.pk, start=TODAY - dt.timedelta(days=2), end=TODAY, top=3)
    assert list(trend.databases) == ["db7", "db6", "db5"]
    assert len(trend.instance_total) == 3 and all(len(v) == 3 for v in trend.databases.values())
    assert trend.databases["db7"][TODAY] == 800 + TODAY.day


def test_date_window_defaults():
    assert selectors.date_window(start=None, end=None) == (TODAY - dt.timedelta(days=30), TODAY)
    end = dt.date(2025, 3, 31)
    assert selectors.date_window(start=None, end=end) == (dt.date(2025, 3, 1), end)

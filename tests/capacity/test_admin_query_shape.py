"""Query shape of the admin pages over the partitioned size history (benchmarks/large_tables.py
times them over 10 M rows): every read of a fact table is pruned to the partitions of the page's
window (checked with the planner's EXPLAIN of the very SQL the page ran), and no page counts
the whole history."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from capacity.models import DatabaseSizeCurrent, DatabaseSizeStat, InstanceSizeStat
from tests.capacity.conftest import ensure_partitions, partitions_in_plan
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
FACT_TABLES = ("database_size_stats", "instance_size_stats")
HISTORY_MONTHS = 25


@pytest.fixture
def history():
    """Two instances, a few days of sizes in each of the last 25 months (25+ partitions per table)."""
    start = TODAY - dt.timedelta(days=31 * HISTORY_MONTHS)
    for table in FACT_TABLES:
        ensure_partitions(table, start, TODAY)
    instances = [make_instance(name=f"shape-{n}") for n in range(2)]
    days = [TODAY - dt.timedelta(days=d) for d in range(0, 31 * HISTORY_MONTHS, 10)]
    now = timezone.now()
    DatabaseSizeStat.objects.bulk_create(
        DatabaseSizeStat(instance=inst, database_name=f"db{n}", size_bytes=1000 + n, collected_date=day,
                         collected_at=now)
        for inst in instances for n in range(3) for day in days
    )  # fmt: skip
    InstanceSizeStat.objects.bulk_create(
        InstanceSizeStat(instance=inst, total_size_bytes=3000, database_count=3, collected_date=day, collected_at=now)
        for inst in instances for day in days
    )  # fmt: skip
    DatabaseSizeCurrent.objects.bulk_create(
        DatabaseSizeCurrent(instance=inst, database_name=f"db{n}", size_bytes=1000 + n, collected_at=now)
        for inst in instances for n in range(3)
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE database_size_stats; ANALYZE instance_size_stats")
    return instances


def partitions_read(sql: str, table: str) -> set[str]:
    """The partitions of ``table`` the planner keeps for ``sql`` (after plan-time pruning)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    return partitions_in_plan(plan, table)


def fact_queries(queries, table: str) -> list[str]:
    return [q["sql"] for q in queries if re.search(rf'"{table}"', q["sql"])]


def _months_back(name: str) -> int:
    year, month = re.search(r"_p(\d{4})(\d{2})$", name).groups()
    return (TODAY.year - int(year)) * 12 + TODAY.month - int(month)


def months_back(partitions: set[str]) -> int:
    """How many months before this one the oldest of ``partitions`` starts."""
    return max(_months_back(name) for name in partitions)


def no_future(partitions: set[str]) -> bool:
    """None of the partitions created ahead for months to come."""
    return all(_months_back(name) >= 0 for name in partitions)


def test_the_changelist_as_it_opens_reads_the_partitions_of_its_week_only(admin_client, history):
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get("/admin/capacity/databasesizestat/")
    assert response.status_code == 200 and b"shape-0" in response.content
    queries = fact_queries(captured.captured_queries, "database_size_stats")
    assert queries
    for sql in queries:
        assert '"collected_date" BETWEEN' in sql, sql  # the window, on the partition key
        read = partitions_read(sql, "database_size_stats")
        assert 1 <= len(read) <= 2 and months_back(read) <= 1 and no_future(read), (sql, read)


def test_one_instance_of_the_changelist_is_pruned_too(admin_client, history):
    url = f"/admin/capacity/databasesizestat/?instance__id__exact={history[0].pk}"
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(url)
    assert response.status_code == 200 and b"?e=1" not in response.content
    for sql in fact_queries(captured.captured_queries, "database_size_stats"):
        read = partitions_read(sql, "database_size_stats")
        assert len(read) <= 2 and no_future(read), (sql, read)


def test_all_of_the_history_is_never_counted(admin_client, history, monkeypatch):
    """'All' reads every partition for its page of rows, ordered by the index, but counts by
    the planner's estimate (or a count capped at 1,001 rows while the table is small)."""
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get("/admin/capacity/databasesizestat/?collected_date__recent=all")
    assert response.status_code == 200
    counts = [sql for sql in fact_queries(captured.captured_queries, "database_size_stats") if "COUNT(" in sql.upper()]
    for sql in counts:
        assert re.search(r"LIMIT 1001\b", sql), sql
    # past the cap, no COUNT at all: the estimate from pg_class
    monkeypatch.setattr("whalefall.admin_tools.EstimatedCountPaginator.exact_count_limit", 10)
    with CaptureQueriesContext(connection) as captured:
        assert admin_client.get("/admin/capacity/databasesizestat/?collected_date__recent=all").status_code == 200
    assert not [q for q in fact_queries(captured.captured_queries, "database_size_stats") if "COUNT(" in q.upper()]


@pytest.mark.parametrize("days", [90, 730])
def test_the_instance_capacity_page_reads_the_partitions_of_its_window_only(admin_client, history, days):
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(f"/admin/capacity/databasesizecurrent/instance/{history[0].pk}/?days={days}")
    assert response.status_code == 200
    window_months = days // 28 + 2  # the months a window of that many days can touch, plus the forecast's
    read_any = False
    for table in FACT_TABLES:
        for sql in fact_queries(captured.captured_queries, table):
            read = partitions_read(sql, table)
            read_any |= bool(read)
            assert months_back(read) <= window_months and no_future(read), (sql, sorted(read))
    assert read_any

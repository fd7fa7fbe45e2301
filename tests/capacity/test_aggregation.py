"""Aggregation against hand-computed expectations over fixed data (docs/capacity.md § Aggregation).

The data (instance A, ``today`` = Tuesday 2026-01-06 unless a test travels on):

* ``app``: 100 + 10 × (days since 2025-12-22) bytes every day from 2025-12-22, except
  2025-12-31 (a missed day), through today;
* ``late`` appears mid-period: 1000 bytes from 2026-01-02;
* ``gone`` vanishes: 500 bytes from 2025-12-22 through 2025-12-30;
* the instance totals (``instance_size_stats``) are 5000 + 100 × (days since 2025-12-22),
  deliberately *not* the sum of the databases: the instance level must read them.

Instance B has its own ``app`` (9999 bytes) in the same days: the two must not mix.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from capacity.models import (
    AggregationRequest,
    DatabaseSizeAggregation,
    DatabaseSizeStat,
    InstanceSizeAggregation,
    InstanceSizeStat,
)
from capacity.partitions import partitions_list
from capacity.services import aggregation_sql, capacity_aggregate, capacity_aggregate_all
from tests.capacity.conftest import ensure_partitions
from tests.support.factories import make_instance
from whalefall.db.locks import _namespace_key

pytestmark = pytest.mark.django_db

D = dt.date
ORIGIN = D(2025, 12, 22)
TODAY = D(2026, 1, 6)
ALL = ["weekly", "monthly", "quarterly"]


def at(day: dt.date, hour: int = 4):
    """Travel to ``day`` (local time zone) at 04:00, the schedule's hour."""
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=timezone.get_current_timezone()),
                               tick=False)  # fmt: skip


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def put_stats(inst, series: dict[str, dict[dt.date, int]]) -> None:
    every = [d for sizes in series.values() for d in sizes]
    ensure_partitions("database_size_stats", min(every), max(every))
    now = timezone.now()
    DatabaseSizeStat.objects.bulk_create(
        DatabaseSizeStat(instance=inst, database_name=name, size_bytes=size, data_bytes=size // 2,
                         collected_date=day, collected_at=now)
        for name, sizes in series.items() for day, size in sizes.items()
    )  # fmt: skip


def put_totals(inst, totals: dict[dt.date, tuple[int, int]]) -> None:
    ensure_partitions("instance_size_stats", min(totals), max(totals))
    now = timezone.now()
    InstanceSizeStat.objects.bulk_create(
        InstanceSizeStat(instance=inst, total_size_bytes=total, database_count=count, collected_date=day,
                         collected_at=now)
        for day, (total, count) in totals.items()
    )  # fmt: skip


def app_size(day: dt.date) -> int:
    return 100 + 10 * (day - ORIGIN).days


def database_count(day: dt.date) -> int:
    if day <= D(2025, 12, 30):
        return 2  # app, gone
    return 1 if day < D(2026, 1, 2) else 2  # app; then app, late


@pytest.fixture
def fixed_data(db):
    a, b = make_instance(name="agg-a"), make_instance(name="agg-b")
    put_stats(a, {
        "app": {d: app_size(d) for d in days(ORIGIN, TODAY) if d != D(2025, 12, 31)},
        "late": {d: 1000 for d in days(D(2026, 1, 2), TODAY)},
        "gone": {d: 500 for d in days(ORIGIN, D(2025, 12, 30))},
    })  # fmt: skip
    put_totals(a, {d: (5000 + 100 * (d - ORIGIN).days, database_count(d)) for d in days(ORIGIN, TODAY)})
    put_stats(b, {"app": {d: 9999 for d in days(D(2025, 12, 29), D(2026, 1, 4))}})
    put_totals(b, {d: (9999, 1) for d in days(D(2025, 12, 29), D(2026, 1, 4))})
    return a, b


def aggregate(instances, start=ORIGIN, end=TODAY, period_types=ALL):
    return capacity_aggregate(period_types=period_types, start=start, end=end, instance_ids=[i.pk for i in instances])


FIGURES = ("period_end", "avg_size_bytes", "max_size_bytes", "min_size_bytes", "sample_count", "size_change_bytes",
           "size_change_percent", "growth_rate_bytes_per_day", "is_complete")  # fmt: skip


def database_rows(inst, name: str, period_type: str) -> dict[dt.date, tuple]:
    qs = DatabaseSizeAggregation.objects.filter(instance=inst, database_name=name, period_type=period_type)
    return {r["period_start"]: tuple(r[f] for f in FIGURES) for r in qs.values("period_start", *FIGURES)}


def instance_rows(inst, period_type: str) -> dict[dt.date, tuple]:
    qs = InstanceSizeAggregation.objects.filter(instance=inst, period_type=period_type)
    return {r["period_start"]: tuple(r[f] for f in (*FIGURES, "database_count"))
            for r in qs.values("period_start", "database_count", *FIGURES)}  # fmt: skip


def pct(value: str) -> Decimal:
    return Decimal(value)


def test_iso_week_across_the_year_with_a_missed_day(fixed_data):
    a, _b = fixed_data
    with at(TODAY):
        aggregate(fixed_data)
    assert database_rows(a, "app", "weekly") == {
        # W52: offsets 0..6 -> 100..160
        D(2025, 12, 22): (D(2025, 12, 28), 130, 160, 100, 7, None, None, Decimal("10.0000"), True),
        # W01 2026 = 2025-12-29 .. 2026-01-04 without 12-31: 170,180,200,210,220,230 -> avg 201.67 -> 202
        D(2025, 12, 29): (D(2026, 1, 4), 202, 230, 170, 6, 72, pct("55.3846"), Decimal("10.0000"), True),
        # running: Mon 01-05 and today 01-06 so far
        D(2026, 1, 5): (D(2026, 1, 11), 245, 250, 240, 2, 43, pct("21.2871"), Decimal("10.0000"), False),
    }


def test_month_and_quarter_boundaries(fixed_data):
    a, _b = fixed_data
    with at(TODAY):
        aggregate(fixed_data)
    december = (D(2025, 12, 31), 140, 180, 100, 9, None, None, Decimal("10.0000"), True)  # no November row
    january = (D(2026, 1, 31), 225, 250, 200, 6, 85, pct("60.7143"), Decimal("10.0000"), False)
    assert database_rows(a, "app", "monthly") == {D(2025, 12, 1): december, D(2026, 1, 1): january}
    assert database_rows(a, "app", "quarterly") == {
        D(2025, 10, 1): (D(2025, 12, 31), *december[1:]),
        D(2026, 1, 1): (D(2026, 3, 31), *january[1:]),
    }
    # avg_data_bytes: the average of the known data sizes (half of each size here)
    row = DatabaseSizeAggregation.objects.get(instance=a, database_name="app", period_type="monthly",
                                              period_start=D(2025, 12, 1))  # fmt: skip
    assert (row.avg_data_bytes, row.avg_log_bytes) == (70, None)


def test_database_that_appears_mid_period_and_one_that_vanishes(fixed_data):
    a, _b = fixed_data
    with at(TODAY):
        aggregate(fixed_data)
    # "late" since Friday 01-02: 3 samples in W01, 5 in January; nothing before it, so no change
    assert database_rows(a, "late", "weekly")[D(2025, 12, 29)] == (
        D(2026, 1, 4), 1000, 1000, 1000, 3, None, None, Decimal("0.0000"), True
    )  # fmt: skip
    assert database_rows(a, "late", "monthly")[D(2026, 1, 1)][4:7] == (5, None, None)
    assert set(database_rows(a, "late", "monthly")) == {D(2026, 1, 1)}
    # "gone" until 12-30: two samples in W01, no row after it
    assert set(database_rows(a, "gone", "weekly")) == {D(2025, 12, 22), D(2025, 12, 29)}
    assert database_rows(a, "gone", "weekly")[D(2025, 12, 29)][1:7] == (500, 500, 500, 2, 0, pct("0.0000"))
    assert set(database_rows(a, "gone", "monthly")) == {D(2025, 12, 1)}


def test_instance_level_reads_the_daily_totals_not_the_databases(fixed_data):
    a, _b = fixed_data
    with at(TODAY):
        aggregate(fixed_data)
    weekly = instance_rows(a, "weekly")
    # 5000 + 100 × offset; W01 = offsets 7..13 (the totals have no missed day)
    assert weekly[D(2025, 12, 29)] == (D(2026, 1, 4), 6000, 6300, 5700, 7, 700, pct("13.2075"),
                                       Decimal("100.0000"), True, 2)  # fmt: skip
    assert weekly[D(2025, 12, 22)][-1] == 2 and weekly[D(2025, 12, 22)][5] is None
    monthly = instance_rows(a, "monthly")
    # December: offsets 0..9, database count of its last day (12-31: one database)
    assert monthly[D(2025, 12, 1)] == (D(2025, 12, 31), 5450, 5900, 5000, 10, None, None, Decimal("100.0000"),
                                       True, 1)  # fmt: skip


def test_two_instances_never_mix(fixed_data):
    a, b = fixed_data
    with at(TODAY):
        aggregate(fixed_data)
    assert database_rows(b, "app", "weekly") == {
        D(2025, 12, 29): (D(2026, 1, 4), 9999, 9999, 9999, 7, None, None, Decimal("0.0000"), True)
    }
    assert instance_rows(b, "monthly")[D(2025, 12, 1)][1:5] == (9999, 9999, 9999, 3)
    assert database_rows(a, "app", "weekly")[D(2025, 12, 29)][1] == 202
    # aggregating only B leaves A's rows alone
    before = list(DatabaseSizeAggregation.objects.filter(instance=a).values_list("id", "calculated_at"))
    with at(TODAY, hour=5):  # a rewrite would change calculated_at
        aggregate([b])
    assert list(DatabaseSizeAggregation.objects.filter(instance=a).values_list("id", "calculated_at")) == before


def test_rerun_is_idempotent_same_rows_same_values(fixed_data):
    with at(TODAY):
        first = aggregate(fixed_data)
        snapshot = {
            model: sorted(model.objects.values_list("id", "period_type", "period_start", "avg_size_bytes",
                                                    "size_change_percent", "is_complete"))
            for model in (DatabaseSizeAggregation, InstanceSizeAggregation)
        }  # fmt: skip
        second = aggregate(fixed_data)
    # the second run computes the same rows and finds nothing to write
    assert second.total("computed") == first.total("computed") == first.total("created") > 0
    assert (second.total("created"), second.total("updated"), second.total("deleted")) == (0, 0, 0)
    for model, rows in snapshot.items():
        assert sorted(model.objects.values_list("id", "period_type", "period_start", "avg_size_bytes",
                                                "size_change_percent", "is_complete")) == rows  # fmt: skip


def test_running_period_is_partial_then_complete_after_it_ends(fixed_data):
    a, _b = fixed_data
    with at(TODAY):
        capacity_aggregate(period_types=["weekly"], start=D(2025, 12, 29), end=TODAY, instance_ids=[a.pk])
    assert database_rows(a, "app", "weekly")[D(2026, 1, 5)][4:] == (2, 43, pct("21.2871"), Decimal("10.0000"), False)
    # the rest of the week is collected; the next Monday's run (default window) finalizes it
    put_stats(a, {"app": {d: app_size(d) for d in days(D(2026, 1, 7), D(2026, 1, 12))}})
    put_totals(a, {d: (0, 1) for d in days(D(2026, 1, 7), D(2026, 1, 12))})
    with at(D(2026, 1, 12)):
        session = capacity_aggregate_all(period_types=["weekly"], instance_ids=[a.pk])
    assert session.status == "completed"
    week = database_rows(a, "app", "weekly")
    # offsets 14..20 -> 240..300, avg 270; change vs W01's stored 202
    assert week[D(2026, 1, 5)] == (D(2026, 1, 11), 270, 300, 240, 7, 68, pct("33.6634"), Decimal("10.0000"), True)
    assert week[D(2026, 1, 12)][4] == 1 and week[D(2026, 1, 12)][-1] is False  # the new running week


def test_the_nightly_window_recomputes_its_periods_exactly_as_a_backfill_does(fixed_data):
    """The nightly run reads the running quarter whole but gives a week only to the days of the
    weeks it writes (the quarter's other days stay one segment per month): its rows are
    those a backfill of every period computes."""
    a, _b = fixed_data
    with at(TODAY):
        aggregate(fixed_data)
        backfilled = {t: (database_rows(a, "app", t), instance_rows(a, t)) for t in ALL}
        # the nightly periods on Tuesday 2026-01-06: W02 (01-05), January, Q1
        DatabaseSizeAggregation.objects.filter(period_start__gte=D(2026, 1, 1)).delete()
        InstanceSizeAggregation.objects.filter(period_start__gte=D(2026, 1, 1)).delete()
        result = aggregate(fixed_data, start=TODAY - dt.timedelta(days=1), end=TODAY)
        assert {t: (database_rows(a, "app", t), instance_rows(a, t)) for t in ALL} == backfilled
    assert result.counts["database"]["weekly"].computed == 2  # W02: app and late (A), nothing for B
    # a range that ends mid-quarter writes its weeks only, though it reads the quarter's later days
    DatabaseSizeAggregation.objects.all().delete()
    with at(TODAY):
        aggregate(fixed_data, start=D(2025, 12, 29), end=D(2025, 12, 30))
    assert set(database_rows(a, "app", "weekly")) == {D(2025, 12, 29)}
    assert database_rows(a, "app", "quarterly") == {D(2025, 10, 1): backfilled["quarterly"][0][D(2025, 10, 1)]}


def test_the_period_before_the_first_one_computed_is_its_stored_row(fixed_data):
    a, _b = fixed_data
    with at(TODAY):
        # W02 alone, W01 never stored: no predecessor row, no change (not 0)
        capacity_aggregate(period_types=["weekly"], start=TODAY, end=TODAY, instance_ids=[a.pk])
        assert database_rows(a, "app", "weekly")[D(2026, 1, 5)][5:7] == (None, None)
        # W01 stored (by a backfill of its own): the next run of W02 compares with its stored average
        capacity_aggregate(period_types=["weekly"], start=D(2026, 1, 1), end=D(2026, 1, 1), instance_ids=[a.pk])
        DatabaseSizeAggregation.objects.filter(instance=a, database_name="app", period_start=D(2025, 12, 29)).update(
            avg_size_bytes=200
        )  # the stored row is what the change is measured against, whatever the samples say now
        result = capacity_aggregate(period_types=["weekly"], start=TODAY, end=TODAY, instance_ids=[a.pk])
    assert database_rows(a, "app", "weekly")[D(2026, 1, 5)][5:7] == (45, pct("22.5000"))
    assert result.counts["database"]["weekly"] == (2, 0, 2, 0)  # app and late rewritten, nothing else


def test_change_is_null_when_the_preceding_average_is_zero(db):
    inst = make_instance()
    put_stats(inst, {"fresh": {D(2025, 12, 30): 0, D(2025, 12, 31): 0, D(2026, 1, 1): 400, D(2026, 1, 2): 600}})
    put_totals(inst, {D(2025, 12, 31): (0, 1), D(2026, 1, 1): (400, 1)})
    with at(TODAY):
        capacity_aggregate(period_types=["monthly"], start=D(2025, 12, 30), end=D(2026, 1, 2))
    assert database_rows(inst, "fresh", "monthly")[D(2026, 1, 1)][1:7] == (500, 600, 400, 2, None, None)
    assert instance_rows(inst, "monthly")[D(2026, 1, 1)][5:7] == (None, None)


def test_rows_whose_samples_are_gone_are_removed(fixed_data):
    a, _b = fixed_data
    with at(TODAY):
        aggregate(fixed_data)
        # collection re-runs found "late" gone and deleted its rows of this week (capacity_apply)
        DatabaseSizeStat.objects.filter(instance=a, database_name="late", collected_date__gte=D(2026, 1, 5)).delete()
        result = capacity_aggregate(period_types=["weekly", "monthly"], start=TODAY, end=TODAY, instance_ids=[a.pk])
    assert D(2026, 1, 5) not in database_rows(a, "late", "weekly")
    assert database_rows(a, "late", "monthly")[D(2026, 1, 1)][4] == 3  # 01-02 .. 01-04
    assert result.counts["database"]["weekly"].deleted == 1 and result.counts["database"]["monthly"].updated == 1
    assert result.total("written") == 2


def test_backfill_creates_the_missing_past_partitions(db):
    inst = make_instance()
    put_stats(inst, {"app": {d: 1000 + d.day for d in days(D(2025, 3, 1), D(2025, 5, 31))}})
    put_totals(inst, {d: (1000 + d.day, 1) for d in days(D(2025, 3, 1), D(2025, 5, 31))})
    months = {D(2025, 3, 1), D(2025, 4, 1), D(2025, 5, 1)}
    for table in ("database_size_aggregations", "instance_size_aggregations"):
        assert not months & {p.start for p in partitions_list(table=table)}
    with at(TODAY):
        result = capacity_aggregate(period_types=ALL, start=D(2025, 3, 1), end=D(2025, 5, 31))
    for table in ("database_size_aggregations", "instance_size_aggregations"):
        assert months <= {p.start for p in partitions_list(table=table)}
    # 92 days, 14 ISO weeks touching the range (2025-02-24 .. 2025-05-26), 3 months, 2 quarters
    assert {p: c.created for p, c in result.counts["database"].items()} == {"weekly": 14, "monthly": 3, "quarterly": 2}
    march = database_rows(inst, "app", "monthly")[D(2025, 3, 1)]
    assert march[1:5] == (1016, 1031, 1001, 31) and march[-1] is True
    # April: 1001..1030, avg 1015.5 rounded half away from zero to 1016, the same as March's
    april = database_rows(inst, "app", "monthly")[D(2025, 4, 1)]
    assert april[1] == 1016 and april[5:7] == (0, pct("0.0000"))


# --- the batch: one session, one record per instance ---------------------------------------


def test_batch_records_each_instance_and_one_failure_does_not_stop_the_others(fixed_data):
    a, b = fixed_data
    other = connection.copy()  # a second server session aggregates B right now
    key = [_namespace_key("capacity.aggregate"), b.pk]
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", key)
        with at(TODAY):
            session = capacity_aggregate_all()
    finally:
        other.close()
    assert (session.sync_category, session.sync_type, session.status) == ("aggregation", "manual_batch", "failed")
    assert (session.successful_instances, session.failed_instances) == (1, 1)
    records = {r.instance_name: r for r in session.records.all()}
    assert records["agg-b"].status == "failed" and records["agg-b"].error_code == "concurrent_operation"
    assert not DatabaseSizeAggregation.objects.filter(instance=b).exists()
    done = records["agg-a"]
    assert done.status == "completed"
    # default window: yesterday (01-05) and today; every period containing them
    assert done.sync_details["date_from"] == "2026-01-05" and done.sync_details["date_to"] == "2026-01-06"
    # database level: W02, January, Q1, each for app and late (6 rows; instance: 3); nothing daily
    assert done.sync_details["database"]["weekly"] == {"computed": 2, "created": 2, "updated": 0, "deleted": 0}
    assert done.sync_details["instance"]["quarterly"] == {"computed": 1, "created": 1, "updated": 0, "deleted": 0}
    assert (done.items_synced, done.items_created, done.sync_details["rows_written"]) == (6 + 3, 6 + 3, 9)
    request = AggregationRequest.objects.get(session=session)
    assert (request.period_types, request.start_date, request.end_date) == (ALL, D(2026, 1, 5), TODAY)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_batch_outside_a_transaction_commits_each_instance_and_leaves_the_connection_as_it_was():
    """As the command runs it (no outer transaction): each record's aggregation transaction
    takes its lock and settings in one statement and commits (asynchronously: the record's
    synchronous finish follows it in the WAL); nothing stays set on the connection."""
    inst = make_instance(name="agg-tx")
    put_stats(inst, {"app": {d: app_size(d) for d in days(ORIGIN, TODAY)}})
    put_totals(inst, {d: (5000, 1) for d in days(ORIGIN, TODAY)})
    assert not connection.in_atomic_block
    with at(TODAY):
        session = capacity_aggregate_all(instance_ids=[inst.pk])
    assert session.status == "completed" and session.records.get().items_created > 0
    assert database_rows(inst, "app", "weekly")[D(2026, 1, 5)][1] == 245  # the running week: 240, 250
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit'), current_setting('work_mem'), "
                       "pg_try_advisory_lock(%s, %s)", [_namespace_key("capacity.aggregate"), inst.pk])  # fmt: skip
        sync, work_mem, lockable = cursor.fetchone()
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_namespace_key("capacity.aggregate"), inst.pk])
    assert (sync, lockable) == ("on", True) and work_mem != "64MB"


def test_an_instance_level_failure_rolls_back_that_instances_database_rows(fixed_data, monkeypatch):
    a, _b = fixed_data
    monkeypatch.setitem(aggregation_sql._LEVEL_SQL["instance"], "source", "no_such_table")
    with at(TODAY):
        session = capacity_aggregate_all(instance_ids=[a.pk])
    record = session.records.get()
    assert session.sync_type == "manual_single" and record.status == "failed"
    assert "no_such_table" in record.error_message
    # the database level ran first in the same transaction: rolled back with it, never half written
    assert not DatabaseSizeAggregation.objects.filter(instance=a).exists()


def test_statements_do_not_grow_with_the_number_of_databases(db):
    from django.test.utils import CaptureQueriesContext

    small, big = make_instance(), make_instance()
    span = days(D(2025, 12, 1), TODAY)
    put_stats(small, {f"db{i}": {d: i for d in span} for i in range(2)})
    put_stats(big, {f"db{i}": {d: i for d in span} for i in range(60)})
    put_totals(small, {d: (1, 2) for d in span})
    put_totals(big, {d: (1, 60) for d in span})
    counts = []
    with at(TODAY):
        aggregate([small], start=span[0])  # creates the partitions
        for inst in (small, big):
            with CaptureQueriesContext(connection) as ctx:
                aggregate([inst], start=span[0])
            counts.append(len(ctx.captured_queries))
    # 2 partition listings, the work_mem setting and one statement per level (+ savepoint), whatever the row count
    assert counts[0] == counts[1] <= 7
    assert DatabaseSizeAggregation.objects.filter(instance=big, period_type="monthly").count() == 60 * 2


def test_enqueued_batch_workers_read_the_stored_request(fixed_data, django_capture_on_commit_callbacks):
    a, _b = fixed_data
    with at(TODAY), django_capture_on_commit_callbacks(execute=True):  # Q_CLUSTER sync: tasks run on commit
        session = capacity_aggregate_all(
            period_types=["monthly"], start=D(2025, 12, 1), end=D(2025, 12, 31), instance_ids=[a.pk], enqueue=True
        )
    session.refresh_from_db()
    assert session.status == "completed"
    assert set(DatabaseSizeAggregation.objects.filter(instance=a).values_list("period_type", "period_start")) == {
        ("monthly", D(2025, 12, 1))
    }


def test_a_session_without_a_request_fails_loudly(fixed_data):
    from capacity.services import AGGREGATION_UNIT
    from sync_sessions.runner import batch_start

    a, _b = fixed_data
    session = batch_start(unit=AGGREGATION_UNIT, sync_category="aggregation", instance_ids=[a.pk])
    record = session.records.get()
    assert record.status == "failed" and record.error_code == "not_found" and "no aggregation request" in (
        record.error_message
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": D(2026, 1, 6), "end": D(2026, 1, 5)}, "date_from"),
        ({"start": D(2026, 1, 6), "end": D(2026, 1, 7)}, "date_to"),  # the future
        ({"start": D(2023, 12, 31), "end": D(2024, 1, 5)}, "date_from"),  # before the 24-month retention
        ({"start": D(2026, 1, 1), "end": None}, "date_from"),  # one end only
        ({"period_types": ["yearly"]}, "period_types"),
    ],
)
def test_bad_requests_are_validation_errors(db, kwargs, field):
    from django.core.exceptions import ValidationError

    with at(TODAY), pytest.raises(ValidationError) as excinfo:
        capacity_aggregate_all(**kwargs)
    assert field in excinfo.value.message_dict


def test_a_request_stored_before_daily_was_read_runs_its_other_types(fixed_data):
    """A record queued by an earlier release may find a request naming daily: the other types run."""
    from capacity.services import AGGREGATION_UNIT
    from sync_sessions.runner import record_execute
    from sync_sessions.services import session_create

    a, b = fixed_data
    for table in ("database_size_aggregations", "instance_size_aggregations"):  # as the batch's start made them
        ensure_partitions(table, TODAY, TODAY)
    session = session_create(sync_type="manual_batch", sync_category="aggregation", instances=[a, b],
                             unit=AGGREGATION_UNIT)  # fmt: skip
    AggregationRequest.objects.create(session=session, period_types=["daily", "monthly"], start_date=TODAY,
                                      end_date=TODAY)  # fmt: skip
    with at(TODAY):
        records = [record_execute(record_id=r.pk) for r in session.records.order_by("instance_name")]
    assert [r.status for r in records] == ["completed", "completed"]
    assert records[0].sync_details["period_types"] == ["monthly"] and "daily" not in records[0].sync_details["database"]
    assert set(DatabaseSizeAggregation.objects.values_list("period_type", flat=True)) == {"monthly"}

    only_daily = session_create(sync_type="manual_single", sync_category="aggregation", instances=[a],
                                unit=AGGREGATION_UNIT)  # fmt: skip
    AggregationRequest.objects.create(session=only_daily, period_types=["daily"], start_date=TODAY, end_date=TODAY)
    record = record_execute(record_id=only_daily.records.get().pk)
    assert record.status == "completed" and "read from the daily sizes" in record.sync_details["note"]

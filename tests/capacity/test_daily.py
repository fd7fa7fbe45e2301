"""Daily roll-ups are read from the daily sizes, never stored (issue 25; docs/capacity.md § Aggregation):
their semantics on real rows, the API, CSV and admin tab that read them, partition pruning and
query counts, and that no aggregation path ever stores a daily row.

The data (``today`` = Tuesday 2026-01-06):

* ``app`` on instance A: 1000, 1100 on 01-01 and 01-02, no sample on 01-03, then 1300, 1260 and
  (today) 1290; data = half the size, log only on 01-05;
* ``fresh`` on instance A: 0 on 01-04, then 400, 400;
* A's totals: 5000, 5100, none on 01-03, 5300, 5260, 5290;
* instance B has its own ``app`` (7 bytes a day): it must never be the "day before" of A's.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from capacity import selectors
from capacity.models import DatabaseSizeAggregation, DatabaseSizeStat, InstanceSizeAggregation, InstanceSizeStat
from capacity.services import capacity_aggregate, capacity_aggregate_all
from sync_sessions.models import SyncSession
from tests.capacity.conftest import ensure_partitions, partitions_in_plan
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2026, 1, 6)
APP = {D(2026, 1, 1): 1000, D(2026, 1, 2): 1100, D(2026, 1, 4): 1300, D(2026, 1, 5): 1260, TODAY: 1290}
FRESH = {D(2026, 1, 4): 0, D(2026, 1, 5): 400, TODAY: 400}
TOTALS = {day: size + 4000 for day, size in APP.items()}
FIGURES = (
    "period_type", "period_start", "period_end", "avg_size_bytes", "max_size_bytes", "min_size_bytes", "sample_count",
    "size_change_bytes", "size_change_percent", "growth_rate_bytes_per_day", "is_complete",
)  # fmt: skip


def at(day: dt.date, hour: int = 12):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=timezone.get_current_timezone()),
                               tick=False)  # fmt: skip


@pytest.fixture
def daily_data(db):
    a, b = make_instance(name="daily-a"), make_instance(name="daily-b")
    for table in ("database_size_stats", "instance_size_stats", "database_size_aggregations",
                  "instance_size_aggregations"):  # fmt: skip
        ensure_partitions(table, D(2025, 10, 1), D(2026, 3, 31))
    now = timezone.now()
    rows = [DatabaseSizeStat(instance=a, database_name="app", size_bytes=size, data_bytes=size // 2,
                             log_bytes=7 if day == D(2026, 1, 5) else None, collected_date=day, collected_at=now)
            for day, size in APP.items()]  # fmt: skip
    rows += [DatabaseSizeStat(instance=a, database_name="fresh", size_bytes=size, collected_date=day, collected_at=now)
             for day, size in FRESH.items()]  # fmt: skip
    rows += [DatabaseSizeStat(instance=b, database_name="app", size_bytes=7, collected_date=D(2026, 1, 3),
                              collected_at=now)]  # fmt: skip
    DatabaseSizeStat.objects.bulk_create(rows)
    InstanceSizeStat.objects.bulk_create(
        InstanceSizeStat(instance=a, total_size_bytes=total, database_count=2, collected_date=day, collected_at=now)
        for day, total in TOTALS.items()
    )
    return a, b


def figures(qs) -> dict[dt.date, tuple]:
    return {row["period_start"]: tuple(row[f] for f in FIGURES) for row in qs.values(*FIGURES)}


def daily(day, size, change, percent, complete=True):
    return ("daily", day, day, size, size, size, 1, change, None if percent is None else Decimal(percent), None,
            complete)  # fmt: skip


def test_database_daily_values_missing_day_zero_day_and_today(daily_data):
    a, _b = daily_data
    with at(TODAY):
        app = figures(selectors.database_size_daily(start=D(2026, 1, 1), end=TODAY, instance_id=a.pk, database="app"))
        fresh = figures(selectors.database_size_daily(start=D(2026, 1, 1), end=TODAY, instance_id=a.pk,
                                                      database="fresh"))  # fmt: skip
    assert app == {
        D(2026, 1, 1): daily(D(2026, 1, 1), 1000, None, None),  # 12-31 has no sample: unknown, not 0
        D(2026, 1, 2): daily(D(2026, 1, 2), 1100, 100, "10.0000"),
        # 01-03 has no sample: no row for it (a missed day is not a zero), and 01-04 has no change
        D(2026, 1, 4): daily(D(2026, 1, 4), 1300, None, None),
        D(2026, 1, 5): daily(D(2026, 1, 5), 1260, -40, "-3.0769"),
        TODAY: daily(TODAY, 1290, 30, "2.3810", complete=False),  # today is still running
    }
    # the day before was 0: no ratio, and (as for a stored period whose predecessor averaged 0) no change
    assert fresh[D(2026, 1, 5)][7:9] == (None, None)
    assert fresh[TODAY][7:9] == (0, Decimal("0.0000"))


def test_daily_rows_carry_the_stored_periods_other_fields(daily_data):
    a, _b = daily_data
    with at(TODAY):
        row = selectors.database_size_daily(start=D(2026, 1, 5), end=D(2026, 1, 5), instance_id=a.pk,
                                            database="app").get()  # fmt: skip
        stat = DatabaseSizeStat.objects.get(instance=a, database_name="app", collected_date=D(2026, 1, 5))
    assert (row.id, row.avg_data_bytes, row.avg_log_bytes, row.calculated_at) == (stat.id, 630, 7, stat.collected_at)


def test_the_day_before_may_lie_outside_the_window_but_never_in_another_series(daily_data):
    a, b = daily_data
    with at(TODAY):
        # 01-02 alone: its day before (01-01) is outside the window and still counts
        only = figures(selectors.database_size_daily(start=D(2026, 1, 2), end=D(2026, 1, 2), instance_id=a.pk))
        # B's app has a sample on 01-03, A's has none: A's 01-04 must not compare with B's
        everything = selectors.database_size_daily(start=D(2026, 1, 3), end=D(2026, 1, 4))
    assert only[D(2026, 1, 2)][7] == 100
    assert {(r.instance_id, r.database_name, r.period_start): r.size_change_bytes for r in everything} == {
        (b.pk, "app", D(2026, 1, 3)): None, (a.pk, "app", D(2026, 1, 4)): None, (a.pk, "fresh", D(2026, 1, 4)): None
    }  # fmt: skip


def test_instance_daily_values_read_the_daily_totals(daily_data):
    a, _b = daily_data
    with at(TODAY):
        rows = figures(selectors.instance_size_daily(start=D(2026, 1, 1), end=TODAY, instance_id=a.pk))
        counts = set(selectors.instance_size_daily(start=D(2026, 1, 1), end=TODAY).values_list("database_count",
                                                                                               flat=True))  # fmt: skip
    assert rows[D(2026, 1, 2)] == daily(D(2026, 1, 2), 5100, 100, "2.0000")
    assert rows[D(2026, 1, 4)][7:9] == (None, None) and rows[TODAY][-1] is False
    assert counts == {2}


# --- the API, its CSV and the admin tab ---------------------------------------------------------


def test_api_daily_has_the_stored_periods_shape_filters_and_cursor(api_client, daily_data):
    a, _b = daily_data
    url = "/api/v1/capacity/database-aggregations/"
    with at(TODAY):
        capacity_aggregate(period_types=["weekly"], start=D(2026, 1, 1), end=TODAY, instance_ids=[a.pk])
        weekly = api_client.get(url, {"instance": a.pk, "period_type": "weekly", "database": "app"}).json()
        first = api_client.get(url, {"instance": a.pk, "period_type": "daily", "database": "app", "page_size": 2})
        body = first.json()
        seen = list(body["results"])
        while body["next"]:
            body = api_client.get(body["next"]).json()
            seen += body["results"]
        running = api_client.get(url, {"instance": a.pk, "period_type": "daily", "is_complete": "false"}).json()
        window = api_client.get(url, {"instance": a.pk, "period_type": "daily", "database": "app",
                                      "date_from": "2026-01-02", "date_to": "2026-01-04"}).json()  # fmt: skip
        bad = api_client.get(url, {"period_type": "daily", "is_complete": "maybe"})
        inverted = api_client.get(url, {"period_type": "daily", "date_from": "2026-01-05", "date_to": "2026-01-01"})
    assert first.status_code == 200 and "count" not in first.json()
    stored = weekly["results"][0]
    assert set(seen[0]) == set(stored)  # the same fields as a stored period
    assert {k: type(v) for k, v in seen[1].items() if v is not None} == {
        k: type(v) for k, v in stored.items() if v is not None and k != "growth_rate_bytes_per_day"
    }  # the same types (a daily row has no growth rate)
    assert [r["period_start"] for r in seen] == ["2026-01-06", "2026-01-05", "2026-01-04", "2026-01-02", "2026-01-01"]
    assert seen[1] | {"calculated_at": None} == {
        "id": DatabaseSizeStat.objects.get(instance=a, database_name="app", collected_date=D(2026, 1, 5)).id,
        "instance": a.pk, "database_name": "app", "period_type": "daily", "period_start": "2026-01-05",
        "period_end": "2026-01-05", "avg_size_bytes": 1260, "avg_size_mb": 0.0, "max_size_bytes": 1260,
        "min_size_bytes": 1260, "avg_data_bytes": 630, "avg_log_bytes": 7, "sample_count": 1,
        "size_change_bytes": -40, "size_change_percent": -3.0769, "growth_rate_bytes_per_day": None,
        "is_complete": True, "calculated_at": None,
    }  # fmt: skip
    running_rows = {(r["database_name"], r["period_start"]) for r in running["results"]}
    assert running_rows == {("app", "2026-01-06"), ("fresh", "2026-01-06")}
    assert [r["period_start"] for r in window["results"]] == ["2026-01-04", "2026-01-02"]
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    assert (inverted.status_code, inverted.json()["results"]) == (200, [])  # an empty range, as for stored periods


def test_api_instance_daily_and_the_default_is_the_stored_periods(api_client, daily_data):
    a, _b = daily_data
    url = "/api/v1/capacity/instance-aggregations/"
    with at(TODAY):
        capacity_aggregate(period_types=["monthly"], start=D(2026, 1, 1), end=TODAY, instance_ids=[a.pk])
        days = api_client.get(url, {"instance": a.pk, "period_type": "daily"}).json()["results"]
        default = api_client.get(url, {"instance": a.pk}).json()["results"]
    got = [(r["period_start"], r["avg_size_bytes"], r["size_change_bytes"], r["database_count"]) for r in days]
    assert got[:3] == [("2026-01-06", 5290, 30, 2), ("2026-01-05", 5260, -40, 2), ("2026-01-04", 5300, None, 2)]
    assert "database_name" not in days[0] and "avg_data_bytes" not in days[0]
    assert [(r["period_type"], r["period_start"]) for r in default] == [("monthly", "2026-01-01")]


def test_api_daily_csv_streams_the_same_columns_as_the_stored_periods(api_client, daily_data):
    a, _b = daily_data
    url = "/api/v1/capacity/database-aggregations/"
    with at(TODAY):
        capacity_aggregate(period_types=["weekly"], start=D(2026, 1, 1), end=TODAY, instance_ids=[a.pk])
        daily_csv = api_client.get(url, {"format": "csv", "period_type": "daily", "instance": a.pk, "database": "app"})
        weekly_csv = api_client.get(url, {"format": "csv", "period_type": "weekly", "instance": a.pk})
    daily_lines = b"".join(daily_csv.streaming_content).decode().splitlines()
    weekly_lines = b"".join(weekly_csv.streaming_content).decode().splitlines()
    assert daily_csv["Content-Type"] == "text/csv; charset=utf-8" and daily_lines[0] == weekly_lines[0]
    assert daily_lines[0].startswith("period_type,period_start,period_end,instance,database,avg_size_bytes")
    assert len(daily_lines) == 1 + len(APP)
    assert daily_lines[2].startswith("daily,2026-01-05,2026-01-05,daily-a,app,1260,1260,1260,630,7,1,-40,-3.0769,,True")


def _api_queries(api_client, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api_client.get("/api/v1/capacity/database-aggregations/", {"period_type": "daily", **params})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_api_daily_page_is_one_query_whatever_the_page_size(api_client, daily_data):
    a, _b = daily_data
    many = make_instance(name="daily-many")
    ensure_partitions("database_size_stats", D(2025, 12, 1), TODAY)
    now = timezone.now()
    DatabaseSizeStat.objects.bulk_create(
        DatabaseSizeStat(instance=many, database_name=f"db{i}", size_bytes=i + n,
                         collected_date=TODAY - dt.timedelta(n), collected_at=now)
        for i in range(40) for n in range(20)
    )  # fmt: skip
    with at(TODAY):
        small = _api_queries(api_client, instance=a.pk, page_size=2)
        large = _api_queries(api_client, instance=many.pk, page_size=500)
    assert small == large == 1  # the page with each row's day before, in one statement (no N+1)


def test_admin_daily_tab_reads_the_daily_sizes_in_a_bounded_number_of_queries(admin_client_logged_in, daily_data):
    a, _b = daily_data
    url = reverse("admin:capacity_instance_capacity", args=[a.pk])
    database_url = reverse("admin:capacity_database_capacity", args=[a.pk, "app"])
    with at(TODAY):
        response = admin_client_logged_in.get(url, {"period": "daily", "days": 30})
        with CaptureQueriesContext(connection) as ctx:
            admin_client_logged_in.get(url, {"period": "daily", "days": 30})
        with CaptureQueriesContext(connection) as weekly_ctx:
            admin_client_logged_in.get(url, {"period": "weekly", "days": 30})
        page = admin_client_logged_in.get(database_url, {"period": "daily"})
    rows = response.context["aggregations"]
    assert [(r.period_start, r.avg_size_bytes, r.size_change_bytes) for r in rows][:2] == [
        (TODAY, 5290, 30), (D(2026, 1, 5), 5260, -40)
    ]  # fmt: skip
    assert "instancesizestat" in response.context["aggregations_url"]  # "browse all rows": the daily totals
    assert len(ctx.captured_queries) == len(weekly_ctx.captured_queries)  # the daily tab costs what a stored tab does
    assert [r.size_change_bytes for r in page.context["aggregations"]] == [30, -40, None, 100, None]
    assert "databasesizestat" in page.context["aggregations_url"]
    assert "No daily sizes" not in page.content.decode()


def test_daily_read_is_pruned_to_the_window_partitions(daily_data):
    ensure_partitions("database_size_stats", D(2025, 1, 1), D(2026, 12, 31))
    with at(TODAY):
        plan = selectors.database_size_daily(start=D(2026, 2, 3), end=D(2026, 2, 20), instance_id=1).order_by(
            "-period_start", "-id"
        )[:100].explain()
    # the rows of the window and the day-before probes (02-02 .. 02-19): February only
    assert partitions_in_plan(plan, "database_size_stats") == {"database_size_stats_p202602"}
    with at(TODAY):
        plan = selectors.database_size_daily(start=D(2026, 3, 1), end=D(2026, 3, 2)).explain()
    assert partitions_in_plan(plan, "database_size_stats") == {"database_size_stats_p202602",
                                                               "database_size_stats_p202603"}  # fmt: skip


# --- never stored ---------------------------------------------------------------------------------


def test_no_aggregation_path_stores_a_daily_row(api_client, admin_client_logged_in, daily_data,
                                                django_capture_on_commit_callbacks):  # fmt: skip
    from capacity.tasks import capacity_aggregate_scheduled

    a, _b = daily_data
    with at(TODAY), django_capture_on_commit_callbacks(execute=True):
        capacity_aggregate(period_types=["weekly", "monthly", "quarterly"], start=D(2026, 1, 1), end=TODAY)
        capacity_aggregate_all()
        call_command("aggregate_capacity", "--from", "2026-01-01", "--to", "2026-01-06", stdout=io.StringIO())
        capacity_aggregate_scheduled()
        api_client.post("/api/v1/capacity/actions/aggregate", {"period": "all"}, format="json")
        admin_client_logged_in.post(reverse("admin:capacity_instance_aggregate", args=[a.pk]))
    assert SyncSession.objects.filter(sync_category="aggregation", status="completed").count() == 5
    for model in (DatabaseSizeAggregation, InstanceSizeAggregation):
        assert model.objects.exists() and not model.objects.filter(period_type="daily").exists()
    # and the table refuses one
    with pytest.raises(IntegrityError), transaction.atomic():
        DatabaseSizeAggregation.objects.create(instance=a, database_name="app", period_type="daily",
                                               period_start=TODAY, period_end=TODAY, avg_size_bytes=1,
                                               max_size_bytes=1, min_size_bytes=1, sample_count=1)  # fmt: skip


def test_asking_to_aggregate_daily_says_it_is_read_and_starts_nothing(api_client, daily_data):
    from django.core.exceptions import ValidationError

    out = io.StringIO()
    with at(TODAY):
        call_command("aggregate_capacity", "--period", "daily", stdout=out)  # exit 0: nothing to do is no error
        response = api_client.post("/api/v1/capacity/actions/aggregate", {"period": "daily"}, format="json")
        with pytest.raises(ValidationError) as excinfo:
            capacity_aggregate(period_types=["daily", "weekly"], start=TODAY, end=TODAY)
    assert "read from the daily sizes" in out.getvalue()
    assert response.status_code == 400 and "read from the daily sizes" in str(response.json()["errors"]["period"])
    assert "read from the daily sizes" in str(excinfo.value)
    assert not SyncSession.objects.exists()


def test_an_unchanged_rerun_writes_nothing_and_its_records_say_so(daily_data):
    a, _b = daily_data
    with at(TODAY):
        first = capacity_aggregate_all(start=D(2026, 1, 1), end=TODAY, instance_ids=[a.pk])
        stored = sorted(
            DatabaseSizeAggregation.objects.values_list("id", "period_type", "period_start", "calculated_at")
        )
    with at(TODAY, hour=13):  # a rewrite would show in calculated_at
        second = capacity_aggregate_all(start=D(2026, 1, 1), end=TODAY, instance_ids=[a.pk])
    before, after = first.records.get(), second.records.get()
    assert before.sync_details["rows_written"] == before.items_created > 0
    assert (after.items_synced, after.items_created, after.items_updated, after.items_deleted) == (
        before.items_synced, 0, 0, 0
    )  # fmt: skip
    assert after.sync_details["rows_written"] == 0
    assert sorted(DatabaseSizeAggregation.objects.values_list("id", "period_type", "period_start",
                                                              "calculated_at")) == stored  # fmt: skip


def test_the_schema_says_a_roll_up_may_be_daily(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    for name in ("DatabaseSizeAggregation", "InstanceSizeAggregation"):
        ref = components[name]["properties"]["period_type"]["allOf"][0]["$ref"].rsplit("/", 1)[1]
        assert components[ref]["enum"] == ["daily", "weekly", "monthly", "quarterly"], name
    aggregate = components["AggregateRequestRequest"]["properties"]["period"]["allOf"][0]["$ref"].rsplit("/", 1)[1]
    assert "daily" not in components[aggregate]["enum"]

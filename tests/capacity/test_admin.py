"""Admin of the capacity tables: read-only, default date window, no COUNT(*) of partitioned history."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from capacity.models import (
    DatabaseSizeAggregation,
    DatabaseSizeCurrent,
    DatabaseSizeStat,
    DatabaseTableSizeStat,
    InstanceDatabase,
    InstanceSizeAggregation,
    InstanceSizeStat,
)
from instances.models import Instance
from tests.capacity.conftest import in_inventory
from whalefall.admin_tools import EstimatedCountPaginator, table_row_estimate

pytestmark = pytest.mark.django_db

APP_MODELS = sorted((m for m in admin.site._registry if m._meta.app_label == "capacity"), key=lambda m: m._meta.label)
FACT_TABLES = {
    DatabaseSizeStat: "collected_date",
    InstanceSizeStat: "collected_date",
    DatabaseSizeAggregation: "period_start",
    InstanceSizeAggregation: "period_start",
}
TODAY = timezone.localdate()
OLD = TODAY - dt.timedelta(days=400)  # outside every default window


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def ensure_partition(table: str, day: dt.date) -> None:
    """The monthly partition of ``table`` holding ``day`` (same naming as capacity.partitions)."""
    start = _month(day)
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TABLE IF NOT EXISTS "{table}_p{start:%Y%m}" PARTITION OF "{table}" FOR VALUES FROM (%s) TO (%s)',
            [start, _next_month(start)],
        )


@pytest.fixture
def partitions(db):
    """Partitions for this month (via the partition manager when present) and for ``OLD``."""
    try:
        from capacity.partitions import partitions_ensure
    except ImportError:
        partitions_ensure = None
    if partitions_ensure is not None:
        partitions_ensure()
    for model in FACT_TABLES:
        ensure_partition(model._meta.db_table, TODAY)
        ensure_partition(model._meta.db_table, OLD)


@pytest.fixture
def facts(partitions):
    """200 instances × (today + one old day) in every capacity table, set-based."""
    instances = Instance.objects.bulk_create(
        [Instance(name=f"cap-inst-{i:03d}", db_type_id="postgresql", host="h", port=5432) for i in range(200)]
    )
    now = timezone.now()
    days = (TODAY, OLD)
    from capacity.models import AggregationRequest
    from sync_sessions.services import session_create

    session = session_create(sync_type="manual_single", sync_category="aggregation", instances=instances[:1])
    AggregationRequest.objects.create(session=session, period_types=["daily"], start_date=OLD, end_date=TODAY)
    DatabaseSizeStat.objects.bulk_create(
        [
            DatabaseSizeStat(
                instance=inst, database_name="appdb", size_bytes=10**9 + i, collected_date=day, collected_at=now
            )
            for i, inst in enumerate(instances)
            for day in days
        ]
    )
    InstanceSizeStat.objects.bulk_create(
        [
            InstanceSizeStat(
                instance=inst, total_size_bytes=10**9, database_count=1, collected_date=day, collected_at=now
            )
            for inst in instances
            for day in days
        ]
    )
    figures = {
        "period_type": "weekly",
        "avg_size_bytes": 10**9,
        "max_size_bytes": 10**9,
        "min_size_bytes": 10**9,
        "sample_count": 1,
        "size_change_bytes": -2048,
        "size_change_percent": "-0.5",
    }
    DatabaseSizeAggregation.objects.bulk_create(
        [
            DatabaseSizeAggregation(instance=inst, database_name="appdb", period_start=d, period_end=d, **figures)
            for inst in instances
            for d in days
        ]
    )
    InstanceSizeAggregation.objects.bulk_create(
        [
            InstanceSizeAggregation(instance=inst, period_start=d, period_end=d, **figures)
            for inst in instances
            for d in days
        ]
    )
    InstanceDatabase.objects.bulk_create([InstanceDatabase(instance=inst, name="appdb") for inst in instances])
    DatabaseSizeCurrent.objects.bulk_create(
        [
            DatabaseSizeCurrent(instance=inst, database_name="appdb", size_bytes=10**9, collected_at=now)
            for inst in instances
        ]
    )
    DatabaseTableSizeStat.objects.bulk_create(
        [
            DatabaseTableSizeStat(
                instance=inst,
                database_name="appdb",
                schema_name="public",
                table_name="t",
                size_bytes=8192,
                collected_at=now,
            )
            for inst in instances
        ]
    )
    return instances


def _count_queries_on(ctx, table: str) -> list[str]:
    pattern = re.compile(rf'SELECT COUNT\(\*\).*FROM "{table}"', re.S)
    return [q["sql"] for q in ctx.captured_queries if pattern.search(q["sql"])]


@pytest.mark.parametrize("model", APP_MODELS, ids=lambda m: m._meta.label)
def test_changelist_and_change_views(admin_client_logged_in, facts, model, django_assert_max_num_queries):
    url = _url(model, "changelist")
    for query in ("", "?all="):  # 200+ rows render with a bounded number of queries
        with django_assert_max_num_queries(10):
            assert admin_client_logged_in.get(url + query).status_code == 200
    queries = ["", "?q=appdb", "?q=cap-inst-001", "?all="]
    if model in FACT_TABLES:
        queries.append(f"?{FACT_TABLES[model]}__recent=all")
    for query in queries:
        assert admin_client_logged_in.get(url + query).status_code == 200, query
    assert admin_client_logged_in.get(_url(model, "add")).status_code == 403  # written by services only
    obj = model.objects.order_by("pk").first()
    response = admin_client_logged_in.get(_url(model, "change", obj.pk))
    assert response.status_code == 200
    if model is InstanceDatabase:  # only the limit is edited by hand
        assert b'name="_save"' in response.content and b'name="size_limit_bytes"' in response.content
        assert b'name="name"' not in response.content and b'name="is_active"' not in response.content
    else:
        assert b'name="_save"' not in response.content


@pytest.mark.parametrize("model", list(FACT_TABLES), ids=lambda m: m._meta.label)
def test_fact_tables_open_on_a_recent_window(admin_client_logged_in, facts, model):
    url = _url(model, "changelist")
    param = f"{FACT_TABLES[model]}__recent"
    with CaptureQueriesContext(connection) as ctx:
        response = admin_client_logged_in.get(url)
    assert response.context["cl"].result_count == 200  # today only; the OLD rows are outside the window
    # the window is in the WHERE clause of the count and of the page query (partition pruning)
    table = model._meta.db_table
    counts = _count_queries_on(ctx, table)
    assert counts and all(FACT_TABLES[model] in sql and "WHERE" in sql for sql in counts)
    assert admin_client_logged_in.get(f"{url}?{param}=all").context["cl"].result_count == 400
    assert admin_client_logged_in.get(f"{url}?{param}=bogus").context["cl"].result_count == 200  # falls back


def test_fact_admin_settings():
    for model in FACT_TABLES:
        model_admin = admin.site._registry[model]
        assert model_admin.paginator is EstimatedCountPaginator
        assert model_admin.show_full_result_count is False
        assert model_admin.list_select_related == ("instance",)
        assert model_admin.ordering[0] == "-" + FACT_TABLES[model]
        assert not model_admin.has_add_permission(None)
        assert not model_admin.has_change_permission(None)
        assert not model_admin.has_delete_permission(None)


@pytest.mark.parametrize("model", [DatabaseSizeStat, InstanceSizeStat, DatabaseTableSizeStat], ids=str)
def test_unfiltered_changelist_uses_the_estimate(admin_client_logged_in, partitions, model, monkeypatch):
    """With statistics in place, an unfiltered changelist reads pg_class/pg_inherits, never COUNT(*)."""
    instances = Instance.objects.bulk_create(
        [Instance(name=f"est-{i:03d}", db_type_id="mysql", host="h", port=3306) for i in range(120)]
    )
    now = timezone.now()
    if model is DatabaseSizeStat:
        rows = [
            DatabaseSizeStat(instance=i, database_name="d", size_bytes=1, collected_date=OLD, collected_at=now)
            for i in instances
        ]
    elif model is InstanceSizeStat:
        rows = [
            InstanceSizeStat(instance=i, total_size_bytes=1, database_count=1, collected_date=OLD, collected_at=now)
            for i in instances
        ]
    else:
        rows = [
            DatabaseTableSizeStat(instance=i, database_name="d", table_name="t", size_bytes=1, collected_at=now)
            for i in instances
        ]
    model.objects.bulk_create(rows)
    table = model._meta.db_table
    with connection.cursor() as cursor:
        # only relations created in this (rolled back) transaction get fresh statistics
        target = f"{table}_p{_month(OLD):%Y%m}" if model in FACT_TABLES else table
        cursor.execute(f'ANALYZE "{target}"')
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_limit", 100)

    url = _url(model, "changelist")
    if model in FACT_TABLES:
        url += f"?{FACT_TABLES[model]}__recent=all"
    with CaptureQueriesContext(connection) as ctx:
        response = admin_client_logged_in.get(url)
    assert response.status_code == 200
    assert _count_queries_on(ctx, table) == []
    estimates = [q["sql"] for q in ctx.captured_queries if "pg_inherits" in q["sql"] and "pg_class" in q["sql"]]
    assert len(estimates) == 1
    estimate = table_row_estimate(model)
    assert estimate >= 120
    assert response.context["cl"].result_count == estimate
    assert len(response.context["cl"].result_list) == 100  # one page


def test_estimate_sums_partitions(partitions):
    """The estimate of a partitioned parent is the sum over its leaf partitions (-1 counts as 0)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COALESCE(SUM(GREATEST(c.reltuples, 0)), 0)::bigint
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'database_size_stats'::regclass
            """
        )
        expected = cursor.fetchone()[0]
    assert table_row_estimate(DatabaseSizeStat) == expected


def test_stale_statistics_never_hide_rows(admin_client_logged_in, facts):
    """Fresh rows without statistics: the capped count still finds them."""
    url = _url(DatabaseSizeStat, "changelist") + "?collected_date__recent=all"
    response = admin_client_logged_in.get(url)
    assert response.context["cl"].result_count >= 400
    assert len(response.context["cl"].result_list) == 100


def test_size_columns_are_human_readable(admin_client_logged_in, facts):
    body = admin_client_logged_in.get(_url(DatabaseSizeStat, "changelist")).content.decode()
    assert "GB" in body or "MB" in body
    body = admin_client_logged_in.get(_url(DatabaseSizeAggregation, "changelist")).content.decode()
    assert "\u22122.0\xa0KB" in body  # a real minus sign, 1024-based units (whalefall.units)


# --- instance capacity page, collect action, table-size refresh -------------------------------

# 2 years of history; the full 500-database volume (365,000 rows) is measured by
# benchmarks/capacity_latest_api.py, here 100 databases keep the suite fast.
HISTORY_DAYS, HISTORY_DATABASES, CURRENT_DATABASES = 730, 100, 500


@pytest.fixture
def big_history(db):
    """2 years of daily history for 100 databases (73,000 rows) and 500 current sizes, set-based."""
    from tests.capacity.conftest import ensure_partitions

    inst = Instance.objects.create(name="big-history", db_type_id="postgresql", host="h", port=5432)
    start = TODAY - dt.timedelta(days=HISTORY_DAYS - 1)
    for table in ("database_size_stats", "instance_size_stats"):
        ensure_partitions(table, start, TODAY)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO database_size_stats (instance_id, database_name, size_bytes, collected_date, collected_at)
            SELECT %(i)s, 'db' || n, n * 1000000 + (d::date - %(s)s::date) * 1000, d::date, now()
            FROM generate_series(1, %(dbs)s) n, generate_series(%(s)s::date, %(e)s::date, '1 day') d;
            INSERT INTO instance_size_stats
                (instance_id, total_size_bytes, database_count, collected_date, collected_at)
            SELECT %(i)s, sum(size_bytes), count(*), collected_date, now() FROM database_size_stats
            WHERE instance_id = %(i)s AND collected_date BETWEEN %(s)s AND %(e)s GROUP BY collected_date;
            INSERT INTO database_size_current (instance_id, database_name, size_bytes, collected_at)
            SELECT %(i)s, 'db' || n, CASE WHEN n <= %(dbs)s THEN 10^12 ELSE 0 END + n, now()
            FROM generate_series(1, %(current)s) n;
            """,
            {"i": inst.pk, "s": start, "e": TODAY, "dbs": HISTORY_DATABASES, "current": CURRENT_DATABASES},
        )
    return inst


def test_instance_capacity_page_is_fast_with_two_years_of_history(
    admin_client_logged_in, big_history, django_assert_max_num_queries
):
    import time

    url = reverse("admin:capacity_instance_capacity", args=[big_history.pk])
    admin_client_logged_in.get(url + "?days=730")  # warm-up (templates, plan cache)
    with django_assert_max_num_queries(10):
        started = time.monotonic()
        response = admin_client_logged_in.get(url + "?days=730")
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed < 1.0, f"{elapsed:.2f}s"
    body = response.content.decode()
    assert body.count("<polyline") == 6 + 2  # instance total + top 5 databases; the total's forecast and its fit
    assert 'class="wf-band"' in body and "Roll-ups of the instance total" in body
    assert "db500" in body and "Current sizes (500 databases" in body
    chart = response.context["chart"]
    assert [len(s["points"].split()) for s in chart["series"]] == [HISTORY_DAYS] * 6
    assert chart["series"][1]["name"] == "db100"
    assert admin_client_logged_in.get(url + "?days=bogus").context["days"] == 90


def test_collect_capacity_action_starts_a_session(admin_client_logged_in, fake_instance, fake_engine,
                                                  django_capture_on_commit_callbacks):  # fmt: skip
    from django.contrib.admin.sites import site
    from django.contrib.messages import get_messages
    from django.test import RequestFactory

    from capacity.admin import collect_capacity_action
    from instances.adapters.base import DatabaseSize
    from sync_sessions.models import SyncSession

    inst = fake_instance()
    fake_engine.databases[inst.name] = [DatabaseSize("app", 42)]
    url = reverse("admin:capacity_instance_collect", args=[inst.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_logged_in.post(url, follow=True)
    assert response.status_code == 200
    assert "Capacity collection of 1 instance(s) started" in response.content.decode()
    session = SyncSession.objects.get(sync_category="capacity")
    assert session.status == "completed" and session.created_by.username == "admin"
    assert DatabaseSizeCurrent.objects.get(instance=inst).size_bytes == 42
    assert admin_client_logged_in.get(url).status_code == 405

    # without the permission: an error message, no session
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.messages.storage.fallback import FallbackStorage

    request = RequestFactory().post("/")
    request.user, request.session = AnonymousUser(), {}
    request._messages = FallbackStorage(request)
    collect_capacity_action(site._registry[DatabaseSizeCurrent], request, Instance.objects.filter(pk=inst.pk))
    assert "may not" in str(list(get_messages(request))[0])
    assert SyncSession.objects.filter(sync_category="capacity").count() == 1


def test_table_sizes_refresh_button(admin_client_logged_in, fake_instance, fake_engine):
    from urllib.parse import urlencode

    from instances.adapters.base import TableSize
    from whalefall.errors import TargetTimeout

    inst = fake_instance()
    fake_engine.tables[(inst.name, "shop db")] = [TableSize("public", "orders", 2048)]
    in_inventory(inst, "shop db")
    changelist = _url(DatabaseTableSizeStat, "changelist")
    filtered = f"{changelist}?{urlencode({'instance__id__exact': inst.pk, 'database_name': 'shop db'})}"
    body = admin_client_logged_in.get(filtered).content.decode()
    assert "Refresh shop db" in body
    assert "/refresh/" not in admin_client_logged_in.get(changelist).content.decode()  # no database chosen

    refresh = reverse("admin:capacity_table_sizes_refresh", args=[inst.pk, "shop db"])
    response = admin_client_logged_in.post(refresh, follow=True)
    assert "1 table(s)" in response.content.decode()
    assert DatabaseTableSizeStat.objects.get(instance=inst).table_name == "orders"

    fake_engine.failures[inst.name] = [TargetTimeout("too slow")]
    response = admin_client_logged_in.post(refresh, follow=True)
    body = response.content.decode()
    assert "failed (target_timeout)" in body and "previous snapshot is kept" in body
    assert DatabaseTableSizeStat.objects.filter(instance=inst).count() == 1

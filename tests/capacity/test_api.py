"""Capacity API: latest sizes, history (cursor pages, default window), table sizes + refresh, collect action."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from capacity.models import DatabaseSizeCurrent, DatabaseSizeStat, DatabaseTableSizeStat, InstanceSizeStat
from instances.adapters.base import DatabaseSize, TableSize
from sync_sessions.models import SyncSession
from tests.capacity.conftest import ensure_partitions, in_inventory
from tests.support.factories import make_instance
from whalefall.errors import ConcurrentOperation, TargetTimeout, TargetUnreachable

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
MB = 1024 * 1024


def seed_history(inst, *, days: int, databases: int) -> None:
    ensure_partitions("database_size_stats", TODAY - dt.timedelta(days=days), TODAY)
    ensure_partitions("instance_size_stats", TODAY - dt.timedelta(days=days), TODAY)
    now = timezone.now()
    DatabaseSizeStat.objects.bulk_create(
        DatabaseSizeStat(instance=inst, database_name=f"db{i}", size_bytes=MB * (i + 1), collected_date=day,
                         collected_at=now)
        for i in range(databases) for day in (TODAY - dt.timedelta(days=d) for d in range(days))
    )  # fmt: skip
    InstanceSizeStat.objects.bulk_create(
        InstanceSizeStat(instance=inst, total_size_bytes=MB, database_count=databases,
                         collected_date=TODAY - dt.timedelta(days=d), collected_at=now)
        for d in range(days)
    )  # fmt: skip


def test_databases_lists_current_sizes_with_mb(api_client, django_assert_max_num_queries):
    inst = make_instance()
    now = timezone.now()
    DatabaseSizeCurrent.objects.bulk_create(
        DatabaseSizeCurrent(instance=inst, database_name=f"db{i:02d}", size_bytes=MB * i, data_bytes=MB * i,
                            collected_at=now)
        for i in range(60)
    )  # fmt: skip
    with django_assert_max_num_queries(6):
        response = api_client.get(f"/api/v1/instances/{inst.pk}/databases", {"ordering": "-size_bytes"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 60 and len(body["results"]) == 50
    first = body["results"][0]
    assert first["database_name"] == "db59" and first["size_bytes"] == 59 * MB and first["size_mb"] == 59.0
    assert first["log_bytes"] is None and first["log_mb"] is None
    assert api_client.get("/api/v1/instances/999999/databases").status_code == 404


def test_database_stats_filters_default_window_and_cursor(api_client, django_assert_max_num_queries):
    inst, other = make_instance(), make_instance()
    seed_history(inst, days=45, databases=3)
    seed_history(other, days=2, databases=1)
    url = "/api/v1/capacity/database-stats"
    with django_assert_max_num_queries(5):
        response = api_client.get(url, {"instance": inst.pk, "page_size": 40})
    body = response.json()
    assert response.status_code == 200 and "count" not in body and body["next"]
    assert {r["instance"] for r in body["results"]} == {inst.pk}
    assert body["results"][0]["collected_date"] == TODAY.isoformat()
    # default window: the last 30 days (31 days inclusive) × 3 databases
    seen, page = [], url + f"?instance={inst.pk}&page_size=40"
    while page:
        data = api_client.get(page).json()
        seen += data["results"]
        page = data["next"]
    assert len(seen) == 31 * 3 and len({r["id"] for r in seen}) == len(seen)
    one_db = api_client.get(url, {"instance": inst.pk, "database": "db1", "date_from": TODAY - dt.timedelta(days=44),
                                  "date_to": TODAY, "page_size": 1000}).json()  # fmt: skip
    assert len(one_db["results"]) == 45 and one_db["results"][0]["size_mb"] == 2.0


def test_stats_inverted_dates_are_an_empty_range_and_malformed_ones_a_400(api_client):
    inst = make_instance()
    seed_history(inst, days=5, databases=1)
    inverted = {"date_from": TODAY, "date_to": TODAY - dt.timedelta(days=3)}
    response = api_client.get("/api/v1/capacity/instance-stats", inverted)
    assert (response.status_code, response.json()["results"]) == (200, [])
    for bad in ("nope", "12/31/2026", "2026-1-1", ""):
        response = api_client.get("/api/v1/capacity/instance-stats", {"date_from": bad})
        assert (response.status_code, response.json()["code"]) == (400, "invalid"), bad


def test_instance_stats(api_client, django_assert_max_num_queries):
    inst = make_instance()
    seed_history(inst, days=5, databases=2)
    with django_assert_max_num_queries(5):
        body = api_client.get("/api/v1/capacity/instance-stats", {"instance": inst.pk}).json()
    assert len(body["results"]) == 5
    assert body["results"][0]["total_size_mb"] == 1.0 and body["results"][0]["database_count"] == 2


# --- table sizes -----------------------------------------------------------------------

DB_NAME = 'sales "2024"/eu'  # needs quoting in SQL and encoding in the URL


def tables_url(inst, suffix: str = "") -> str:
    return f"/api/v1/instances/{inst.pk}/databases/{quote(DB_NAME, safe='')}/tables/sizes{suffix}"


def test_table_sizes_snapshot_ordering_and_collected_at(api_client, fake_instance, django_assert_max_num_queries):
    inst = fake_instance()
    empty = api_client.get(tables_url(inst)).json()
    assert empty["collected_at"] is None and empty["results"] == [] and empty["database"] == DB_NAME
    now = timezone.now()
    DatabaseTableSizeStat.objects.bulk_create(
        DatabaseTableSizeStat(instance=inst, database_name=DB_NAME, schema_name="s", table_name=f"t{i:02d}",
                              size_bytes=i * 1000, row_count=100 - i, collected_at=now)
        for i in range(30)
    )  # fmt: skip
    with django_assert_max_num_queries(6):
        body = api_client.get(tables_url(inst), {"page_size": 10}).json()
    assert body["count"] == 30 and body["results"][0]["table_name"] == "t29" and body["collected_at"]
    assert api_client.get(tables_url(inst), {"ordering": "table_name"}).json()["results"][0]["table_name"] == "t00"
    assert api_client.get(tables_url(inst), {"ordering": "-row_count"}).json()["results"][0]["table_name"] == "t00"


def test_table_refresh_returns_new_snapshot_and_deletes_vanished(api_client, fake_instance, fake_engine):
    inst = fake_instance()
    fake_engine.tables[(inst.name, DB_NAME)] = [TableSize("s", "a", 10 * MB, row_count=5), TableSize("s", "b", MB)]
    in_inventory(inst, DB_NAME)
    assert api_client.post(tables_url(inst, "/actions/refresh")).status_code == 200
    fake_engine.tables[(inst.name, DB_NAME)] = [TableSize("s", "a", 12 * MB, row_count=6)]
    response = api_client.post(tables_url(inst, "/actions/refresh"))
    body = response.json()
    assert response.status_code == 200
    assert [r["table_name"] for r in body["results"]] == ["a"] and body["results"][0]["size_mb"] == 12.0
    assert body["deleted"] == 1 and body["updated"] == 1 and body["elapsed_ms"] >= 0 and body["collected_at"]
    assert SyncSession.objects.get(session_id=body["session_id"]).sync_category == "table_size"


@pytest.mark.parametrize(
    ("error", "status"),
    [(ConcurrentOperation("busy"), 409), (TargetUnreachable("down"), 502), (TargetTimeout("slow"), 504)],
)
def test_table_refresh_errors_keep_previous_snapshot(api_client, fake_instance, fake_engine, error, status):
    inst = fake_instance()
    fake_engine.tables[(inst.name, DB_NAME)] = [TableSize("s", "keep", MB)]
    in_inventory(inst, DB_NAME)
    api_client.post(tables_url(inst, "/actions/refresh"))
    fake_engine.tables[(inst.name, DB_NAME)] = []
    fake_engine.failures[inst.name] = [error]
    response = api_client.post(tables_url(inst, "/actions/refresh"))
    assert response.status_code == status
    assert response.json()["code"] == error.code and response.json()["message"]
    assert list(DatabaseTableSizeStat.objects.values_list("table_name", flat=True)) == ["keep"]


def test_actions_need_the_sync_permission(fake_instance):
    inst = fake_instance()
    viewer = get_user_model().objects.create_user("viewer", password="x")
    viewer.user_permissions.add(Permission.objects.get(codename="view_databasetablesizestat"))
    client = APIClient()
    client.force_authenticate(viewer)
    assert client.get(tables_url(inst)).status_code == 200
    assert client.post(tables_url(inst, "/actions/refresh")).status_code == 403
    assert client.post(f"/api/v1/instances/{inst.pk}/actions/collect-capacity").status_code == 403


def test_collect_capacity_action_returns_202_and_runs(api_client, fake_instance, fake_engine,
                                                      django_capture_on_commit_callbacks):  # fmt: skip
    inst = fake_instance()
    fake_engine.databases[inst.name] = [DatabaseSize("app", 3 * MB)]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"/api/v1/instances/{inst.pk}/actions/collect-capacity")
    assert response.status_code == 202
    session = SyncSession.objects.get(session_id=response.json()["session_id"])
    session.refresh_from_db()
    assert session.sync_category == "capacity" and session.status == "completed"  # Q_CLUSTER sync in tests
    assert DatabaseSizeCurrent.objects.get(instance=inst).size_bytes == 3 * MB
    assert api_client.post("/api/v1/instances/999999/actions/collect-capacity").status_code == 404


def test_openapi_documents_capacity_paths(api_client):
    paths = {p.rstrip("/") for p in api_client.get("/api/schema/", {"format": "json"}).json()["paths"]}
    for expected in (
        "/api/v1/instances/{instance_id}/databases",
        "/api/v1/instances/{instance_id}/databases/{database}/tables/sizes",
        "/api/v1/instances/{instance_id}/databases/{database}/tables/sizes/actions/refresh",
        "/api/v1/instances/{instance_id}/actions/collect-capacity",
        "/api/v1/capacity/database-stats",
        "/api/v1/capacity/instance-stats",
    ):
        assert expected in paths

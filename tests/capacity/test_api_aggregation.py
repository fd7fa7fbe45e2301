"""Capacity API: aggregation lists, instance summary, top growers, the aggregate action, limits."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from capacity.models import DatabaseSizeAggregation, DatabaseSizeStat, InstanceDatabase, InstanceSizeStat
from capacity.services import capacity_aggregate
from sync_sessions.models import SyncSession
from tests.capacity.conftest import ensure_partitions, in_inventory
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
GB, MB = 1024**3, 1024**2


def day(offset: int) -> dt.date:
    """``offset`` days before today."""
    return TODAY - dt.timedelta(days=offset)


def seed(inst, *, totals=None, databases=None, days: int) -> None:
    ensure_partitions("database_size_stats", day(days), TODAY)
    ensure_partitions("instance_size_stats", day(days), TODAY)
    now = timezone.now()
    if totals:
        InstanceSizeStat.objects.bulk_create(
            InstanceSizeStat(instance=inst, total_size_bytes=totals(i), database_count=1, collected_date=day(i),
                             collected_at=now)
            for i in range(days)
        )  # fmt: skip
    for name, size in (databases or {}).items():
        DatabaseSizeStat.objects.bulk_create(
            DatabaseSizeStat(instance=inst, database_name=name, size_bytes=size(i), collected_date=day(i),
                             collected_at=now)
            for i in range(days)
        )  # fmt: skip


# --- aggregation lists -----------------------------------------------------------------------


@pytest.fixture
def aggregated(db):
    inst, other = make_instance(), make_instance()
    for target in (inst, other):
        seed(target, totals=lambda i: 1000 - i, databases={"a": lambda i: 500 - i, "b": lambda i: 100}, days=40)
    capacity_aggregate(period_types=["weekly", "monthly", "quarterly"], start=day(39), end=TODAY)
    return inst, other


def test_database_aggregations_filters_and_cursor(api_client, aggregated, django_assert_max_num_queries):
    inst, _other = aggregated
    url = "/api/v1/capacity/database-aggregations"
    with django_assert_max_num_queries(4):
        response = api_client.get(url, {"instance": inst.pk, "period_type": "daily", "database": "a", "page_size": 7})
    body = response.json()
    assert response.status_code == 200 and "count" not in body and body["next"]
    first = body["results"][0]
    assert (first["instance"], first["database_name"], first["period_start"]) == (inst.pk, "a", TODAY.isoformat())
    assert first["avg_size_bytes"] == 500 and first["size_change_bytes"] == 1 and first["is_complete"] is False
    assert first["size_change_percent"] == pytest.approx(0.2004, abs=1e-4)  # 1 / 499 × 100, a number
    seen, page = [], body["next"]
    seen += body["results"]
    while page:
        data = api_client.get(page).json()
        seen += data["results"]
        page = data["next"]
    assert len(seen) == 40 and len({r["id"] for r in seen}) == 40
    complete = api_client.get(url, {"instance": inst.pk, "period_type": "daily", "database": "a",
                                    "is_complete": "false"}).json()["results"]  # fmt: skip
    assert [r["period_start"] for r in complete] == [TODAY.isoformat()]
    window = api_client.get(url, {"instance": inst.pk, "period_type": "daily", "database": "b",
                                  "date_from": day(5), "date_to": day(3)}).json()["results"]  # fmt: skip
    assert [r["period_start"] for r in window] == [day(3).isoformat(), day(4).isoformat(), day(5).isoformat()]
    assert window[0]["size_change_percent"] == 0.0 and window[0]["growth_rate_bytes_per_day"] is None


def test_instance_aggregations_and_bad_filters(api_client, aggregated):
    inst, other = aggregated
    url = "/api/v1/capacity/instance-aggregations"
    body = api_client.get(url, {"instance": other.pk, "period_type": "monthly"}).json()
    assert {r["instance"] for r in body["results"]} == {other.pk}
    assert body["results"][0]["period_start"] == TODAY.replace(day=1).isoformat()
    assert "database_count" in body["results"][0] and "database_name" not in body["results"][0]
    for bad in ({"period_type": "yearly"}, {"period_type": ""}, {"is_complete": "maybe"}, {"date_to": "x"}):
        response = api_client.get(url, bad)
        assert response.status_code == 400 and response.json()["code"] == "invalid", bad
    inverted = api_client.get(url, {"date_from": "2026-02-01", "date_to": "2026-01-01"})
    assert (inverted.status_code, inverted.json()["results"]) == (200, [])


# --- summary and top growers -------------------------------------------------------------------


@pytest.fixture
def growing(db):
    """Totals 100 GB + 1 GB per day over 100 days (199 GB today); databases g1..g7 growing g MB a day."""
    inst = make_instance(name="growing", size_limit_bytes=250 * GB)
    databases = {f"g{g}": (lambda i, g=g: 10 * GB + g * MB * (99 - i)) for g in range(1, 8)}
    databases["shrinking"] = lambda i: 5 * GB + MB * i
    seed(inst, totals=lambda i: 100 * GB + GB * (99 - i), databases=databases, days=100)
    in_inventory(inst, "g7")
    InstanceDatabase.objects.filter(instance=inst, name="g7").update(size_limit_bytes=10 * GB + 99 * 7 * MB + 700 * MB)
    fast = make_instance(name="elsewhere")
    seed(fast, databases={"fast": lambda i: GB + 100 * MB * (99 - i)}, days=100)
    return inst, fast


def test_instance_summary(api_client, growing, django_assert_max_num_queries):
    inst, _fast = growing
    with django_assert_max_num_queries(4):
        response = api_client.get(f"/api/v1/instances/{inst.pk}/capacity/summary")
    assert response.status_code == 200
    body = response.json()
    assert body["as_of"] == TODAY.isoformat() and body["total_size_bytes"] == 199 * GB
    assert body["total_size_mb"] == 199 * 1024 and body["size_limit_bytes"] == 250 * GB
    assert [(g["days"], g["bytes"], g["percent"]) for g in body["growth"]] == [
        (7, 7 * GB, 3.65),  # 7 / 192
        (30, 30 * GB, 17.75),  # 30 / 169
        (90, 90 * GB, 82.57),  # 90 / 109
    ]
    forecast = body["forecast"]
    assert forecast["status"] == "ok" and forecast["samples"] == 30 and forecast["window_days"] == 30
    assert forecast["bytes_per_day"] == pytest.approx(GB, rel=0.01)
    assert forecast["days_until_limit"] == 51 and forecast["backtest_mape"] == 0.0
    assert forecast["band_low"] == forecast["band_high"] == forecast["predicted_bytes"] == 229 * GB
    top = body["top_growing_databases"]
    assert [t["database_name"] for t in top] == ["g7", "g6", "g5", "g4", "g3"]  # never another instance's
    assert top[0]["growth"]["bytes"] == 30 * 7 * MB and top[0]["forecast"]["bytes_per_day"] == pytest.approx(7 * MB)
    assert top[0]["size_limit_bytes"] and top[0]["forecast"]["days_until_limit"] == 100
    assert top[1]["size_limit_bytes"] is None and top[1]["forecast"]["days_until_limit"] is None


def test_summary_is_honest_about_little_data(api_client, db):
    inst = make_instance()
    seed(inst, totals=lambda i: GB, days=5)
    body = api_client.get(f"/api/v1/instances/{inst.pk}/capacity/summary").json()
    assert body["forecast"]["status"] == "collecting" and body["forecast"]["samples"] == 5
    assert body["forecast"]["bytes_per_day"] is None and body["top_growing_databases"] == []
    assert body["growth"][2] == {"days": 90, "bytes": 0, "percent": 0.0, "since": day(4).isoformat(),
                                 "until": TODAY.isoformat()}  # fmt: skip
    empty = api_client.get(f"/api/v1/instances/{make_instance().pk}/capacity/summary").json()
    assert empty["as_of"] is None and empty["total_size_bytes"] is None and empty["growth"][0]["bytes"] is None
    assert api_client.get("/api/v1/instances/999999/capacity/summary").status_code == 404
    response = api_client.get(f"/api/v1/instances/{inst.pk}/capacity/summary", {"forecast_days": 5})
    assert response.status_code == 400 and "forecast_days" in response.json()["errors"]


def test_top_growers_across_instances(api_client, growing, django_assert_max_num_queries):
    _inst, _fast = growing
    with django_assert_max_num_queries(3):
        response = api_client.get("/api/v1/capacity/top-growers", {"days": 30, "limit": 3})
    rows = response.json()
    assert response.status_code == 200
    assert [(r["instance_name"], r["database_name"]) for r in rows] == [
        ("elsewhere", "fast"), ("growing", "g7"), ("growing", "g6")
    ]  # fmt: skip
    assert rows[0]["growth"]["bytes"] == 3000 * MB and rows[0]["forecast"]["bytes_per_day"] == pytest.approx(100 * MB)
    assert rows[0]["growth"]["since"] == day(30).isoformat() and rows[0]["size_mb"] == 1024 + 9900
    everything = api_client.get("/api/v1/capacity/top-growers", {"limit": 100}).json()
    assert "shrinking" not in {r["database_name"] for r in everything} and len(everything) == 8
    for bad in ({"days": 0}, {"limit": 1000}, {"forecast_days": 400}, {"days": "x"}):
        assert api_client.get("/api/v1/capacity/top-growers", bad).status_code == 400, bad


# --- the aggregate action and limits ---------------------------------------------------------------


def test_aggregate_action_returns_202_and_runs(api_client, aggregated, django_capture_on_commit_callbacks):
    inst, _other = aggregated
    DatabaseSizeAggregation.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/capacity/actions/aggregate",
            {"period": "weekly", "date_from": day(20), "date_to": day(10), "instance_ids": [inst.pk]},
            format="json",
        )
    assert response.status_code == 202
    session = SyncSession.objects.get(session_id=response.json()["session_id"])
    assert (session.sync_category, session.sync_type, session.status) == ("aggregation", "manual_single", "completed")
    assert set(DatabaseSizeAggregation.objects.values_list("instance_id", "period_type")) == {(inst.pk, "weekly")}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        # not what the schema allows: 400
        ({"period": "yearly"}, 400, "invalid"),
        ({"period": "daily"}, 400, "invalid"),  # read from the daily sizes, never aggregated
        ({"instance_ids": []}, 400, "invalid"),
        ({"instance_ids": ["1"]}, 400, "invalid"),
        ({"date_from": "2026/01/01", "date_to": "2026-01-02"}, 400, "invalid"),
        # what the schema allows, but a rule it cannot state forbids: 422
        ({"date_from": "2026-01-01"}, 422, "unprocessable"),
        ({"date_from": day(-1).isoformat(), "date_to": day(-2).isoformat()}, 422, "unprocessable"),  # inverted
        ({"date_from": TODAY.isoformat(), "date_to": day(1).isoformat()}, 422, "unprocessable"),  # the future
        ({"date_from": "2001-01-01", "date_to": "2001-01-02"}, 422, "unprocessable"),  # before the retention
        ({"instance_ids": [999999]}, 422, "unprocessable"),
    ],
)
def test_aggregate_action_rejects_bad_input(api_client, body, status, code):
    response = api_client.post("/api/v1/capacity/actions/aggregate", body, format="json")
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert not SyncSession.objects.exists()


def test_limits_are_editable_with_their_permissions(api_client, db):
    inst = make_instance()
    in_inventory(inst, "app")
    row = InstanceDatabase.objects.get(instance=inst, name="app")
    listed = api_client.get("/api/v1/capacity/databases", {"instance": inst.pk, "name": "app"}).json()
    assert [r["id"] for r in listed["results"]] == [row.pk] and listed["results"][0]["size_limit_bytes"] is None
    url = f"/api/v1/capacity/databases/{row.pk}"
    response = api_client.patch(url, {"size_limit_bytes": 5 * GB, "name": "renamed"}, format="json")
    assert response.status_code == 200 and response.json()["size_limit_bytes"] == 5 * GB
    row.refresh_from_db()
    assert (row.size_limit_bytes, row.name) == (5 * GB, "app")  # only the limit is writable
    assert api_client.patch(url, {"size_limit_bytes": 0}, format="json").status_code == 400
    assert api_client.put(url, {"size_limit_bytes": 1}, format="json").status_code == 405
    assert api_client.patch(url, {"size_limit_bytes": None}, format="json").json()["size_limit_bytes"] is None
    # the instance's own limit is a plain field of the instance API
    response = api_client.patch(f"/api/v1/instances/{inst.pk}", {"size_limit_bytes": 2 * GB}, format="json")
    assert response.status_code == 200 and response.json()["size_limit_bytes"] == 2 * GB
    assert api_client.patch(f"/api/v1/instances/{inst.pk}", {"size_limit_bytes": -1}, format="json").status_code == 400

    viewer = get_user_model().objects.create_user("viewer", password="x")
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_instancedatabase",
                                                                         "view_instancesizestat"]))  # fmt: skip
    client = APIClient()
    client.force_authenticate(viewer)
    assert client.get(url).status_code == 200
    assert client.patch(url, {"size_limit_bytes": 1}, format="json").status_code == 403
    assert client.post("/api/v1/capacity/actions/aggregate", {}, format="json").status_code == 403
    assert client.get(f"/api/v1/instances/{inst.pk}/capacity/summary").status_code == 200

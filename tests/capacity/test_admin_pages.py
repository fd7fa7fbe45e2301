"""The capacity pages in the admin: period tabs, forecasts up to the limit, database pages, top
growers, limits edited by hand, the aggregate action and button."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from capacity.models import (
    DatabaseSizeCurrent,
    DatabaseSizeStat,
    InstanceDatabase,
    InstanceSizeAggregation,
    InstanceSizeStat,
)
from capacity.services import capacity_aggregate
from instances.models import Instance
from sync_sessions.models import SyncSession
from tests.capacity.conftest import ensure_partitions, in_inventory
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
GB, MB = 1024**3, 1024**2
DB = "sales db/eu"  # a space and a slash in the URL


@pytest.fixture
def sized(db):
    """40 days: totals 100 GB + 1 GB/day (limit 160 GB), database DB + 100 MB/day (limit 20 GB), aggregated."""
    inst = make_instance(name="sized", size_limit_bytes=160 * GB)
    start = TODAY - dt.timedelta(days=39)
    ensure_partitions("database_size_stats", start, TODAY)
    ensure_partitions("instance_size_stats", start, TODAY)
    now = timezone.now()
    InstanceSizeStat.objects.bulk_create(
        InstanceSizeStat(instance=inst, total_size_bytes=100 * GB + GB * i, database_count=2,
                         collected_date=start + dt.timedelta(days=i), collected_at=now)
        for i in range(40)
    )  # fmt: skip
    DatabaseSizeStat.objects.bulk_create(
        DatabaseSizeStat(instance=inst, database_name=name, size_bytes=size + step * i,
                         collected_date=start + dt.timedelta(days=i), collected_at=now)
        for i in range(40) for name, size, step in ((DB, 10 * GB, 100 * MB), ("flat", GB, 0))
    )  # fmt: skip
    DatabaseSizeCurrent.objects.bulk_create(
        [DatabaseSizeCurrent(instance=inst, database_name=DB, size_bytes=10 * GB + 3900 * MB, collected_at=now),
         DatabaseSizeCurrent(instance=inst, database_name="flat", size_bytes=GB, collected_at=now)]
    )  # fmt: skip
    in_inventory(inst, DB, "flat")
    InstanceDatabase.objects.filter(instance=inst, name=DB).update(size_limit_bytes=20 * GB)
    capacity_aggregate(period_types=["weekly", "monthly", "quarterly"], start=start, end=TODAY)
    return inst


def test_instance_page_period_tabs_and_forecast_up_to_the_limit(admin_client_logged_in, sized,
                                                                django_assert_max_num_queries):  # fmt: skip
    url = reverse("admin:capacity_instance_capacity", args=[sized.pk])
    admin_client_logged_in.get(url)  # warm-up
    with django_assert_max_num_queries(12):
        response = admin_client_logged_in.get(url, {"period": "weekly", "days": 30})
    assert response.status_code == 200
    weekly = response.context["aggregations"]
    assert weekly and {a.period_type for a in weekly} == {"weekly"} and weekly[0].is_complete is False
    body = response.content.decode()
    assert 'class="active">Weekly</a>' in body and "running (partial)" in body
    forecast = response.context["forecast"]
    # 139 GB today, 1 GB a day: 160 GB in 21 days
    assert forecast.status == "ok" and forecast.days_until_limit == 21 and "reached in 21 days" in body
    chart = response.context["forecast_chart"]
    assert chart["end"] == TODAY + dt.timedelta(days=21) and chart["limit_y"] is not None
    assert 'class="wf-band"' in body and 'class="wf-limit"' in body and 'class="wf-fitted"' in body
    assert reverse("admin:capacity_database_capacity", args=[sized.pk, DB]) in body
    monthly = admin_client_logged_in.get(url, {"period": "bogus"}).context
    assert monthly["period"] == "monthly" and monthly["aggregations"][0].period_start == TODAY.replace(day=1)


def test_database_page_shows_its_forecast_and_roll_ups(admin_client_logged_in, sized, django_assert_max_num_queries):
    url = reverse("admin:capacity_database_capacity", args=[sized.pk, DB])
    with django_assert_max_num_queries(10):
        response = admin_client_logged_in.get(url, {"period": "daily", "days": 90})
    assert response.status_code == 200
    context = response.context
    # the daily tab reads the daily sizes: 40 days, each with its change vs the day before
    assert len(context["aggregations"]) == 40 and context["aggregations"][0].period_start == TODAY
    changes = [a.size_change_bytes for a in context["aggregations"]]
    assert changes[0] == 100 * MB and changes[-1] is None  # the first day has no day before
    assert context["forecast"].bytes_per_day == pytest.approx(100 * MB)
    # 10 GB + 3900 MB today; 20 GB is 6340 MB away at 100 MB a day
    assert context["forecast"].days_until_limit == 63
    row = InstanceDatabase.objects.get(instance=sized, name=DB)
    assert reverse("admin:capacity_instancedatabase_change", args=[row.pk]) in response.content.decode()
    flat = admin_client_logged_in.get(reverse("admin:capacity_database_capacity", args=[sized.pk, "flat"]))
    assert flat.context["forecast"].days_until_limit is None and "none set" in flat.content.decode()
    # a database the instance never had: 404; one it had, without sizes in the window: the page says so
    never = reverse("admin:capacity_database_capacity", args=[sized.pk, "nope"])
    assert admin_client_logged_in.get(never).status_code == 404
    InstanceDatabase.objects.create(instance=sized, name="quiet")
    quiet = admin_client_logged_in.get(reverse("admin:capacity_database_capacity", args=[sized.pk, "quiet"]))
    assert quiet.status_code == 200 and "No sizes in this window yet." in quiet.content.decode()
    assert admin_client_logged_in.get(reverse("admin:capacity_database_capacity", args=[999999, DB])).status_code == 404


def test_top_growers_page(admin_client_logged_in, sized, django_assert_max_num_queries):
    url = reverse("admin:capacity_top_growers")
    with django_assert_max_num_queries(6):
        response = admin_client_logged_in.get(url, {"days": 7})
    assert response.status_code == 200
    rows = [item["row"] for item in response.context["rows"]]
    assert [r.database_name for r in rows] == [DB]  # "flat" did not grow
    assert rows[0].growth.bytes == 7 * 100 * MB and rows[0].forecast.days_until_limit == 63
    # the growth (two samples apart) and the trend (the forecast's slope) are named, in human units
    body = response.content.decode()
    assert "Growth in 7 days" in body and "Trend (last ramp)" in body
    assert "+700.0\xa0MB" in body and "+100.0\xa0MB/day" in body
    assert admin_client_logged_in.get(url, {"days": "bogus"}).context["days"] == 30
    assert url in admin_client_logged_in.get(reverse("admin:capacity_databasesizecurrent_changelist")).content.decode()


def test_limits_are_edited_in_the_admin(admin_client_logged_in, sized):
    row = InstanceDatabase.objects.get(instance=sized, name="flat")
    url = reverse("admin:capacity_instancedatabase_change", args=[row.pk])
    response = admin_client_logged_in.post(url, {"size_limit_bytes": str(5 * GB)})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.size_limit_bytes == 5 * GB and row.name == "flat"
    assert admin_client_logged_in.post(url, {"size_limit_bytes": "0"}).status_code == 200  # the form's error
    row.refresh_from_db()
    assert row.size_limit_bytes == 5 * GB
    assert admin_client_logged_in.post(url, {"size_limit_bytes": "500 MiB"}).status_code == 302  # human units
    row.refresh_from_db()
    assert row.size_limit_bytes == 500 * 1024**2
    instance_form = admin_client_logged_in.get(reverse("admin:instances_instance_change", args=[sized.pk]))
    assert b'name="size_limit_bytes"' in instance_form.content


def test_aggregate_action_and_button(admin_client_logged_in, sized, django_capture_on_commit_callbacks):
    InstanceSizeAggregation.objects.all().delete()
    changelist = reverse("admin:instances_instance_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_logged_in.post(
            changelist, {"action": "aggregate_capacity_action", "_selected_action": [sized.pk]}, follow=True
        )
    assert "Capacity aggregation of 1 instance(s) started" in response.content.decode()
    session = SyncSession.objects.get(sync_category="aggregation")
    assert session.status == "completed" and session.created_by.username == "admin"
    # yesterday and today: the week(s), month(s) and quarter(s) that contain them; nothing daily is stored
    stored = set(InstanceSizeAggregation.objects.filter(instance=sized).values_list("period_type", flat=True))
    assert stored == {"weekly", "monthly", "quarterly"}

    button = reverse("admin:capacity_instance_aggregate", args=[sized.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_logged_in.post(button)
    assert response.status_code == 302 and SyncSession.objects.filter(sync_category="aggregation").count() == 2
    assert admin_client_logged_in.get(button).status_code == 405
    assert Instance.objects.filter(pk=sized.pk).exists()


def test_aggregation_changelist_filters_by_instance_and_period(admin_client_logged_in, sized):
    other = make_instance()
    url = reverse("admin:capacity_instancesizeaggregation_changelist")
    response = admin_client_logged_in.get(url, {"instance__id__exact": sized.pk, "period_type__exact": "monthly",
                                                "period_start__recent": "all"})  # fmt: skip
    rows = response.context["cl"].result_list
    assert rows and {(r.instance_id, r.period_type) for r in rows} == {(sized.pk, "monthly")}
    empty = admin_client_logged_in.get(url, {"instance__id__exact": other.pk, "period_start__recent": "all"})
    assert list(empty.context["cl"].result_list) == []

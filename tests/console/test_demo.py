"""The demo set: labelled, inactive (no schedule reaches it), with what a first look needs —
180 days of sizes with a step change and their roll-ups, a forecast, accounts with changes,
classifications and a failed run — added once, and removed completely."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from accounts.models import AccountChangeLog, InstanceAccount
from capacity.models import DatabaseSizeStat, InstanceSizeAggregation
from capacity.selectors import capacity_soonest_limits
from classification.models import AccountClassificationAssignment, ClassificationDailyStat
from console.dashboard import dashboard_build
from console.demo import DEMO_INSTANCES, HISTORY_DAYS, demo_data_load, demo_instances
from instances.models import Instance
from instances.selectors import instances_for_batch
from sync_sessions.models import SyncInstanceRecord, SyncSession
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        tables = ("instances", "instance_accounts", "account_change_log", "database_size_stats",
                  "instance_size_aggregations", "account_classification_assignments", "classification_daily_stats",
                  "sync_sessions", "sync_instance_records", "instance_tags", "tags")  # fmt: skip
        result = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")
            result[table] = cursor.fetchone()[0]
    return result


def test_demo_set_has_what_the_first_look_needs(admin_user):
    real = make_instance(name="real-one")
    load = demo_data_load()
    assert load.created and {i.name for i in load.instances} == {spec.name for spec in DEMO_INSTANCES}
    demo = list(demo_instances())
    assert all(not i.is_active and i.host.endswith(".demo.invalid") and i.name.startswith("demo-") for i in demo)
    assert instances_for_batch(instance_ids=None) == [real]  # schedules run over active instances only

    orders = Instance.objects.get(name="demo-mysql-orders")
    days = DatabaseSizeStat.objects.filter(instance=orders, database_name="orders").order_by("collected_date")
    sizes = list(days.values_list("size_bytes", flat=True))
    assert len(sizes) == HISTORY_DAYS
    jumps = [b - a for a, b in zip(sizes, sizes[1:], strict=False)]
    assert max(jumps) > 10 * 1024**3  # the step change (12 GB in one day)
    assert InstanceSizeAggregation.objects.filter(instance=orders, period_type="quarterly").exists()
    soonest = {(g.instance_name, g.database_name) for g in capacity_soonest_limits(limit=10)}
    assert ("demo-mysql-orders", "orders") in soonest and ("demo-pg-billing", "billing") in soonest

    changes = set(AccountChangeLog.objects.filter(instance=orders).values_list("change_type", flat=True))
    assert {"add", "modify", "remove"} <= changes  # migration_dba added, report changed, old_admin gone
    superusers = AccountClassificationAssignment.objects.filter(
        account__instance__in=demo, classification__code="superuser"
    )
    assert superusers.filter(account__username="migration_dba").exists()
    assert ClassificationDailyStat.objects.filter(instance__in=demo).values("date").distinct().count() == 30

    failed = SyncInstanceRecord.objects.get(instance__name="demo-oracle-hr", status="failed")
    assert failed.error_code == "target_timeout" and failed.session.failed_instances == 1

    board = dashboard_build(user=admin_user)
    assert [f.name for f in board.failing] == ["demo-oracle-hr"]
    assert any(h.account.username == "migration_dba" for h in board.high_risk)


def test_demo_set_is_added_once_and_removed_completely(client, admin_client_logged_in):
    make_instance(name="real-one")
    before = _counts()
    out = io.StringIO()
    call_command("demo_data", stdout=out)
    assert "demo data: added demo-mysql-orders" in out.getvalue()
    loaded = _counts()
    out = io.StringIO()
    call_command("demo_data", stdout=out)
    assert "present already" in out.getvalue() and _counts() == loaded

    # the pages a first look opens
    orders = Instance.objects.get(name="demo-mysql-orders")
    for url in (
        reverse("admin:index"),
        reverse("admin:capacity_instance_capacity", args=[orders.pk]),
        reverse("admin:accounts_instanceaccount_change", args=[InstanceAccount.objects.filter(instance=orders)[0].pk]),
    ):
        assert admin_client_logged_in.get(url).status_code == 200, url

    out = io.StringIO()
    call_command("demo_data", "--remove", stdout=out)
    assert "4 demo instance(s)" in out.getvalue()
    after = _counts()
    # everything the demo wrote is gone; the classification run and the failed run's sessions too
    assert after == before, (before, after)
    assert not SyncSession.objects.filter(records__isnull=True).exists()
    assert Instance.objects.filter(name="real-one").exists()


def test_quickstart_adds_the_demo_set_only_on_an_empty_database():
    call_command("quickstart", "--demo", "if-empty", stdout=io.StringIO())
    assert demo_instances().count() == len(DEMO_INSTANCES)
    call_command("demo_data", "--remove", stdout=io.StringIO())
    call_command("quickstart", "--demo", "if-empty", stdout=io.StringIO())  # the metadata instance exists now
    assert not demo_instances().exists()


def test_instance_page_overview_of_a_demo_instance(admin_client_logged_in, django_assert_max_num_queries):
    demo_data_load()
    oracle = Instance.objects.get(name="demo-oracle-hr")
    Instance.objects.filter(pk=oracle.pk).update(size_limit_bytes=6 * 1024**3)
    with django_assert_max_num_queries(20):
        response = admin_client_logged_in.get(reverse("admin:instances_instance_change", args=[oracle.pk]))
    body = response.content.decode()
    overview = body[body.index('<table class="wf-overview">'):]
    overview = overview[: overview.index("</table>")]
    assert "2 active</a>, 0 inactive" in overview
    assert "in 1 database(s) on" in overview and "reaches its limit of 6.0\xa0GB in " in overview
    assert "Capacity</a>: failed (target_timeout)" in overview  # the demo's failed run
    assert "Classification</a>: completed" in overview
    for url in re.findall(r'href="([^"]+)"', overview):
        assert admin_client_logged_in.get(url.replace("&amp;", "&")).status_code == 200, url

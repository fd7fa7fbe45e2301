"""Detection: each event kind from rows made the way the app makes them, once per condition,
in a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule, Task

from accounts.models import InstanceAccount
from accounts.services import accounts_sync_all
from alerts.models import AlertDelivery, AlertEvent, AlertWatermark
from alerts.services import alerts_detect
from capacity.models import InstanceDatabase
from capacity.partitions import partitions_cover
from capacity.services import capacity_apply, instance_database_limit_set
from classification.models import AccountClassification
from classification.services import classification_assign
from instances.adapters.base import AccountFacts, DatabaseSize
from sync_sessions.services import session_create
from tests.alerts.conftest import email, resync, synced_instance, webhook
from tests.support.factories import make_fake_instance

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024


def events(kind=None):
    qs = AlertEvent.objects.order_by("pk")
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.values_list("kind", "severity", "title"))


def test_account_turning_superuser_or_grant_alerts_once_until_it_clears_and_reoccurs():
    instance = synced_instance(AccountFacts("app"), AccountFacts("root", is_superuser=True))
    first = alerts_detect()
    # the account added as superuser
    assert events() == [("account_superuser", "critical", f"root on {instance.name} became superuser")]
    assert first.new == 1
    resync(instance, AccountFacts("app", can_grant=True, reasons={"can_grant": ("SELECT WITH GRANT OPTION",)}),
           AccountFacts("root", is_superuser=True))  # fmt: skip
    second = alerts_detect()
    assert second.new == 1 and second.seen == 2  # the superuser row is read again, and not recorded twice
    event = AlertEvent.objects.get(kind="account_can_grant")
    app = InstanceAccount.objects.get(instance=instance, username="app")
    assert event.account == app and event.instance == instance and event.severity == "high"
    assert event.dedup_key == f"account_can_grant:{app.pk}:{event.payload['change_log_id']}"
    assert event.payload["change_type"] == "modify"
    # a third run finds nothing new; the flag off then on again is a new condition, a new alert
    assert alerts_detect().new == 0
    resync(instance, AccountFacts("app"), AccountFacts("root", is_superuser=True))
    assert alerts_detect().new == 0  # turning off does not alert
    resync(instance, AccountFacts("app", can_grant=True), AccountFacts("root", is_superuser=True))
    assert alerts_detect().new == 1
    assert len(events("account_can_grant")) == 2


def test_new_high_risk_classification_alerts_and_low_risk_does_not():
    instance = synced_instance(AccountFacts("app"), AccountFacts("dba"))
    account = InstanceAccount.objects.get(instance=instance, username="dba")
    high = AccountClassification.objects.create(code="prod-writer", name="Writes prod", risk_level="high")
    low = AccountClassification.objects.create(code="reader", name="Reader", risk_level="low")
    classification_assign(account_ids=[account.pk], classification=high)
    classification_assign(account_ids=[account.pk], classification=low)
    assert alerts_detect().new == 1
    event = AlertEvent.objects.get()
    assert (event.kind, event.severity, event.account) == ("classification_high_risk", "high", account)
    assert event.payload["classification"] == "prod-writer" and event.payload["source"] == "manual"
    assert alerts_detect().new == 0


def _grow(instance, *, days: int, today: dt.date, start_bytes: int, per_day: int) -> None:
    partitions_cover(tables=["database_size_stats", "instance_size_stats"], start=today - dt.timedelta(days=days),
                     end=today)  # fmt: skip
    for i in range(days):
        day = today - dt.timedelta(days=days - 1 - i)
        at = timezone.make_aware(dt.datetime.combine(day, dt.time(3)))
        size = start_bytes + i * per_day
        capacity_apply(instance=instance, inventory=["shop"], sizes=[DatabaseSize("shop", size, size, None)], now=at)


def test_database_near_its_limit_alerts_per_threshold_once_until_it_clears():
    today = timezone.localdate()
    instance = make_fake_instance()
    _grow(instance, days=20, today=today, start_bytes=100 * MiB, per_day=MiB)
    database = InstanceDatabase.objects.get(instance=instance, name="shop")
    instance_database_limit_set(database=database, size_limit_bytes=(100 + 19 + 10) * MiB)  # ≈ 10 days left
    wide = email("ops@example.com", name="capacity 30d", limit_days=30)
    narrow = email("oncall@example.com", name="capacity 7d", limit_days=7)
    assert alerts_detect().new == 1
    event = AlertEvent.objects.get()
    assert event.kind == "capacity_limit" and event.database_name == "shop" and event.severity == "medium"
    assert event.payload["threshold_days"] == 30 and event.payload["days_until_limit"] == 10
    assert event.dedup_key == f"capacity_limit:{instance.pk}:shop:30d:#1"
    # only the 30-day channel wants it
    assert list(AlertDelivery.objects.values_list("channel", flat=True)) == [wide.pk]
    assert alerts_detect().new == 0  # still the same condition
    # the limit is raised: the condition clears; lowered again: it alerts again (a second onset)
    instance_database_limit_set(database=database, size_limit_bytes=10_000 * MiB)
    assert alerts_detect().cleared == 1
    instance_database_limit_set(database=database, size_limit_bytes=(100 + 19 + 5) * MiB)  # ≈ 5 days
    result = alerts_detect()
    assert result.new == 2  # the 30-day and the 7-day thresholds
    keys = set(AlertEvent.objects.filter(cleared_at__isnull=True).values_list("dedup_key", flat=True))
    assert keys == {f"capacity_limit:{instance.pk}:shop:30d:#2", f"capacity_limit:{instance.pk}:shop:7d:#1"}
    assert AlertDelivery.objects.filter(channel=narrow).count() == 1


def test_failed_scheduled_runs_and_jobs_alert_manual_runs_do_not():
    ok, broken = make_fake_instance(), make_fake_instance("fail=target_unreachable")
    accounts_sync_all(instance_ids=[ok.pk, broken.pk], scheduled=True)  # partly failed
    accounts_sync_all(instance_ids=[broken.pk], scheduled=True)  # wholly failed
    accounts_sync_all(instance_ids=[broken.pk])  # manual: the operator saw it fail
    Schedule.objects.create(name="whalefall.partitions", func="x", schedule_type=Schedule.CRON, cron="30 0 * * *")
    now = timezone.now()
    Task.objects.create(id="a" * 32, name="task-1", func="x", group="whalefall.partitions", started=now,
                        stopped=now, success=False, result="Traceback …\nPartitionMissing: no partition")  # fmt: skip
    Task.objects.create(id="b" * 32, name="task-2", func="x", group=None, started=now, stopped=now, success=False)
    assert alerts_detect().by_kind["job_failed"] == 3
    found = sorted(AlertEvent.objects.filter(kind="job_failed").values_list("severity", "title"))
    assert found == [
        ("high", "Scheduled account run failed: 1 of 1 instances failed"),
        ("high", "Scheduled job whalefall.partitions failed"),
        ("medium", "Scheduled account run partly failed: 1 of 2 instances failed"),
    ]
    assert alerts_detect().new == 0


def test_first_run_looks_back_only_the_overlap_and_the_watermark_moves(settings):
    synced_instance(AccountFacts("root", is_superuser=True))
    far_future = timezone.now() + dt.timedelta(days=1)
    # a first run a day later does not dig up everything that ever happened
    assert alerts_detect(now=far_future).new == 0
    assert AlertWatermark.objects.get().detected_until == far_future


def _scenario(accounts: int):
    instance = synced_instance(*[AccountFacts(f"su{i}", is_superuser=True, can_grant=True) for i in range(accounts)])
    session_create(sync_type="scheduled", sync_category="account", instances=[instance])
    accounts = list(InstanceAccount.objects.filter(instance=instance).values_list("pk", flat=True))
    high = AccountClassification.objects.create(code=f"c{len(accounts)}", name="High", risk_level="critical")
    classification_assign(account_ids=accounts, classification=high)
    webhook("http://127.0.0.1:9/hook", name=f"hook{len(accounts)}")


QUERIES_DETECT = 13


@pytest.mark.parametrize("accounts", [1, 40])
def test_detect_runs_a_fixed_number_of_queries(accounts):
    _scenario(accounts)
    with CaptureQueriesContext(connection) as queries:
        result = alerts_detect()
    assert result.new == 3 * accounts
    assert AlertDelivery.objects.count() == 3 * accounts
    # watermark, channels, change log, classification history, forecasts, capacity events,
    # sessions, tasks; savepoint, insert events, insert deliveries, upsert watermark, release:
    # the same with 1 or 40 accounts
    assert len(queries) == QUERIES_DETECT, [q["sql"][:60] for q in queries]


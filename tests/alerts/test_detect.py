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
from instances.adapters.base import AccountFacts, DatabaseSize, Privilege, UnreadScope
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
    # the account added (after the baseline) as superuser
    assert events() == [("account_superuser", "critical", f"root on {instance.name} became superuser")]
    assert first.new == 1
    resync(instance, AccountFacts("app", can_grant=True, reasons={"can_grant": ("SELECT WITH GRANT OPTION",)}),
           AccountFacts("root", is_superuser=True))  # fmt: skip
    second = alerts_detect()
    assert second.new == 1 and second.seen == 2  # the superuser row is read again, and not recorded twice
    event = AlertEvent.objects.get(kind="account_can_grant")
    app = InstanceAccount.objects.get(instance=instance, username="app")
    assert event.account == app and event.instance == instance and event.severity == "high"
    assert event.dedup_key == f"account_change:{app.pk}:{event.payload['change_log_id']}"
    assert event.payload["change_type"] == "modify" and event.payload["kinds"] == ["account_can_grant"]
    assert event.payload["reasons"] == [
        {"kind": "account_can_grant", "severity": "high", "what": "became able to grant",
         "why": ["SELECT WITH GRANT OPTION"]},
    ]  # fmt: skip
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
    (reason,) = event.payload["reasons"]
    assert reason["classification"] == "prod-writer" and reason["source"] == "manual"
    assert event.title == f"dba on {instance.name} classified Writes prod"
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


QUERIES_DETECT = 18


@pytest.mark.parametrize("accounts", [1, 40])
def test_detect_runs_a_fixed_number_of_queries(accounts):
    _scenario(accounts)
    with CaptureQueriesContext(connection) as queries:
        result = alerts_detect()
    # per account: its addition (superuser + can grant: one event) and the classification by hand
    assert result.new == 2 * accounts
    assert AlertDelivery.objects.count() == 2 * accounts
    # watermark, channels, flag changes, classification history, the additions' accounts' changes,
    # classification times, recorded change events, baselines, partial records, forecasts,
    # capacity events, sessions, tasks; savepoint, insert events, insert deliveries, upsert
    # watermark, release: the same with 1 or 40 accounts
    assert len(queries) == QUERIES_DETECT, [q["sql"][:60] for q in queries]


# --- one event per change, the baseline's summary, partial runs, inactive instances ---------------


def _rules():
    from classification.services import rule_create

    made = []
    for code, name, risk, priority, expression in (
        ("t-superuser", "Superuser", "critical", 100, {"fn": "is_superuser"}),
        ("t-grant", "Can grant", "high", 90, {"fn": "can_grant"}),
        ("t-ddl", "DDL anywhere", "high", 80, {"fn": "has_privilege", "privilege": "DROP"}),
        ("t-login", "Can log in", "low", 10, {"fn": "can_login"}),
    ):
        classification = AccountClassification.objects.create(code=code, name=name, risk_level=risk,
                                                               priority=priority)  # fmt: skip
        rule_create(classification=classification, db_type="fake", name=code, expression=expression)
        made.append(classification)
    return made


DBA = AccountFacts("dba", is_superuser=True, can_grant=True, privileges=(Privilege("global", "DROP", ""),))


def test_one_change_is_one_event_listing_every_reason():
    instance = synced_instance(AccountFacts("dba"))
    _rules()
    resync(instance, AccountFacts("dba"))  # classified as it is (a login): nothing risky
    alerts_detect()
    AlertEvent.objects.all().delete()
    resync(instance, DBA)  # one sync turns on both flags and three high/critical classifications
    result = alerts_detect()
    assert result.new == 1
    event = AlertEvent.objects.get()
    assert (event.kind, event.severity) == ("account_superuser", "critical")
    assert event.title == (f"dba on {instance.name} became superuser, became able to grant, "
                           "classified Superuser + Can grant + DDL anywhere")  # fmt: skip
    assert event.payload["kinds"] == ["account_superuser", "account_can_grant", "classification_high_risk"]
    assert [r.get("classification") for r in event.payload["reasons"]] == [
        None,
        None,
        "t-superuser",
        "t-grant",
        "t-ddl",
    ]
    assert event.dedup_key == f"account_change:{event.account_id}:{event.payload['change_log_id']}"
    assert len(event.payload["history_ids"]) == 3
    assert alerts_detect().new == 0
    # receivers read the reasons as words, not as JSON
    from alerts.transport import message_text

    text = message_text(events=[event], mode="immediate")
    assert "  reasons: became superuser, became able to grant, classified Superuser (is_superuser), " in text


def test_a_change_waits_for_its_classification_then_alerts_once_with_it():
    from accounts.services import accounts_apply
    from classification.services import classification_auto_classify_instance
    from tests.alerts.conftest import later

    instance = synced_instance(AccountFacts("dba"))
    _rules()
    classification_auto_classify_instance(instance=instance)
    alerts_detect()
    AlertEvent.objects.all().delete()
    accounts_apply(instance=instance, accounts=[DBA])  # the sync without its follow-up (a worker's)
    assert alerts_detect().new == 0  # its classification may add reasons: it waits
    classification_auto_classify_instance(instance=instance)
    alerts_detect()
    (event,) = AlertEvent.objects.all()
    assert "classified Superuser + Can grant + DDL anywhere" in event.title
    # a change whose classification never comes alerts after CLASSIFY_WAIT with what it has
    accounts_apply(instance=instance, accounts=[DBA, AccountFacts("new", is_superuser=True)])
    assert alerts_detect().new == 0
    assert alerts_detect(now=later(16)).new == 1
    assert AlertEvent.objects.latest("pk").title == f"new on {instance.name} became superuser"


def test_the_baseline_is_one_onboarded_event_not_an_alert_per_account():
    from classification.models import AccountClassificationHistory
    from classification.selectors import high_risk_additions
    from tests.alerts.conftest import onboarded_instance

    before = timezone.now()
    probe = make_fake_instance()  # the fake engine's database type, for the rules
    _rules()
    instance = onboarded_instance(
        DBA, AccountFacts("root", is_superuser=True), AccountFacts("app"), AccountFacts("grantor", can_grant=True)
    )  # its first sync, classified inline right after
    assert AccountClassificationHistory.objects.filter(at_baseline=True).count() == 9  # 4 logins + 5 risky
    assert not high_risk_additions(since=before).exists()
    result = alerts_detect()
    assert result.by_kind == {"instance_onboarded": 1}
    event = AlertEvent.objects.get()
    assert (event.kind, event.severity, event.instance) == ("instance_onboarded", "medium", instance)
    assert event.title == (f"{instance.name} onboarded: 4 accounts, 2 superusers, 2 can grant; "
                           "Superuser 2, Can grant 2, DDL anywhere 1")  # fmt: skip
    payload = event.payload
    assert payload["baseline"]["superusers_accounts"] == ["dba", "root"] and payload["classified"] is True
    found = {c["classification"]: (c["accounts"], c["names"]) for c in payload["classifications"]}
    assert found == {"t-superuser": (2, ["dba", "root"]), "t-grant": (2, ["dba", "grantor"]),
                     "t-ddl": (1, ["dba"]), "t-login": (4, [])}  # fmt: skip
    assert event.dedup_key == f"instance_onboarded:{instance.pk}:{payload['change_log_id']}"
    assert alerts_detect().new == 0
    # after the baseline, an account that turns superuser alerts as usual
    resync(instance, DBA, AccountFacts("root", is_superuser=True), AccountFacts("app", is_superuser=True),
           AccountFacts("grantor", can_grant=True))  # fmt: skip
    alerts_detect()
    assert AlertEvent.objects.latest("pk").title == (f"app on {instance.name} became superuser, classified Superuser")
    assert probe.pk != instance.pk


def test_an_onboarding_waits_for_its_classification():
    from accounts.services import accounts_apply
    from classification.services import classification_auto_classify_instance

    instance = make_fake_instance()
    _rules()
    accounts_apply(instance=instance, accounts=[DBA])  # the baseline, not classified yet
    assert alerts_detect().new == 0
    classification_auto_classify_instance(instance=instance)
    alerts_detect()
    (event,) = AlertEvent.objects.all()
    assert event.kind == "instance_onboarded" and "Superuser 1" in event.title


def test_a_partial_run_is_one_event_with_the_instance_the_run_and_its_message(monkeypatch):
    from accounts import services

    def broken_followup(*, instance, session, inline):
        raise KeyError("privileges")

    monkeypatch.setattr(services, "_FOLLOWUPS", [broken_followup])
    instance = make_fake_instance()
    session = accounts_sync_all(instance_ids=[instance.pk])
    record = session.records.get()
    assert record.status == "partial"
    result = alerts_detect()  # (its onboarding waits for the classification the failed follow-up did not run)
    assert result.by_kind == {"sync_partial": 1}
    event = AlertEvent.objects.get(kind="sync_partial")
    assert (event.severity, event.instance) == ("medium", instance)
    assert event.dedup_key.startswith(f"sync_partial:{instance.pk}:account:{timezone.localdate().isoformat()}:")
    assert event.title == f"Account run on {instance.name} finished partial: {record.error_message}"
    assert "KeyError" in event.payload["message"] and event.payload["session_id"] == str(session.session_id)
    assert event.payload["category"] == "account" and event.payload["sync_type"] == "manual_single"
    assert alerts_detect().new == 0


def test_a_run_partial_for_the_same_reason_again_that_day_is_not_a_new_event(monkeypatch):
    from tests.support.fake_adapter import FAKE_UNREAD

    instance = make_fake_instance()
    scope = UnreadScope("database", "app", "no CONNECT", covers=("schema", "object", "column"))
    monkeypatch.setitem(FAKE_UNREAD, instance.name, [scope])
    for _ in range(2):
        assert accounts_sync_all(instance_ids=[instance.pk]).records.get().status == "partial"
    alerts_detect()
    assert AlertEvent.objects.filter(kind="sync_partial").count() == 1


def test_capacity_alerts_skip_inactive_instances():
    today = timezone.localdate()
    instance = make_fake_instance()
    _grow(instance, days=20, today=today, start_bytes=100 * MiB, per_day=MiB)
    database = InstanceDatabase.objects.get(instance=instance, name="shop")
    instance_database_limit_set(database=database, size_limit_bytes=(100 + 19 + 10) * MiB)
    instance.is_active = False
    instance.save(update_fields=["is_active"])
    assert alerts_detect().new == 0
    instance.is_active = True
    instance.save(update_fields=["is_active"])
    assert alerts_detect().by_kind == {"capacity_limit": 1}

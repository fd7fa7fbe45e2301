"""The admin index is the dashboard: instance health by engine (failing since the first failure
after the last success), the last run of each scheduled job, failed runs of the last 24 h, top
growers and the soonest limits, partitions, classification counts and high-risk additions —
each figure linked, in a number of queries that does not grow with the data."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule, Task

from accounts.models import InstanceAccount
from capacity.models import DatabaseSizeStat, InstanceDatabase
from classification.models import (
    AccountClassification,
    AccountClassificationAssignment,
    AccountClassificationHistory,
    ClassificationDailyStat,
)
from console.dashboard import dashboard_build
from console.schedules import schedules_setup
from instances.models import Instance
from sync_sessions.models import SyncInstanceRecord, SyncSession
from tests.capacity.conftest import ensure_partitions, in_inventory
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db

NOW = timezone.now()
TODAY = timezone.localdate()
GB = 1024**3


def _record(session, instance, status, hours_ago, category="account", code=""):
    started = NOW - dt.timedelta(hours=hours_ago)
    return SyncInstanceRecord.objects.create(
        session=session, instance=instance, instance_name=instance.name, sync_category=category, status=status,
        started_at=started, completed_at=started + dt.timedelta(minutes=1), error_code=code,
        error_message="boom" if status == "failed" else "",
    )  # fmt: skip


def _session(category="account", **fields):
    return SyncSession.objects.create(sync_type="scheduled", sync_category=category, status="completed", **fields)


@pytest.fixture
def board_data(db):
    healthy = make_instance(name="healthy", db_type="mysql", port=3306)
    failing = make_instance(name="failing", db_type="mysql", port=3306)
    make_instance(name="never", db_type="mysql", port=3306)
    make_instance(name="off", db_type="postgresql", is_active=False)
    recovered = make_instance(name="recovered", db_type="postgresql")
    sessions = [_session() for _ in range(4)]
    # healthy: OK last; failing: OK 72 h ago, then failed 48 h and 2 h ago; recovered: failed then OK
    _record(sessions[0], healthy, "completed", 3)
    _record(sessions[0], failing, "completed", 72)
    _record(sessions[1], failing, "failed", 48, code="timeout")
    _record(sessions[2], failing, "failed", 2, category="capacity", code="auth_failed")
    _record(sessions[1], recovered, "failed", 30)
    _record(sessions[2], recovered, "completed", 1)
    _record(sessions[3], healthy, "failed", 1, category="classification")  # not a contact: ignored for health
    _record(sessions[3], recovered, "partial", 1, category="classification")  # finished, not everything done
    _record(sessions[0], recovered, "partial", 30, category="capacity")  # too old for the last 24 h

    schedules_setup()
    job_session = _session(failed_instances=1, total_instances=5)
    ok = Task.objects.create(id=uuid.uuid4().hex, name="acc", func="console.jobs.job_run", started=NOW,
                             stopped=NOW, success=True, result=str(job_session.session_id))  # fmt: skip
    bad = Task.objects.create(id=uuid.uuid4().hex, name="cap", func="console.jobs.job_run", started=NOW,
                              stopped=NOW, success=False, result="Traceback …")  # fmt: skip
    Schedule.objects.filter(name="whalefall.accounts").update(task=ok.id)
    Schedule.objects.filter(name="whalefall.capacity").update(task=bad.id)

    start = TODAY - dt.timedelta(days=29)
    ensure_partitions("database_size_stats", start, TODAY)
    DatabaseSizeStat.objects.bulk_create(
        DatabaseSizeStat(instance=healthy, database_name=name, size_bytes=size + step * i,
                         collected_date=start + dt.timedelta(days=i), collected_at=NOW)
        for i in range(30) for name, size, step in (("fast", 10 * GB, GB // 10), ("slow", 5 * GB, GB // 100),
                                                     ("flat", GB, 0))
    )  # fmt: skip
    in_inventory(healthy, "fast", "slow", "flat")
    InstanceDatabase.objects.filter(instance=healthy, name="slow").update(size_limit_bytes=6 * GB)

    superuser = AccountClassification.objects.get(code="superuser")
    account = InstanceAccount.objects.create(instance=failing, username="root", host="%")
    AccountClassificationAssignment.objects.create(account=account, classification=superuser, source="auto")
    AccountClassificationHistory.objects.bulk_create(
        [AccountClassificationHistory(account=account, classification=superuser, action="add", source="auto",
                                      batch_id=uuid.uuid4(), changed_at=NOW - dt.timedelta(days=d)) for d in (1, 9)]
    )  # fmt: skip
    ClassificationDailyStat.objects.bulk_create(
        ClassificationDailyStat(date=TODAY - dt.timedelta(days=d), classification=superuser, db_type_id="mysql",
                                instance=failing, account_count=1)
        for d in range(3)
    )  # fmt: skip
    return {"healthy": healthy, "failing": failing, "recovered": recovered, "account": account, "ok": ok, "bad": bad,
            "job_session": job_session, "superuser": superuser}  # fmt: skip


def test_dashboard_figures(admin_user, board_data):
    board = dashboard_build(user=admin_user, now=NOW)
    engines = {e.db_type.pk: (e.total, e.healthy, e.failing, e.never, e.inactive) for e in board.engines}
    assert engines["mysql"] == (3, 1, 1, 1, 0)
    assert engines["postgresql"] == (2, 1, 0, 1, 1)  # "off" never contacted and inactive
    assert [(f.name, f.health.failures, f.health.error_code) for f in board.failing] == [("failing", 2, "auth_failed")]
    since = board.failing[0].health.failing_since
    assert abs(since - (NOW - dt.timedelta(hours=48))) < dt.timedelta(seconds=1)

    jobs = {run.job.name: run for run in board.jobs}
    assert jobs["whalefall.accounts"].session == board_data["job_session"]
    assert jobs["whalefall.accounts"].status == "completed"
    assert jobs["whalefall.capacity"].status == "failed" and jobs["whalefall.capacity"].session is None
    assert jobs["whalefall.sessions"].status == "never run" and jobs["whalefall.sessions"].next_run is not None
    assert jobs["whalefall.capacity"].task_url == reverse("admin:django_q_failure_change", args=[board_data["bad"].pk])

    # failed contact and non-contact runs of the last 24 h (the 30 h and 48 h old ones are out)
    assert [(r.instance_name, r.sync_category) for r in board.failed_records] == [
        ("healthy", "classification"), ("failing", "capacity"),
    ]  # fmt: skip
    assert board.failed_records_total == 2
    assert board.partial_records_total == 1  # shown beside the failed ones, with a link to them

    assert [g.database_name for g, _url in board.top_growers] == ["fast", "slow"]  # flat does not grow
    [(soonest, url)] = board.soonest_limits  # only "slow" has a limit
    assert soonest.database_name == "slow" and soonest.forecast.days_until_limit > 0
    assert url == reverse("admin:capacity_database_capacity", args=[board_data["healthy"].pk, "slow"])

    assert {p.table for p in board.partitions} == {
        "database_size_stats", "instance_size_stats", "database_size_aggregations", "instance_size_aggregations",
    }  # fmt: skip
    assert all(p.months_ahead >= p.wanted_ahead for p in board.partitions)

    counts = {c.code: c.accounts for c in board.classifications}
    assert counts["superuser"] == 1 and counts["can_grant"] == 0
    assert [h.account_id for h in board.high_risk] == [board_data["account"].pk] and board.high_risk_total == 1
    assert [s["name"] for s in board.classification_chart["series"]] == [board_data["superuser"].name]


def test_dashboard_page_links_and_bounded_queries(admin_client_logged_in, board_data, django_assert_max_num_queries):
    with django_assert_max_num_queries(25) as queries:
        response = admin_client_logged_in.get(reverse("admin:index"))
    first_count = len(queries)
    assert response.status_code == 200
    page = response.content.decode()
    failing = board_data["failing"]
    for url in (
        reverse("admin:instances_instance_change", args=[failing.pk]),
        reverse("admin:instances_instance_changelist") + "?db_type__name__exact=mysql",
        reverse("admin:sync_sessions_syncsession_change", args=[board_data["job_session"].pk]),
        reverse("admin:capacity_database_capacity", args=[board_data["healthy"].pk, "fast"]),
        reverse("admin:accounts_instanceaccount_change", args=[board_data["account"].pk]),
        reverse("admin:accounts_instanceaccount_changelist") + "?classification=superuser",
    ):
        assert f'href="{url}"' in page, url
    assert "(1 of 5 failed)" in page and "auth_failed" in page
    records = reverse("admin:sync_sessions_syncinstancerecord_changelist")
    partial = f"{records}?status__exact=partial&amp;completed_at__recent=1"
    assert f'<a href="{partial}"' in page and '<span class="wf-bad" id="wf-partial-total">1</span>' in page
    assert ">suspended</span>" not in page
    Instance.objects.filter(pk=failing.pk).update(suspended_at=timezone.now())  # the circuit breaker tripped
    assert ">suspended</span>" in admin_client_logged_in.get(reverse("admin:index")).content.decode()
    assert 'aria-label="Accounts per classification, last 30 days"' in page
    # every link the dashboard builds opens (no admin filter rejects its parameters)
    board = response.context["dashboard"]
    for url in board.links.values():
        assert admin_client_logged_in.get(url).status_code == 200, url

    # the same number of queries with five times the instances, records and history
    for i in range(20):
        inst = make_instance(name=f"more-{i}", db_type="mysql", port=3306)
        _record(_session(), inst, "failed" if i % 2 else "completed", 1)
    with django_assert_max_num_queries(first_count):
        assert admin_client_logged_in.get(reverse("admin:index")).status_code == 200


def test_viewer_sees_the_dashboard_and_a_user_without_rights_does_not(client, board_data):
    viewer = User.objects.create_user("v", password="pw-viewer-1", is_staff=True)
    viewer.groups.add(Group.objects.get(name="viewer"))
    client.force_login(viewer)
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="wf-instances"' in page and 'id="wf-jobs"' in page and 'id="wf-classification"' in page

    bare = User.objects.create_user("b", password="pw-bare-1", is_staff=True)
    client.force_login(bare)
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="wf-instances"' not in page and 'id="wf-jobs"' not in page and "failing" not in page

"""The per-instance circuit breaker: consecutive failed contacts suspend an instance; scheduled
contact runs then skip it (a ``skipped`` record says why) until an operator resumes it or a
connection test succeeds. Manual runs still try it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.services import accounts_sync_all
from instances.models import Instance
from instances.services import instance_test_connection
from sync_sessions.models import RecordStatus, SessionStatus
from tests.support.factories import make_fake_instance

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture(autouse=True)
def limit(settings):
    settings.WHALEFALL = {**settings.WHALEFALL, "SUSPEND_AFTER_FAILURES": LIMIT}


def fail_times(instance: Instance, times: int) -> None:
    for _ in range(times):
        session = accounts_sync_all(instance_ids=[instance.pk])
        assert session.records.get().status == RecordStatus.FAILED


def test_consecutive_failures_suspend_and_scheduled_runs_skip_the_instance():
    bad = make_fake_instance("fail=target_unreachable", name="bad")
    make_fake_instance(name="good")
    fail_times(bad, LIMIT - 1)
    bad.refresh_from_db()
    assert (bad.consecutive_failures, bad.suspended_at) == (LIMIT - 1, None)
    fail_times(bad, 1)
    bad.refresh_from_db()
    assert bad.consecutive_failures == LIMIT and bad.suspended_at is not None

    session = accounts_sync_all(scheduled=True)
    records = {r.instance_name: r for r in session.records.all()}
    assert records["bad"].status == RecordStatus.SKIPPED and records["bad"].error_code == "suspended"
    assert f"after {LIMIT} consecutive failures" in records["bad"].error_message
    assert records["good"].status == RecordStatus.COMPLETED
    assert (session.status, session.total_instances, session.successful_instances, session.failed_instances,
            session.skipped_instances) == (SessionStatus.COMPLETED, 2, 1, 0, 1)  # fmt: skip
    bad.refresh_from_db()
    assert bad.consecutive_failures == LIMIT  # a skip is not a contact


def test_a_scheduled_run_of_only_suspended_instances_is_complete_at_once():
    bad = make_fake_instance("fail=target_unreachable", name="bad")
    fail_times(bad, LIMIT)
    session = accounts_sync_all(scheduled=True)
    assert (session.status, session.skipped_instances) == (SessionStatus.COMPLETED, 1)
    assert session.completed_at is not None


def test_manual_runs_still_try_and_a_success_restarts_the_count_but_not_the_schedule():
    bad = make_fake_instance("fail=target_unreachable", name="bad")
    fail_times(bad, LIMIT + 1)  # the manual run after the suspension was tried (and failed again)
    Instance.objects.filter(pk=bad.pk).update(database_name="accounts=2")  # the target is back
    session = accounts_sync_all(instance_ids=[bad.pk])
    assert session.records.get().status == RecordStatus.COMPLETED
    bad.refresh_from_db()
    assert bad.consecutive_failures == 0 and bad.suspended_at is not None  # resuming is explicit


def test_a_successful_connection_test_resumes():
    bad = make_fake_instance("fail=target_unreachable", name="bad")
    fail_times(bad, LIMIT)
    Instance.objects.filter(pk=bad.pk).update(database_name="accounts=2")
    bad.refresh_from_db()
    instance_test_connection(instance=bad)
    bad.refresh_from_db()
    assert (bad.suspended_at, bad.consecutive_failures) == (None, 0)
    assert accounts_sync_all(scheduled=True).records.get().status == RecordStatus.COMPLETED


def test_operators_resume_from_the_api_and_the_admin(api_client, admin_client):
    one = make_fake_instance(name="one", suspended_at=timezone.now(), consecutive_failures=LIMIT)
    two = make_fake_instance(name="two", suspended_at=timezone.now(), consecutive_failures=LIMIT)
    assert [i["name"] for i in api_client.get("/api/v1/instances/", {"is_suspended": "true"}).json()["results"]] == [
        "one", "two"]  # fmt: skip
    body = api_client.post(f"/api/v1/instances/{one.pk}/actions/resume/").json()
    assert (body["suspended_at"], body["consecutive_failures"]) == (None, 0)
    response = admin_client.post(
        "/admin/instances/instance/", {"action": "resume_action", "index": "0", "_selected_action": [str(two.pk)]}
    )
    assert response.status_code == 302
    two.refresh_from_db()
    assert two.suspended_at is None


def test_zero_disables_the_breaker(settings):
    settings.WHALEFALL = {**settings.WHALEFALL, "SUSPEND_AFTER_FAILURES": 0}
    bad = make_fake_instance("fail=target_unreachable", name="bad")
    fail_times(bad, LIMIT + 2)
    bad.refresh_from_db()
    assert bad.suspended_at is None and bad.consecutive_failures == LIMIT + 2

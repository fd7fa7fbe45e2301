"""The per-instance circuit breaker: consecutive failed contacts suspend an instance; scheduled
contact runs then skip it (a ``skipped`` record says why) until an operator resumes it or a
connection test succeeds. Manual runs still try it."""

from __future__ import annotations

import logging
import re

import pytest
from django.utils import timezone

from accounts.services import accounts_sync_all
from instances.models import Instance
from instances.services import instance_test_connection
from sync_sessions.models import RecordStatus, SessionStatus
from sync_sessions.runner import Unit, batch_start
from tests.support.factories import make_fake_instance
from whalefall import errors

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


# --- failure classes: only failures of the target count ---------------------------------------

RAISED: list[BaseException] = []


def raising_unit(*, instance, session):
    """A unit of work of this module: raises the exception the test put in RAISED."""
    raise RAISED[0]


def fail_with(instance: Instance, error: BaseException, times: int) -> list:
    RAISED[:] = [error]
    return [
        batch_start(unit=Unit(raising_unit), sync_category="account", instance_ids=[instance.pk]).records.get()
        for _ in range(times)
    ]


@pytest.mark.parametrize(
    "error",
    [
        errors.ConcurrentOperation("Account sync of x is running"),
        errors.PartitionMissing("no partition for 2031-01"),
        errors.CredentialError("cannot decrypt"),
        errors.UnitUnavailable("renamed"),
        errors.AdapterUnavailable("no driver"),
        errors.TargetQueryFailed("syntax error at or near …"),
        KeyError("privileges"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_failures_that_are_not_the_targets_never_suspend(error):
    instance = make_fake_instance(name="healthy", consecutive_failures=1)
    records = fail_with(instance, error, LIMIT + 2)
    assert {r.status for r in records} == {RecordStatus.FAILED}
    instance.refresh_from_db()
    # the count is neither raised nor reset: a bug says nothing about the target either way
    assert (instance.suspended_at, instance.consecutive_failures) == (None, 1)


@pytest.mark.parametrize(
    "error",
    [errors.TargetUnreachable("refused"), errors.TargetAuthFailed("denied"), errors.TargetTimeout("slow"),
     errors.TargetPermissionDenied("no SELECT on mysql.user")],
    ids=lambda e: type(e).__name__,
)  # fmt: skip
def test_failures_of_the_target_count(error):
    instance = make_fake_instance(name="down")
    fail_with(instance, error, LIMIT)
    instance.refresh_from_db()
    assert instance.consecutive_failures == LIMIT and instance.suspended_at is not None


def test_a_parser_bug_fails_as_internal_error_with_an_id_and_its_traceback_in_the_log(caplog):
    instance = make_fake_instance("accounts=2,bug=parse", name="parsed-badly")
    with caplog.at_level(logging.ERROR, logger="sync_sessions.services"):
        fail_times(instance, LIMIT + 2)
    record = instance.sync_records.order_by("-pk").first()
    assert record.error_code == "internal_error"
    match = re.fullmatch(r"KeyError: 'privileges' \(error id ([0-9a-f]{12})\)", record.error_message)
    assert match, record.error_message
    logged = [r for r in caplog.records if match.group(1) in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "parse_account_rows" in caplog.text and "Traceback" in caplog.text  # the trace, where it was raised
    # one id per failure, so each run's trace can be found
    ids = {r.error_message[-13:-1] for r in instance.sync_records.all()}
    assert len(ids) == LIMIT + 2
    instance.refresh_from_db()
    assert (instance.suspended_at, instance.consecutive_failures) == (None, 0)

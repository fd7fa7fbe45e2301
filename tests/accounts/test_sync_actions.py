"""Account-sync entry points: POST /api/v1/accounts/actions/sync,
POST /api/v1/instances/<id>/actions/sync-accounts and the "Sync accounts" admin action.

They enqueue one django-q2 task per instance on commit; django-q2 runs in sync
mode under test settings, so executing the on_commit callbacks runs the sync.
Targets are the fake engine (tests.support.fake_adapter).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AccountChangeLog, InstanceAccount
from instances.adapters.base import AccountFacts
from sync_sessions.models import SyncSession
from tests.support.factories import make_fake_instance
from tests.support.fake_adapter import FAKE_ACCOUNTS

pytestmark = pytest.mark.django_db

SYNC_URL = "/api/v1/accounts/actions/sync"


@pytest.fixture(autouse=True)
def _clear_fake_accounts():
    FAKE_ACCOUNTS.clear()
    yield
    FAKE_ACCOUNTS.clear()


def post_and_run(client, url, data, capture):
    with capture(execute=True) as callbacks:
        response = client.post(url, data, format="json")
    return response, callbacks


def started(response, total):
    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) == {"session_id", "total_instances", "status_url"}
    assert body["total_instances"] == total
    assert body["status_url"] == f"http://testserver/api/v1/sync-sessions/{body['session_id']}"
    return SyncSession.objects.get(session_id=body["session_id"])


def test_sync_all_active(api_client, admin_user, django_capture_on_commit_callbacks):
    a = make_fake_instance("accounts=4", name="a")
    b = make_fake_instance("accounts=2", name="b")
    make_fake_instance("accounts=9", name="inactive", is_active=False)
    response, callbacks = post_and_run(api_client, SYNC_URL, {}, django_capture_on_commit_callbacks)
    # the request enqueues the batch once; each sync that changed accounts then enqueues its classification
    assert len(callbacks) == 1 + 2
    session = started(response, 2)
    assert (session.sync_type, session.sync_category, session.created_by) == ("manual_batch", "account", admin_user)
    assert (session.status, session.successful_instances) == ("completed", 2)
    assert sorted(session.records.values_list("instance_name", "status", "items_created")) == [
        ("a", "completed", 4),
        ("b", "completed", 2),
    ]
    assert InstanceAccount.objects.filter(instance__in=[a, b]).count() == 6
    # first syncs: one baseline row per instance, no "add" rows
    assert list(AccountChangeLog.objects.filter(session=session).values_list("change_type", flat=True)) == [
        "baseline",
        "baseline",
    ]
    # and the status URL answers
    assert api_client.get(response.json()["status_url"]).json()["status"] == "completed"


def test_sync_given_ids_with_a_failing_instance(api_client, django_capture_on_commit_callbacks):
    ok = make_fake_instance(name="ok")
    FAKE_ACCOUNTS["ok"] = [AccountFacts(username="alice", is_superuser=True)]
    down = make_fake_instance("fail=target_unreachable", name="down")
    make_fake_instance(name="not-selected")
    response, _ = post_and_run(
        api_client, SYNC_URL, {"instance_ids": [ok.pk, down.pk]}, django_capture_on_commit_callbacks
    )
    session = started(response, 2)
    assert (session.status, session.successful_instances, session.failed_instances) == ("failed", 1, 1)
    failed = session.records.get(instance=down)
    assert (failed.status, failed.error_code) == ("failed", "target_unreachable")
    assert list(InstanceAccount.objects.values_list("username", "permission__is_superuser")) == [("alice", True)]


def test_sync_one_id_is_a_single_session(api_client, django_capture_on_commit_callbacks):
    one = make_fake_instance(name="one")
    response, _ = post_and_run(api_client, SYNC_URL, {"instance_ids": [one.pk]}, django_capture_on_commit_callbacks)
    assert started(response, 1).sync_type == "manual_single"


@pytest.mark.parametrize(
    "body",
    [
        {"instance_ids": []},
        {"instance_ids": ["x"]},
        {"instance_ids": [0]},
        {"instance_ids": [2**70]},
        {"instance_ids": "1"},
        {"instance_ids": ["1"]},
        {"instance_ids": [424242]},  # a well-formed id nothing has: 422
    ],
)
def test_sync_bad_input_is_refused_and_creates_nothing(api_client, body, django_capture_on_commit_callbacks):
    make_fake_instance(name="exists")
    response, callbacks = post_and_run(api_client, SYNC_URL, body, django_capture_on_commit_callbacks)
    expected = (422, "unprocessable") if body["instance_ids"] == [424242] else (400, "invalid")
    assert (response.status_code, response.json()["code"]) == expected, response.content
    assert "instance_ids" in response.json()["errors"]
    assert callbacks == [] and not SyncSession.objects.exists()


def test_sync_deleted_instance_is_422(api_client, django_capture_on_commit_callbacks):
    gone = make_fake_instance(name="gone", deleted_at=timezone.now())
    response, _ = post_and_run(api_client, SYNC_URL, {"instance_ids": [gone.pk]}, django_capture_on_commit_callbacks)
    assert response.status_code == 422
    assert str(gone.pk) in str(response.json()["errors"]["instance_ids"])


def test_sync_needs_the_sync_permission():
    make_fake_instance()
    client = APIClient()
    assert client.post(SYNC_URL, {}, format="json").status_code == 401
    user = get_user_model().objects.create_user("plain")
    client.force_authenticate(user)
    assert client.post(SYNC_URL, {}, format="json").status_code == 403
    assert not SyncSession.objects.exists()


# --- /instances/<id>/actions/sync-accounts -------------------------------------------------------------------------
def test_instance_sync_accounts_action(api_client, django_capture_on_commit_callbacks):
    instance = make_fake_instance("accounts=5", name="single")
    url = f"/api/v1/instances/{instance.pk}/actions/sync-accounts"
    response, _ = post_and_run(api_client, url, None, django_capture_on_commit_callbacks)
    session = started(response, 1)
    assert (session.sync_type, session.status) == ("manual_single", "completed")
    assert InstanceAccount.objects.filter(instance=instance).count() == 5
    assert api_client.post("/api/v1/instances/424242/actions/sync-accounts").status_code == 404


def test_instance_sync_accounts_failure_is_recorded_not_raised(api_client, django_capture_on_commit_callbacks):
    instance = make_fake_instance("fail=target_timeout", name="slow")
    url = f"/api/v1/instances/{instance.pk}/actions/sync-accounts/"
    response, _ = post_and_run(api_client, url, None, django_capture_on_commit_callbacks)
    session = started(response, 1)  # the request only enqueues: the failure lands on the session
    assert session.status == "failed"
    assert session.records.get().error_code == "target_timeout"


# --- admin action -----------------------------------------------------------------------------------------------------
def test_admin_sync_accounts_action(admin_client_logged_in, admin_user, django_capture_on_commit_callbacks):
    first = make_fake_instance("accounts=3", name="first")
    second = make_fake_instance("accounts=1", name="second")
    url = reverse("admin:instances_instance_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_logged_in.post(
            url, {"action": "sync_accounts_action", "_selected_action": [first.pk, second.pk]}, follow=True
        )
    assert response.status_code == 200
    session = SyncSession.objects.get(sync_category="account")  # each changed instance is then classified
    assert (session.status, session.total_instances, session.created_by) == ("completed", 2, admin_user)
    assert InstanceAccount.objects.count() == 4
    msgs = [str(m) for m in get_messages(response.wsgi_request)]
    link = reverse("admin:sync_sessions_syncsession_change", args=(session.pk,))
    assert len(msgs) == 1 and f'href="{link}"' in msgs[0] and "2 instance(s)" in msgs[0]
    assert f'href="{link}"' in response.content.decode()  # rendered as a link, not escaped
    assert admin_client_logged_in.get(link).status_code == 200


def test_admin_sync_accounts_action_reports_bad_selection(admin_client_logged_in, django_capture_on_commit_callbacks):
    gone = make_fake_instance(name="gone", deleted_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_logged_in.post(
            reverse("admin:instances_instance_changelist") + "?deleted=yes",  # deleted ones are listed on request
            {"action": "sync_accounts_action", "_selected_action": [gone.pk]},
            follow=True,
        )
    msgs = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
    assert msgs == [("error", f"Unknown or deleted instance id(s): [{gone.pk}]")]
    assert not SyncSession.objects.exists()

"""Connection tests and privilege checks of several instances are batch sessions: the admin
action and the API answer at once with the session (no request waits on several targets), and
each instance's result is on its record. One instance selected in the admin is still answered
in the request (tests/instances/test_test_connection.py, test_privilege_check.py)."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from instances.adapters import base as adapters_base
from instances.adapters.common import Stopwatch
from instances.models import Instance
from sync_sessions.contact import instances_check_privileges_batch, instances_test_connection_batch
from sync_sessions.models import SessionStatus, SyncSession
from tests.support.factories import make_credential, make_fake_instance

pytestmark = pytest.mark.django_db


def run_action(client, action: str, *instances):
    url = reverse("admin:instances_instance_changelist")
    response = client.post(url, {"action": action, "_selected_action": [i.pk for i in instances]}, follow=True)
    assert response.status_code == 200
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(
    ("action", "label"), [("test_connection_action", "Connection test"), ("check_privileges_action", "Privilege check")]
)
def test_the_admin_action_on_several_instances_queues_a_session_and_answers_at_once(
    admin_client_logged_in, action, label
):
    instances = [make_fake_instance(f"delay_ms=5000,n={i}", name=f"slow-{i}") for i in range(3)]
    msgs = run_action(admin_client_logged_in, action, *instances)  # on_commit never runs: nothing contacted
    session = SyncSession.objects.get()
    assert (session.sync_category, session.status, session.enqueued, session.total_instances) == (
        "config", SessionStatus.QUEUED, True, 3,
    )  # fmt: skip
    url = reverse("admin:sync_sessions_syncsession_change", args=(session.pk,))
    ((level, text),) = msgs
    assert level == "success" and text == (
        f'{label} of 3 instance(s) started: <a href="{url}">session {str(session.session_id)[:8]}</a> '
        "(its records fill in as each answers)."
    )
    assert not Instance.objects.exclude(version="").exists()


class _SlowStopwatch(Stopwatch):
    """A wall time the test knows: the fake answers in well under 0.05 ms, or now and then not."""

    def __exit__(self, *exc_info: object) -> None:
        self.elapsed_ms = 12.34


def test_connection_test_results_are_on_the_records(admin_client_logged_in, django_capture_on_commit_callbacks,
                                                    monkeypatch):  # fmt: skip
    monkeypatch.setattr(adapters_base, "Stopwatch", _SlowStopwatch)
    ok = make_fake_instance(name="ok")
    down = make_fake_instance("fail=target_unreachable", name="down")
    with django_capture_on_commit_callbacks(execute=True):  # django-q2 sync mode: the tasks run on commit
        run_action(admin_client_logged_in, "test_connection_action", ok, down)
    session = SyncSession.objects.get()
    assert (session.status, session.successful_instances, session.failed_instances) == ("failed", 1, 1)
    records = {r.instance_name: r for r in session.records.all()}
    assert records["ok"].status == "completed"
    assert records["ok"].sync_details == {"check": "connection", "version": "fake 1.0", "latency_ms": 12.3,
                                          "attempts": 1}  # fmt: skip
    assert (records["down"].status, records["down"].error_code) == ("failed", "target_unreachable")
    assert Instance.objects.get(pk=ok.pk).version == "fake 1.0"
    down.refresh_from_db()
    assert down.consecutive_failures == 0  # a check is not a contact the circuit breaker counts


def test_privilege_checks_that_find_missing_grants_are_partial_and_name_them():
    ok = make_fake_instance(name="ok")
    short = make_fake_instance("missing=database_sizes+table_sizes", name="short",
                               credential=make_credential(username="m"))  # fmt: skip
    session = instances_check_privileges_batch(instance_ids=[ok.pk, short.pk])
    assert (session.status, session.successful_instances, session.partial_instances) == ("completed", 2, 1)
    records = {r.instance_name: r for r in session.records.all()}
    assert (records["ok"].status, records["ok"].sync_details["ok"]) == ("completed", True)
    assert len(records["ok"].sync_details["checks"]) == 3
    assert records["short"].status == "partial" and records["short"].sync_details["ok"] is False
    assert records["short"].error_message == (
        "database_sizes: database_sizes: not granted — fix: GRANT FAKE DATABASE_SIZES TO m;. "
        "table_sizes: table_sizes: not granted — fix: GRANT FAKE TABLE_SIZES TO m;."
    )
    failing = [c for c in records["short"].sync_details["checks"] if not c["ok"]]
    assert [c["fix"] for c in failing] == ["GRANT FAKE DATABASE_SIZES TO m;", "GRANT FAKE TABLE_SIZES TO m;"]


def test_an_inline_batch_leaves_nothing_queued():
    instances = [make_fake_instance(name=f"i{i}") for i in range(2)]
    session = instances_test_connection_batch(instance_ids=[i.pk for i in instances])
    assert (session.status, session.enqueued, session.successful_instances) == ("completed", False, 2)


@pytest.mark.parametrize("path", ["test-connection", "check-privileges"])
def test_the_api_queues_a_session_and_answers_202(api_client, path, django_capture_on_commit_callbacks):
    instances = [make_fake_instance(name=f"api-{i}") for i in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"/api/v1/instances/actions/{path}/", {"instance_ids": [i.pk for i in instances]},
                                   format="json")  # fmt: skip
    assert response.status_code == 202, response.content
    body = response.json()
    session = SyncSession.objects.get(session_id=body["session_id"])
    assert body["total_instances"] == 2
    assert re.fullmatch(rf"http://testserver/api/v1/sync-sessions/{session.session_id}/?", body["status_url"])
    assert (session.sync_category, session.status, session.successful_instances) == ("config", "completed", 2)
    details = api_client.get(body["status_url"]).json()["records"][0]["sync_details"]
    assert details["check"] == ("connection" if path == "test-connection" else "privileges")


def test_the_api_refuses_unknown_instances(api_client):
    response = api_client.post("/api/v1/instances/actions/test-connection/", {"instance_ids": [999999]}, format="json")
    assert response.status_code == 422
    assert not SyncSession.objects.exists()


def test_classify_accounts_from_the_instance_list_is_a_batch(admin_client_logged_in):
    instances = [make_fake_instance(name=f"c{i}") for i in range(2)]
    ((level, text),) = run_action(admin_client_logged_in, "classify_accounts_action", *instances)
    session = SyncSession.objects.get()
    assert level == "success" and text.startswith("Classification of 2 instance(s) started")
    assert (session.sync_category, session.status) == ("classification", SessionStatus.QUEUED)

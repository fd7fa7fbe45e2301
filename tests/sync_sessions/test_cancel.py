"""Cancelling a queued or running session (admin action and API, operators): its queued records
become ``cancelled`` and are never run — also by a worker that later takes their task from the
broker — records already running finish, and the session counts them in ``cancelled_instances``."""

from __future__ import annotations

import queue
from multiprocessing import Value

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ, Task
from django_q.monitor import monitor
from django_q.signing import SignedPackage
from django_q.worker import worker
from rest_framework.test import APIClient

from accounts.models import InstanceAccount
from accounts.services import accounts_sync_all
from sync_sessions.models import RecordStatus, SessionStatus, SyncSession
from sync_sessions.services import record_start, session_create
from tests.support.factories import make_fake_instance

pytestmark = pytest.mark.django_db


def user_in(role: str):
    user = get_user_model().objects.create_user(f"{role}-user", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def queued_session(*names: str) -> SyncSession:
    instances = [make_fake_instance("accounts=2", name=name) for name in names]
    return session_create(sync_type="manual_batch", sync_category="account", instances=instances, queued=True)


def test_operators_cancel_from_the_api_and_a_finished_session_is_a_409():
    session = queued_session("one", "two")
    record_start(record=session.records.order_by("instance_name").first())  # "one" runs
    client = APIClient()
    client.force_authenticate(user_in("operator"))
    url = f"/api/v1/sync-sessions/{session.session_id}/cancel/"
    response = client.post(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["cancelled_instances"], body["failed_instances"]) == ("cancelled", 1, 0)
    assert body["error_message"].startswith("Cancelled by operator-user at ")
    statuses = dict(session.records.values_list("instance_name", "status"))
    assert statuses == {"one": RecordStatus.RUNNING, "two": RecordStatus.CANCELLED}

    again = client.post(url)
    assert again.status_code == 409
    assert again.json()["code"] == "already_finished"
    missing = client.post("/api/v1/sync-sessions/00000000-0000-0000-0000-000000000000/cancel/")
    assert missing.status_code == 404


def test_viewers_may_not_cancel():
    session = queued_session("one")
    client = APIClient()
    client.force_authenticate(user_in("viewer"))
    assert client.post(f"/api/v1/sync-sessions/{session.session_id}/cancel/").status_code == 403
    session.refresh_from_db()
    assert session.status == SessionStatus.QUEUED


def test_the_admin_action_cancels_the_unfinished_and_names_the_finished(client):
    unfinished = queued_session("one", "two")
    finished = session_create(sync_type="manual_single", sync_category="account", instances=[])
    client.force_login(user_in("operator"))
    changelist = reverse("admin:sync_sessions_syncsession_changelist")
    response = client.post(
        changelist,
        {"action": "cancel_action", "_selected_action": [unfinished.pk, finished.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert "1 session(s) cancelled: 2 queued instance run(s) will not start; those already running finish." in (
        messages)  # fmt: skip
    assert f"Already finished, not cancelled: {str(finished.session_id)[:8]}." in messages
    unfinished.refresh_from_db()
    assert (unfinished.status, unfinished.cancelled_instances) == ("cancelled", 2)


def test_viewers_are_not_offered_the_cancel_action(client):
    client.force_login(user_in("viewer"))
    response = client.get(reverse("admin:sync_sessions_syncsession_changelist"))
    offered = {name for name, _ in response.context["action_form"].fields["action"].choices if name}
    assert "cancel_action" not in offered


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_in_the_orm_broker_whose_record_was_cancelled_does_nothing(monkeypatch):
    """End to end with the ORM broker: the batch's tasks wait in django-q2's queue table; the
    session is cancelled; then one worker round (the pusher's dequeue, django-q2's worker and
    monitor, in this process) takes them: they succeed without running anything."""
    monkeypatch.setattr(Conf, "SYNC", False)  # the test settings run tasks at once; here they queue
    one, two = make_fake_instance("accounts=2", name="one"), make_fake_instance("accounts=3", name="two")
    session = accounts_sync_all(instance_ids=[one.pk, two.pk], enqueue=True)  # autocommit: enqueued now
    assert OrmQ.objects.count() == 2
    client = APIClient()
    client.force_authenticate(user_in("operator"))
    assert client.post(f"/api/v1/sync-sessions/{session.session_id}/cancel/").status_code == 200

    broker = get_broker()
    tasks, results = queue.Queue(), queue.Queue()
    while taken := broker.dequeue():  # as the pusher does (Conf.BULK tasks at a time)
        for ack_id, package in taken:
            tasks.put({**SignedPackage.loads(package), "ack_id": ack_id})
    tasks.put("STOP")
    worker(tasks, results, Value("f", -1))
    results.put("STOP")
    monitor(results, broker)

    done = Task.objects.filter(group=str(session.session_id))
    assert sorted(t.result["status"] for t in done) == ["cancelled", "cancelled"] and all(t.success for t in done)
    assert OrmQ.objects.count() == 0  # acknowledged: nothing left for another worker
    assert not InstanceAccount.objects.exists()  # no record ran its unit
    session.refresh_from_db()
    assert (session.status, session.cancelled_instances, session.successful_instances) == ("cancelled", 2, 0)
    assert set(session.records.values_list("status", flat=True)) == {RecordStatus.CANCELLED}

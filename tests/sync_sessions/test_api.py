"""API: /api/v1/sync-sessions (+ /records) and /api/v1/sync-records (read-only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from instances.models import Instance
from sync_sessions.models import SyncInstanceRecord, SyncSession
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_session(minutes=0, **fields):
    values = {"sync_type": "scheduled", "sync_category": "account", "started_at": T0 + timedelta(minutes=minutes)}
    values.update(fields)
    return SyncSession.objects.create(**values)


def make_record(session, instance, **fields):
    values = {"instance_name": instance.name, "sync_category": session.sync_category}
    values.update(fields)
    return SyncInstanceRecord.objects.create(session=session, instance=instance, **values)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"] and "instance_id" in body
    return body


@pytest.fixture
def sessions(db):
    """Three sessions over two instances, oldest first."""
    a, b = make_instance(name="alpha"), make_instance(name="beta")
    s1 = make_session(0, sync_category="account", sync_type="scheduled", status="completed")
    s2 = make_session(10, sync_category="capacity", sync_type="manual_batch", status="failed")
    s3 = make_session(20, sync_category="account", sync_type="manual_single", status="running")
    make_record(s1, b, status="completed", items_synced=3)
    make_record(s1, a, status="completed", items_synced=5)
    make_record(s2, a, status="failed", error_code="target_timeout", error_message="timed out")
    make_record(s3, b, status="running")
    return {"s1": s1, "s2": s2, "s3": s3, "a": a, "b": b}


def session_ids(client, **params):
    response = client.get("/api/v1/sync-sessions/", params)
    assert response.status_code == 200, response.content
    return [row["session_id"] for row in response.json()["results"]]


def test_sessions_newest_first(api_client, sessions):
    s1, s2, s3 = (str(sessions[k].session_id) for k in ("s1", "s2", "s3"))
    assert session_ids(api_client) == [s3, s2, s1]
    row = api_client.get("/api/v1/sync-sessions/").json()["results"][0]
    assert row["status"] == "running" and row["sync_type"] == "manual_single"
    assert "records" not in row


def test_session_filters(api_client, sessions):
    s1, s2, s3 = (str(sessions[k].session_id) for k in ("s1", "s2", "s3"))
    assert session_ids(api_client, sync_category="account") == [s3, s1]
    assert session_ids(api_client, sync_type="manual_batch") == [s2]
    assert session_ids(api_client, status="failed") == [s2]
    assert session_ids(api_client, status=["failed", "completed"]) == [s2, s1]
    assert session_ids(api_client, started_after=(T0 + timedelta(minutes=10)).isoformat()) == [s3, s2]
    assert session_ids(api_client, started_before=(T0 + timedelta(minutes=10)).isoformat()) == [s1]
    assert session_ids(api_client, ordering="started_at") == [s1, s2, s3]

    assert "status" in assert_error(api_client.get("/api/v1/sync-sessions/", {"status": "x"}), 400, "invalid")["errors"]
    response = api_client.get("/api/v1/sync-sessions/", {"started_after": "yesterday"})
    assert "started_after" in assert_error(response, 400, "invalid")["errors"]


def test_session_retrieve_has_nested_records(api_client, sessions):
    session = sessions["s1"]
    response = api_client.get(f"/api/v1/sync-sessions/{session.session_id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["session_id"] == str(session.session_id)
    assert body["status"] == "completed"
    assert [r["instance_name"] for r in body["records"]] == ["alpha", "beta"]
    record = body["records"][0]
    assert record["session"] == str(session.session_id)
    assert record["instance"] == sessions["a"].pk
    assert record["items_synced"] == 5


def test_session_records_subroute(api_client, sessions):
    session = sessions["s1"]
    for url in (
        f"/api/v1/sync-sessions/{session.session_id}/records/",
        f"/api/v1/sync-sessions/{session.session_id}/records",
    ):
        response = api_client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == 2
        assert [r["instance_name"] for r in body["results"]] == ["alpha", "beta"]

    response = api_client.get(f"/api/v1/sync-sessions/{session.session_id}/records/", {"page_size": 1, "page": 2})
    assert [r["instance_name"] for r in response.json()["results"]] == ["beta"]
    # session filters do not apply to the sub-route
    response = api_client.get(f"/api/v1/sync-sessions/{session.session_id}/records/", {"status": "failed"})
    assert response.json()["count"] == 2


@pytest.mark.parametrize("suffix", ["", "records/"])
def test_session_unknown_uuid_is_json_404(api_client, suffix):
    assert_error(api_client.get(f"/api/v1/sync-sessions/{uuid.uuid4()}/{suffix}"), 404, "not_found")
    assert_error(api_client.get(f"/api/v1/sync-sessions/not-a-uuid/{suffix}"), 404, "not_found")
    assert_error(api_client.get("/api/v1/sync-sessions/1/"), 404, "not_found")


def test_sessions_are_read_only(api_client, sessions):
    url = f"/api/v1/sync-sessions/{sessions['s1'].session_id}/"
    assert_error(api_client.post("/api/v1/sync-sessions/", {}, format="json"), 405, "method_not_allowed")
    assert_error(api_client.patch(url, {"status": "failed"}, format="json"), 405, "method_not_allowed")
    assert_error(api_client.delete(url), 405, "method_not_allowed")
    assert_error(api_client.post("/api/v1/sync-records/", {}, format="json"), 405, "method_not_allowed")


def test_records_list_and_filters(api_client, sessions):
    def names(**params):
        response = api_client.get("/api/v1/sync-records/", params)
        assert response.status_code == 200, response.content
        return [(r["instance_name"], r["status"]) for r in response.json()["results"]]

    assert len(names()) == 4
    assert names()[0] == ("beta", "running")  # newest first
    assert sorted(names(session=str(sessions["s1"].session_id))) == [("alpha", "completed"), ("beta", "completed")]
    assert names(instance=sessions["a"].pk, status="failed") == [("alpha", "failed")]
    assert names(sync_category="capacity") == [("alpha", "failed")]
    assert names(session=str(uuid.uuid4())) == []

    assert (
        "session" in assert_error(api_client.get("/api/v1/sync-records/", {"session": "x"}), 400, "invalid")["errors"]
    )
    assert (
        "instance" in assert_error(api_client.get("/api/v1/sync-records/", {"instance": "x"}), 400, "invalid")["errors"]
    )

    record = SyncInstanceRecord.objects.get(session=sessions["s2"])
    body = api_client.get(f"/api/v1/sync-records/{record.pk}/").json()
    assert body["error_code"] == "target_timeout" and body["error_message"] == "timed out"


def test_unauthenticated_is_refused(sessions):
    for url in (
        "/api/v1/sync-sessions/",
        "/api/v1/sync-records/",
        f"/api/v1/sync-sessions/{sessions['s1'].session_id}/",
    ):
        response = APIClient().get(url)
        assert response.status_code in (401, 403)
        assert response.json()["code"] == "not_authenticated"


@pytest.fixture
def many_records(db):
    """200 sessions, one with 200 records (over 200 instances)."""
    instances = Instance.objects.bulk_create(
        [Instance(name=f"i{i:03}", db_type_id="mysql", host="h", port=3306) for i in range(200)]
    )
    sessions = SyncSession.objects.bulk_create(
        [
            SyncSession(sync_type="scheduled", sync_category="account", started_at=T0 + timedelta(minutes=i))
            for i in range(200)
        ]
    )
    big = sessions[0]
    SyncInstanceRecord.objects.bulk_create(
        [
            SyncInstanceRecord(session=big, instance=inst, instance_name=inst.name, sync_category="account")
            for inst in instances
        ]
    )
    return big


def test_list_query_counts(api_client, many_records, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = api_client.get("/api/v1/sync-sessions/", {"page_size": 200})
    assert len(response.json()["results"]) == 200

    with django_assert_max_num_queries(2):
        response = api_client.get("/api/v1/sync-records/", {"page_size": 200})
    assert len(response.json()["results"]) == 200

    with django_assert_max_num_queries(2):
        response = api_client.get(f"/api/v1/sync-records/?session={many_records.session_id}&page_size=200")
    assert len(response.json()["results"]) == 200

    with django_assert_max_num_queries(2):
        response = api_client.get(f"/api/v1/sync-sessions/{many_records.session_id}/")
    assert len(response.json()["records"]) == 200

    with django_assert_max_num_queries(3):
        response = api_client.get(f"/api/v1/sync-sessions/{many_records.session_id}/records/", {"page_size": 200})
    assert len(response.json()["results"]) == 200

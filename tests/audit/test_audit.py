"""The console's audit trail (audit/): who did what from the admin or the API, when, with which
outcome; credential reads and changes on every path; logins; retention; read-only admin."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from audit.services import audit_purge, audit_record
from instances.models import Credential, Instance
from tests.support.factories import make_credential, make_fake_instance, make_instance

pytestmark = pytest.mark.django_db

PASSWORD = "Very-Secret-pw-42"


def user_in(role: str, *, password: str = "pw"):
    user = get_user_model().objects.create_user(f"{role}-user", password=password, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def events(**filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def no_secret_anywhere(secret: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_events WHERE audit_events::text LIKE %s", [f"%{secret}%"])
        assert cursor.fetchone()[0] == 0


# --- API -------------------------------------------------------------------------------------


def test_an_api_action_is_recorded_with_who_what_and_outcome(api_client, admin_user):
    instance = make_instance(name="orders")
    response = api_client.post(f"/api/v1/instances/{instance.pk}/actions/resume/", {}, format="json")
    assert response.status_code == 200, response.content
    [event] = events(action="instances.instance.resume")
    assert (event.user_id, event.username, event.channel, event.outcome, event.status_code) == (
        admin_user.pk, "admin", "api", "success", 200,
    )  # fmt: skip
    assert (event.object_type, event.object_id) == ("instances.instance", str(instance.pk))
    assert event.remote_addr == "127.0.0.1" and event.detail["method"] == "POST"


def test_an_action_another_app_adds_to_instances_is_named_after_it(api_client):
    instance = make_fake_instance()
    response = api_client.post(f"/api/v1/instances/{instance.pk}/actions/sync-accounts/", {}, format="json")
    assert response.status_code == 202, response.content
    [event] = events(action="instances.instance.sync_accounts")
    assert (event.object_id, event.outcome, event.status_code) == (str(instance.pk), "success", 202)


def test_a_token_authenticated_request_is_attributed_to_the_token_user():
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_superuser("tokenuser", "t@example.com", "pw")
    instance = make_instance(name="orders")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert client.post(f"/api/v1/instances/{instance.pk}/actions/resume/", {}, format="json").status_code == 200
    [event] = events(action="instances.instance.resume")
    assert (event.user_id, event.username, event.channel) == (user.pk, "tokenuser", "api")


def test_denied_and_invalid_requests_are_recorded_as_such():
    client = APIClient()
    client.force_authenticate(user_in("viewer"))
    assert client.post("/api/v1/instances/", {"name": "x"}, format="json").status_code == 403
    admin = APIClient()
    admin.force_authenticate(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    assert admin.post("/api/v1/instances/", {"name": 5}, format="json").status_code == 400
    assert [(e.username, e.action, e.outcome, e.status_code) for e in events(action="instances.instance.create")] == [
        ("viewer-user", "instances.instance.create", "denied", 403),
        ("boss", "instances.instance.create", "failure", 400),
    ]


def test_plain_reads_are_not_recorded_and_a_recorded_request_costs_one_insert(api_client):
    make_instance(name="one")
    AuditEvent.objects.all().delete()  # its credential's creation
    api_client.get("/api/v1/instances/")
    api_client.get("/api/v1/sync-sessions/")
    assert AuditEvent.objects.count() == 0
    instance = Instance.objects.get(name="one")
    with CaptureQueriesContext(connection) as captured:
        api_client.post(f"/api/v1/instances/{instance.pk}/actions/resume/", {}, format="json")
    inserts = [q["sql"] for q in captured.captured_queries if q["sql"].startswith('INSERT INTO "audit_events"')]
    assert len(inserts) == 1


def test_a_csv_export_is_recorded_with_its_filters(api_client):
    make_instance(name="one", environment="production")
    response = api_client.get("/api/v1/instances/?format=csv&environment=production")
    b"".join(response.streaming_content)
    [event] = events(status_code__isnull=False)
    assert event.action == "instances.instance.list.export"
    assert event.detail["query"] == "format=csv&environment=production" and event.outcome == "success"


# --- admin -----------------------------------------------------------------------------------


def test_an_admin_action_is_recorded_with_how_many_rows_it_was_given(admin_client_logged_in):
    chosen = [make_instance(name="a").pk, make_instance(name="b").pk]
    response = admin_client_logged_in.post(
        "/admin/instances/instance/?environment__exact=production",
        {"action": "deactivate_action", "index": "0", "post": "yes", "_selected_action": [str(pk) for pk in chosen]},
    )
    assert response.status_code == 302
    [event] = events(action="instances.instance.deactivate_action")
    assert event.channel == "admin" and event.outcome == "success" and event.username == "admin"
    assert event.detail["selected"] == 2 and event.detail["select_across"] is False
    assert event.detail["query"] == "environment__exact=production"


def test_an_admin_post_without_login_is_denied(client):
    pk = make_instance(name="a").pk
    response = client.post("/admin/instances/instance/", {"action": "deactivate_action", "_selected_action": [pk]})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    [event] = events(action="instances.instance.deactivate_action")
    assert (event.outcome, event.user_id, event.username) == ("denied", None, "")
    assert Instance.objects.get(pk=pk).is_active


def test_an_admin_form_shown_again_with_errors_is_a_failure(admin_client_logged_in):
    response = admin_client_logged_in.post("/admin/instances/tag/add/", {"name": ""})
    assert response.status_code == 200
    [event] = events(action="instances.tag.add")
    assert event.outcome == "failure"


def test_the_delete_confirmation_page_alone_is_not_an_event(admin_client_logged_in):
    tag_pk = make_instance(name="x", tags=["t1"]).tags.get().pk
    url = "/admin/instances/tag/"
    AuditEvent.objects.all().delete()
    admin_client_logged_in.post(url, {"action": "delete_selected", "_selected_action": [str(tag_pk)]})
    assert events() == []
    admin_client_logged_in.post(url, {"action": "delete_selected", "_selected_action": [str(tag_pk)], "post": "yes"})
    assert [e.action for e in events()] == ["instances.tag.delete_selected"]


# --- credentials: every read, every change -----------------------------------------------------


def test_every_read_of_a_credential_page_or_endpoint_is_recorded(admin_client_logged_in, api_client):
    credential = make_credential(name="ops")
    AuditEvent.objects.all().delete()
    assert admin_client_logged_in.get("/admin/instances/credential/").status_code == 200
    assert admin_client_logged_in.get(f"/admin/instances/credential/{credential.pk}/change/").status_code == 200
    assert api_client.get("/api/v1/credentials/").status_code == 200
    assert api_client.get(f"/api/v1/credentials/{credential.pk}/").status_code == 200
    viewer = APIClient()
    viewer.force_authenticate(user_in("viewer"))
    assert viewer.get(f"/api/v1/credentials/{credential.pk}/").status_code == 403
    assert [(e.channel, e.action, e.object_id, e.outcome) for e in events()] == [
        ("admin", "instances.credential.view", "", "success"),
        ("admin", "instances.credential.view", str(credential.pk), "success"),
        ("api", "instances.credential.view", "", "success"),
        ("api", "instances.credential.view", str(credential.pk), "success"),
        ("api", "instances.credential.view", str(credential.pk), "denied"),
    ]


def test_credential_changes_are_recorded_on_every_path_and_never_the_password(api_client, admin_client_logged_in):
    response = api_client.post(
        "/api/v1/credentials/", {"name": "ops", "username": "mon", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    api_client.patch(f"/api/v1/credentials/{pk}/", {"password": PASSWORD + "2"}, format="json")
    admin_client_logged_in.post(f"/admin/instances/credential/{pk}/change/",
                                {"name": "ops2", "username": "mon", "password": ""})  # fmt: skip
    Credential.objects.get(pk=pk).delete()  # any path: the shell, a cascade
    domain = [(e.action, e.detail.get("changed")) for e in events(action__regex=r"\.(created|updated|deleted)$")]
    assert domain == [
        ("instances.credential.created", None),
        ("instances.credential.updated", ["password"]),
        ("instances.credential.updated", ["name"]),
        ("instances.credential.deleted", None),
    ]
    requests = [(e.channel, e.action) for e in events(status_code__isnull=False)]
    assert requests == [
        ("api", "instances.credential.create"),
        ("api", "instances.credential.partial_update"),
        ("admin", "instances.credential.change"),
    ]
    no_secret_anywhere(PASSWORD)


def test_key_rotation_is_recorded_per_credential_as_the_os_user(settings):
    from cryptography.fernet import Fernet

    old_key = settings.CREDENTIAL_KEY
    make_credential(name="ops")
    settings.CREDENTIAL_KEY, settings.CREDENTIAL_OLD_KEYS = Fernet.generate_key().decode(), [old_key]
    call_command("rotate_credentials_key", stdout=io.StringIO())
    [event] = events(action="instances.credential.key_rotated")
    assert event.channel == "command" and event.outcome == "success" and event.detail["result"] == "rotated"


# --- logins ----------------------------------------------------------------------------------


def test_admin_logins_failed_logins_and_logouts_are_recorded(client):
    user = user_in("admin", password=PASSWORD)
    client.post("/admin/login/", {"username": "admin-user", "password": "wrong-" + PASSWORD})
    client.post("/admin/login/", {"username": "admin-user", "password": PASSWORD})
    client.post("/admin/logout/")
    assert [(e.action, e.outcome, e.username, e.user_id, e.channel) for e in events()] == [
        ("login", "failure", "admin-user", None, "admin"),
        ("login", "success", "admin-user", user.pk, "admin"),
        ("logout", "success", "admin-user", user.pk, "admin"),
    ]
    no_secret_anywhere(PASSWORD)


def test_token_logins_are_recorded_once_each():
    user = user_in("viewer", password=PASSWORD)
    client = APIClient()
    url = "/api/v1/auth/token/"
    assert client.post(url, {"username": "viewer-user", "password": "nope"}, format="json").status_code == 401
    assert client.post(url, {"username": "viewer-user", "password": PASSWORD}, format="json").status_code == 200
    assert [(e.action, e.outcome, e.username, e.user_id, e.channel) for e in events()] == [
        ("login", "failure", "viewer-user", None, "api"),
        ("login", "success", "viewer-user", user.pk, "api"),
    ]
    no_secret_anywhere(PASSWORD)


# --- retention, admin, schema ------------------------------------------------------------------


def test_retention_deletes_only_older_events_in_batches(settings):
    now = timezone.now()
    for days in (400, 366, 10, 0):
        event = audit_record(action="probe", detail={"days": days})
        AuditEvent.objects.filter(pk=event.pk).update(occurred_at=now - dt.timedelta(days=days))
    settings.WHALEFALL = {**settings.WHALEFALL, "AUDIT_RETENTION_DAYS": 365}
    assert audit_purge(batch_size=1) == 2
    assert sorted(e.detail["days"] for e in events()) == [0, 10]
    settings.WHALEFALL = {**settings.WHALEFALL, "AUDIT_RETENTION_DAYS": 0}
    AuditEvent.objects.filter(detail__days=10).update(occurred_at=now - dt.timedelta(days=5000))
    assert audit_purge() == 0  # 0 keeps everything


def test_purge_command_reports_what_it_deleted(capsys):
    old = audit_record(action="probe")
    AuditEvent.objects.filter(pk=old.pk).update(occurred_at=timezone.now() - dt.timedelta(days=40))
    audit_record(action="probe")
    call_command("purge_audit", "--days", "30")
    assert "deleted 1 audit event(s) older than 30 day(s)" in capsys.readouterr().out
    assert AuditEvent.objects.count() == 1


def test_the_admin_shows_the_trail_read_only_and_to_admins_only(client, admin_client_logged_in):
    audit_record(action="probe", detail={"note": "visible"})
    page = admin_client_logged_in.get("/admin/audit/auditevent/")
    assert page.status_code == 200 and b"probe" in page.content
    event = AuditEvent.objects.get(action="probe")
    detail = admin_client_logged_in.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert detail.status_code == 200 and b"visible" in detail.content and b'name="_save"' not in detail.content
    assert admin_client_logged_in.get("/admin/audit/auditevent/add/").status_code == 403
    for role in ("viewer", "operator"):
        user = user_in(role)
        client.force_login(user)
        assert client.get("/admin/audit/auditevent/").status_code == 403, role


def test_the_usual_filters_have_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'audit_events' ORDER BY indexname")
        indexes = sorted(row[0].split(" USING ", 1)[1] for row in cursor.fetchall())
    assert indexes == ["btree (action, occurred_at)", "btree (id)", "btree (occurred_at)",
                       "btree (user_id, occurred_at)"]  # fmt: skip

"""Test connection: the service, the admin action, the API action and the command.

Live against this machine's PostgreSQL (127.0.0.1:5432, postgres, trust) and
MariaDB (127.0.0.1:3306, root, empty password): skipped when unreachable,
failing when ``CI`` is set (tests/live_targets.py). Failures use a closed
port (TargetUnreachable) or the fake engine.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from console.roles import groups_ensure
from instances.models import Instance
from instances.services import instance_test_connection
from tests.live_targets import MYSQL_HOST, MYSQL_PORT
from tests.support.factories import make_credential, make_fake_instance, make_instance
from whalefall.errors import TargetAuthFailed, TargetUnreachable

pytestmark = pytest.mark.django_db

SECRET = "Never-Shown-9x!"


@pytest.fixture
def pg_instance(pg_admin_conn, pg_target):
    """A live PostgreSQL target (trust auth: any password is accepted)."""
    credential = make_credential(username="postgres", password=SECRET)
    return make_instance(name="live-pg", db_type="postgresql", host=pg_target.host, port=pg_target.port,
                         credential=credential)  # fmt: skip


@pytest.fixture
def mariadb_instance(mysql_admin_conn):
    credential = make_credential(username="root", password="")
    return make_instance(name="live-mariadb", db_type="mysql", host=MYSQL_HOST, port=MYSQL_PORT, credential=credential)


@pytest.fixture
def closed_instance(closed_port):
    credential = make_credential(username="postgres", password=SECRET)
    return make_instance(
        name="closed", db_type="postgresql", host="127.0.0.1", port=closed_port, credential=credential,
        connect_timeout=3,
    )  # fmt: skip


def user_with(*codenames: str):
    user = get_user_model().objects.create_user("someone", password="pw-12345")
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


# --- service --------------------------------------------------------------------------------------------------------
@pytest.mark.live
def test_postgresql_version_and_last_connected_are_stored(pg_instance):
    result = instance_test_connection(instance=pg_instance)
    assert result.version[:2].isdigit() and result.latency_ms > 0
    stored = Instance.objects.get(pk=pg_instance.pk)
    assert stored.version == result.version == pg_instance.version
    assert stored.last_connected_at is not None


@pytest.mark.live
def test_mariadb_version_and_last_connected_are_stored(mariadb_instance):
    result = instance_test_connection(instance=mariadb_instance)
    assert "MariaDB" in result.version or result.version[0].isdigit()
    stored = Instance.objects.get(pk=mariadb_instance.pk)
    assert (stored.version, stored.last_connected_at is not None) == (result.version, True)


def test_closed_port_raises_typed_error_and_changes_nothing(closed_instance):
    with pytest.raises(TargetUnreachable) as excinfo:
        instance_test_connection(instance=closed_instance)
    assert excinfo.value.instance_id == closed_instance.pk
    assert SECRET not in excinfo.value.message
    stored = Instance.objects.get(pk=closed_instance.pk)
    assert (stored.version, stored.last_connected_at) == ("", None)


def test_fake_engine_errors_propagate():
    instance = make_fake_instance("fail=target_auth_failed")
    with pytest.raises(TargetAuthFailed):
        instance_test_connection(instance=instance)


# --- API --------------------------------------------------------------------------------------------------------------
def _api_url(instance) -> str:
    return f"/api/v1/instances/{instance.pk}/actions/test-connection"


@pytest.mark.live
def test_api_success(api_client, pg_instance):
    response = api_client.post(_api_url(pg_instance))
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"instance_id", "version", "latency_ms"}
    assert body["instance_id"] == pg_instance.pk
    assert body["version"] == Instance.objects.get(pk=pg_instance.pk).version
    assert SECRET not in response.content.decode()


def test_api_closed_port_is_502_json(api_client, closed_instance):
    response = api_client.post(_api_url(closed_instance) + "/")
    assert response.status_code == 502, response.content
    body = response.json()
    assert body["code"] == "target_unreachable"
    assert body["instance_id"] == closed_instance.pk
    assert closed_instance.name in body["message"]
    assert SECRET not in response.content.decode()


@pytest.mark.parametrize(("fail", "status"), [("target_timeout", 504), ("target_auth_failed", 502)])
def test_api_error_statuses(api_client, fail, status):
    instance = make_fake_instance(f"fail={fail}")
    response = api_client.post(_api_url(instance))
    assert (response.status_code, response.json()["code"]) == (status, fail)


def test_api_missing_credential_is_409(api_client):
    instance = make_fake_instance(credential=None)
    response = api_client.post(_api_url(instance))
    assert (response.status_code, response.json()["code"]) == (409, "credential_error")


def test_api_unknown_instance_is_404(api_client):
    assert api_client.post("/api/v1/instances/987654/actions/test-connection").status_code == 404


def test_api_needs_the_sync_permission():
    instance = make_fake_instance()
    client = APIClient()
    assert client.post(_api_url(instance)).status_code == 401
    client.force_authenticate(user_with("view_instance", "change_instance"))
    assert client.post(_api_url(instance)).status_code == 403
    client.force_authenticate(user_with_sync := get_user_model().objects.create_user("op"))
    groups_ensure()
    user_with_sync.groups.add(Group.objects.get(name="operator"))
    response = client.post(_api_url(instance))
    assert response.status_code == 200, response.content
    assert response.json()["version"] == "fake 1.0"


def test_api_get_is_not_allowed(api_client):
    instance = make_fake_instance()
    assert api_client.get(_api_url(instance)).status_code == 405


# --- admin ------------------------------------------------------------------------------------------------------------
def _run_action(client, action: str, *instances):
    url = reverse("admin:instances_instance_changelist")
    data = {"action": action, "_selected_action": [i.pk for i in instances]}
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    return response, [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def test_admin_action_on_one_instance_answers_in_the_request(admin_client_logged_in, closed_instance):
    ok = make_fake_instance("accounts=1", name="fake-ok")
    _response, msgs = _run_action(admin_client_logged_in, "test_connection_action", ok)
    assert msgs == [("success", "fake-ok: ok — fake 1.0 (0 ms)")]
    assert Instance.objects.get(pk=ok.pk).version == "fake 1.0"
    response, msgs = _run_action(admin_client_logged_in, "test_connection_action", closed_instance)
    assert len(msgs) == 1 and msgs[0][0] == "error" and msgs[0][1].startswith("closed: FAILED (target_unreachable)")
    assert SECRET not in response.content.decode()
    assert all(SECRET not in text for _level, text in msgs)


@pytest.mark.live
def test_admin_action_live(admin_client_logged_in, pg_instance):
    _response, msgs = _run_action(admin_client_logged_in, "test_connection_action", pg_instance)
    assert [level for level, _text in msgs] == ["success"], msgs


def _offered_actions(client) -> set[str]:
    response = client.get(reverse("admin:instances_instance_changelist"))
    assert response.status_code == 200
    form = response.context["action_form"]
    return {choice[0] for choice in form.fields["action"].choices} if form else set()


def test_admin_actions_need_the_sync_permission(client):
    user = user_with("view_instance", "change_instance")
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert not {"test_connection_action", "sync_accounts_action"} & _offered_actions(client)
    groups_ensure()  # operator: view permissions + custom ones (instances.sync_instance)
    user.groups.add(Group.objects.get(name="operator"))
    assert {"test_connection_action", "sync_accounts_action"} <= _offered_actions(client)


# --- command ----------------------------------------------------------------------------------------------------------
def run(*args):
    out = io.StringIO()
    call_command("test_connection", *args, stdout=out)
    return out.getvalue()


def test_command_default_is_every_active_instance_and_fails_if_any_failed():
    make_fake_instance(name="a-ok")
    make_fake_instance("fail=target_unreachable", name="b-down")
    make_fake_instance(name="c-inactive", is_active=False)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 instance"):
        call_command("test_connection", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("a-ok") and " ok " in lines[0] and "fake 1.0" in lines[0]
    assert lines[1].startswith("b-down") and "FAILED  target_unreachable:" in lines[1]


def test_command_by_name_and_id_exits_zero():
    one, two = make_fake_instance(name="one"), make_fake_instance(name="two")
    out = run("--instance", "one", "--instance", str(two.pk))
    assert [line.split()[0:2] for line in out.splitlines()] == [["one", "ok"], ["two", "ok"]]
    assert Instance.objects.get(pk=one.pk).version == "fake 1.0"


@pytest.mark.live
def test_command_live(pg_instance, mariadb_instance):
    out = run("--instance", "live-pg", "--instance", "live-mariadb")
    assert out.count(" ok ") == 2, out


def test_command_closed_port_exit_code(closed_instance):
    with pytest.raises(CommandError):
        run("--instance", "closed")


def test_command_bad_input():
    with pytest.raises(CommandError, match="Unknown instance name"):
        run("--instance", "nope")
    with pytest.raises(CommandError, match="Unknown or deleted"):
        run("--instance", "424242")
    with pytest.raises(CommandError, match="either"):
        run("--instance", "x", "--all")


def test_command_without_instances():
    assert "No active instances" in run()

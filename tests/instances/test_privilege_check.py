"""Monitoring-account self-check: the selector, the API, the command and the admin action.

The fake engine (tests/support/fake_adapter.py, ``missing=…``) stands in for a target whose
login lacks privileges; live runs against the machine's MariaDB and PostgreSQL (skipped
without them, failing under ``CI``). The engines' own checks are tested in
tests/instances/adapters/test_privileges_*.py.
"""

from __future__ import annotations

import io
import secrets

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from console.roles import groups_ensure
from instances.models import Instance
from instances.selectors import instances_check_privileges
from tests.live_targets import MYSQL_HOST, MYSQL_PORT, RUN_PREFIX
from tests.support.factories import make_credential, make_fake_instance, make_instance
from whalefall.errors import TargetUnreachable

pytestmark = pytest.mark.django_db

SECRET = "Never-Shown-7q!"


@pytest.fixture
def closed_instance(closed_port):
    credential = make_credential(username="wf_monitor", password=SECRET)
    return make_instance(name="closed", db_type="postgresql", host="127.0.0.1", port=closed_port,
                         credential=credential, connect_timeout=3)  # fmt: skip


@pytest.fixture
def mariadb_restricted(mysql_scratch):
    """The live MariaDB through a login holding nothing but USAGE."""
    name = f"{RUN_PREFIX}pc_cmd"
    mysql_scratch.later(f"DROP USER IF EXISTS '{name}'@'%'")
    password = secrets.token_hex(8)
    mysql_scratch.run(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'")
    credential = make_credential(username=name, password=password)
    return make_instance(name="live-mariadb", db_type="mysql", host=MYSQL_HOST, port=MYSQL_PORT,
                         credential=credential)  # fmt: skip


@pytest.fixture
def pg_superuser(pg_admin_conn, pg_target):
    credential = make_credential(username="postgres", password=SECRET)  # trust: the password is not used
    return make_instance(name="live-pg", db_type="postgresql", host=pg_target.host, port=pg_target.port,
                         credential=credential)  # fmt: skip


# --- selector ---------------------------------------------------------------------------------------------------


def test_selector_reports_in_collector_order_without_metadata_queries(django_assert_num_queries):
    instance = Instance.objects.select_related("credential").get(pk=make_fake_instance("missing=table_sizes").pk)
    with django_assert_num_queries(0):
        report = instances_check_privileges(instance=instance)
    assert [c.collector for c in report.checks] == ["account_sync", "database_sizes", "table_sizes"]
    assert not report.ok and [c.collector for c in report.failures] == ["table_sizes"]
    assert report.instance_id == instance.pk


def test_selector_raises_typed_errors(closed_instance):
    with pytest.raises(TargetUnreachable) as caught:
        instances_check_privileges(instance=closed_instance)
    assert caught.value.instance_id == closed_instance.pk and SECRET not in caught.value.message


# --- API --------------------------------------------------------------------------------------------------------


def _url(instance) -> str:
    return f"/api/v1/instances/{instance.pk}/privilege-check/"


def test_api_body_and_query_count(api_client, django_assert_max_num_queries):
    instance = make_fake_instance("missing=account_sync", credential=make_credential(username="wf_monitor"))
    with django_assert_max_num_queries(1):  # the instance with its credential (the superuser needs no lookup)
        response = api_client.get(_url(instance))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body == {
        "instance_id": instance.pk,
        "ok": False,
        "checks": [
            {"collector": "account_sync", "target": "", "ok": False, "detail": "account_sync: not granted",
             "fix": "GRANT FAKE ACCOUNT_SYNC TO wf_monitor;"},
            {"collector": "database_sizes", "target": "", "ok": True, "detail": "database_sizes: granted",
             "fix": None},
            {"collector": "table_sizes", "target": "", "ok": True, "detail": "table_sizes: granted", "fix": None},
        ],
    }  # fmt: skip


def test_api_all_ok(api_client):
    body = api_client.get(_url(make_fake_instance())).json()
    assert body["ok"] is True and all(check["ok"] for check in body["checks"])


def test_api_closed_port_is_502(api_client, closed_instance):
    response = api_client.get(_url(closed_instance))
    assert response.status_code == 502, response.content
    body = response.json()
    assert (body["code"], body["instance_id"]) == ("target_unreachable", closed_instance.pk)
    assert SECRET not in response.content.decode()


@pytest.mark.parametrize(("fail", "status"), [("target_timeout", 504), ("target_auth_failed", 502)])
def test_api_error_statuses(api_client, fail, status):
    response = api_client.get(_url(make_fake_instance(f"fail={fail}")))
    assert (response.status_code, response.json()["code"]) == (status, fail)


def test_api_missing_credential_is_409_and_unknown_instance_404(api_client):
    response = api_client.get(_url(make_fake_instance(credential=None)))
    assert (response.status_code, response.json()["code"]) == (409, "credential_error")
    assert api_client.get("/api/v1/instances/987654/privilege-check/").status_code == 404


def test_api_needs_the_sync_permission():
    instance = make_fake_instance()
    client = APIClient()
    assert client.get(_url(instance)).status_code == 401
    groups_ensure()
    viewer = get_user_model().objects.create_user("viewer-1")
    viewer.groups.add(Group.objects.get(name="viewer"))
    client.force_authenticate(viewer)
    assert client.get(_url(instance)).status_code == 403  # it contacts the target, like a connection test
    operator = get_user_model().objects.create_user("operator-1")
    operator.groups.add(Group.objects.get(name="operator"))
    client.force_authenticate(operator)
    assert client.get(_url(instance)).status_code == 200


@pytest.mark.live
def test_api_live_postgresql(api_client, pg_superuser):
    response = api_client.get(_url(pg_superuser))
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert {"account_sync", "database_sizes", "database"} <= {c["collector"] for c in checks}
    assert all(c["ok"] for c in checks if c["target"] in ("", "postgres"))  # other runs' databases may be closed


# --- command ----------------------------------------------------------------------------------------------------


def run(*args) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("check_target_privileges", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_command_lists_failures_with_their_grants_and_exits_non_zero():
    make_fake_instance(name="a-ok")
    make_fake_instance("missing=account_sync+table_sizes", name="b-short", credential=make_credential(username="mon"))
    make_fake_instance("fail=target_unreachable", name="c-down")
    out, error = run()
    assert out.splitlines() == [
        "a-ok     ok      3 checks",
        "b-short  MISSING 2 of 3 checks",
        "  account_sync: account_sync: not granted",
        "    GRANT FAKE ACCOUNT_SYNC TO mon;",
        "  table_sizes: table_sizes: not granted",
        "    GRANT FAKE TABLE_SIZES TO mon;",
        "c-down   FAILED  target_unreachable: Instance 'c-down': injected target_unreachable",
    ]
    assert str(error) == "3 instance(s): 1 ok, 1 missing privileges (2 check(s)), 1 not reached"


def test_command_all_ok_exits_zero_and_takes_ids_and_names():
    one, two = make_fake_instance(name="one"), make_fake_instance(name="two")
    out, error = run("--instance", "one", "--instance", str(two.pk))
    assert error is None and one.pk != two.pk
    assert out.splitlines()[-1] == "2 instance(s): 2 ok, 0 missing privileges (0 check(s)), 0 not reached"


def test_command_unreachable_alone_fails(closed_instance):
    out, error = run("--instance", "closed")
    assert error is not None and "target_unreachable" in out and SECRET not in out


def test_command_bad_input_and_nothing_to_check():
    assert "Unknown instance name" in str(run("--instance", "nope")[1])
    assert run() == ("No active instances to check.\n", None)


@pytest.mark.live
def test_command_live_mariadb_prints_the_grants(mariadb_restricted):
    out, error = run("--instance", "live-mariadb")
    name = mariadb_restricted.credential.username
    assert error is not None
    assert f"    GRANT SELECT ON mysql.global_priv TO '{name}'@'%';" in out.splitlines()
    assert f"    GRANT SHOW DATABASES, SHOW VIEW ON *.* TO '{name}'@'%';" in out.splitlines()


# --- admin ------------------------------------------------------------------------------------------------------


def _run_action(client, *instances):
    url = reverse("admin:instances_instance_changelist")
    data = {"action": "check_privileges_action", "_selected_action": [i.pk for i in instances]}
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    return response, [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def test_admin_action_on_one_instance_lists_failures_and_grants(admin_client_logged_in, closed_instance):
    ok = make_fake_instance(name="fake-ok")
    short = make_fake_instance("missing=database_sizes", name="fake-short", credential=make_credential(username="m"))
    _response, msgs = _run_action(admin_client_logged_in, ok)
    assert msgs == [("success", "fake-ok: all 3 privilege checks ok")]
    _response, msgs = _run_action(admin_client_logged_in, short)
    assert msgs == [("error", "fake-short: database_sizes: database_sizes: not granted — fix: GRANT FAKE "
                     "DATABASE_SIZES TO m;")]  # fmt: skip
    response, msgs = _run_action(admin_client_logged_in, closed_instance)
    assert len(msgs) == 1 and msgs[0][1].startswith("closed: FAILED (target_unreachable)")
    assert SECRET not in response.content.decode() and all(SECRET not in text for _level, text in msgs)

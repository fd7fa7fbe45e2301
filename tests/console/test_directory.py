"""Directory login against a real OpenLDAP slapd (tests/support/slapd.py): console and API token,
roles from directory groups, a deadline when the directory does not answer, and local accounts
that a directory never locks out or takes over."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.support.slapd import GROUPS, PEOPLE, SERVICE_DN, SERVICE_PASSWORD, group_dn
from whalefall.settings import WHALEFALL_LDAP, ldap_auth_settings

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "console.directory.DirectoryBackend",
]


def configure(settings, urls: list[str], *, service_account: bool = True, timeout: int = 2) -> None:
    """Directory login as the README describes it, pointed at ``urls``."""
    config = {
        **WHALEFALL_LDAP,
        "URLS": urls,
        "TIMEOUT": timeout,
        "BIND_DN": SERVICE_DN if service_account else "",
        "BIND_PASSWORD": SERVICE_PASSWORD if service_account else "",
        "USER_BASE": PEOPLE,
        "GROUP_BASE": GROUPS,
        "ROLE_GROUPS": [("viewer", group_dn("dba-viewers")), ("operator", group_dn("dba-operators")),
                        ("admin", group_dn("dba-admins"))],  # fmt: skip
    }
    settings.WHALEFALL_LDAP = config
    settings.AUTHENTICATION_BACKENDS = BACKENDS
    for name, value in ldap_auth_settings(config).items():
        setattr(settings, name, value)


@pytest.fixture
def directory(settings, slapd_server):
    configure(settings, [slapd_server.url])
    return slapd_server


def roles_of(username: str) -> list[str]:
    user = get_user_model().objects.get(username=username)
    return sorted(user.groups.values_list("name", flat=True))


def admin_login(client, username: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_a_directory_login_gets_the_roles_of_its_directory_groups_and_no_local_password(client, directory):
    response = admin_login(client, "alice", "alice-pw")
    assert response.status_code == 302 and response.url == "/admin/"
    alice = get_user_model().objects.get(username="alice")
    assert roles_of("alice") == ["operator"]
    assert alice.is_staff and not alice.is_superuser and not alice.has_usable_password()
    assert (alice.first_name, alice.email) == ("Alice", "alice@whalefall.test")
    assert client.get("/admin/").status_code == 200
    assert AuditEvent.objects.filter(action="login", username="alice", outcome="success").exists()
    # several groups: every mapped role
    admin_login(client, "bob", "bob-pw")
    assert roles_of("bob") == ["admin", "viewer"]


def test_a_login_under_a_nested_unit_is_found_by_the_service_account(client, directory):
    # dave lives in ou=finance: found by the search, not by a DN template
    assert admin_login(client, "dave", "dave-pw").status_code == 302
    assert roles_of("dave") == ["viewer"]


def test_without_a_service_account_the_login_binds_as_attribute_under_the_user_base(client, settings, slapd_server):
    configure(settings, [slapd_server.url], service_account=False)
    settings.LDAP_AUTH_SEARCH_BASE = f"ou=ops,{PEOPLE}"  # the template names the unit directly
    assert admin_login(client, "alice", "alice-pw").status_code == 302
    assert roles_of("alice") == ["operator"]


def test_roles_follow_the_directory_at_every_login(client, directory):
    admin_login(client, "alice", "alice-pw")
    directory.set_member("dba-operators", "alice", "ops", member=False)
    directory.set_member("dba-viewers", "alice", "ops", member=True)
    try:
        client.logout()
        assert admin_login(client, "alice", "alice-pw").status_code == 302
        assert roles_of("alice") == ["viewer"]
    finally:
        directory.set_member("dba-viewers", "alice", "ops", member=False)
        directory.set_member("dba-operators", "alice", "ops", member=True)


def test_a_login_in_no_mapped_group_is_refused_saying_why(client, directory):
    response = admin_login(client, "carol", "carol-pw")
    assert response.status_code == 200
    assert "is in none of the directory groups" in response.content.decode()
    carol = get_user_model().objects.get(username="carol")
    assert not carol.is_staff and roles_of("carol") == []


def test_a_wrong_directory_password_is_an_ordinary_failed_login(client, directory):
    response = admin_login(client, "alice", "wrong")
    page = response.content.decode()
    assert response.status_code == 200 and "Please enter the correct username and password" in page
    assert "did not answer" not in page
    assert AuditEvent.objects.filter(action="login", username="alice", outcome="failure").exists()


def test_the_token_endpoint_accepts_directory_logins(directory):
    response = APIClient().post(TOKEN, {"username": "bob", "password": "bob-pw"}, format="json")
    assert response.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/instances/").status_code == 200  # viewer and admin
    refused = APIClient().post(TOKEN, {"username": "carol", "password": "carol-pw"}, format="json")
    assert refused.status_code == 401 and "none of the directory groups" in refused.json()["message"]


def test_a_local_account_is_never_looked_up_nor_taken_over_by_the_directory(client, directory, admin_user):
    # the directory holds an "admin" with another password and the admins group
    response = admin_login(client, "admin", "directory-admin-pw")
    assert response.status_code == 200  # the local account's password is the only one
    admin_user.refresh_from_db()
    assert admin_user.check_password("admin-pass") and admin_user.is_superuser
    assert admin_login(client, "admin", "admin-pass").status_code == 302


@pytest.mark.parametrize("down", ["closed", "silent"])
def test_a_directory_that_does_not_answer_fails_within_its_deadline_and_local_admins_still_log_in(
    client, settings, admin_user, closed_port, blackhole_port, down
):
    port = closed_port if down == "closed" else blackhole_port
    configure(settings, [f"ldap://127.0.0.1:{port}"], timeout=1)
    started = time.monotonic()
    response = admin_login(client, "alice", "alice-pw")
    took = time.monotonic() - started
    page = response.content.decode()
    assert response.status_code == 200 and "did not answer within 1 s" in page
    assert "Local accounts can still log in" in page
    # the service-account search and the login's bind each wait at most the timeout
    assert took < 2 * 1.0 + 1.5, took
    started = time.monotonic()
    assert admin_login(client, "admin", "admin-pass").status_code == 302
    assert time.monotonic() - started < 1.0  # never waits for the directory
    token = APIClient().post(TOKEN, {"username": "alice", "password": "alice-pw"}, format="json")
    assert token.status_code == 401 and "did not answer" in token.json()["message"]


def test_a_second_server_answers_when_the_first_is_down(client, settings, slapd_server, closed_port):
    configure(settings, [f"ldap://127.0.0.1:{closed_port}", slapd_server.url], timeout=1)
    assert admin_login(client, "alice", "alice-pw").status_code == 302


def test_a_deactivated_directory_user_cannot_log_in(client, directory):
    admin_login(client, "alice", "alice-pw")
    get_user_model().objects.filter(username="alice").update(is_active=False)
    client.logout()
    assert admin_login(client, "alice", "alice-pw").status_code == 200
    assert APIClient().post(TOKEN, {"username": "alice", "password": "alice-pw"}, format="json").status_code == 401

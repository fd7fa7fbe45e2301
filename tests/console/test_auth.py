"""Logins: an API token endpoint; failed logins lock out (admin and token endpoint alike, after
WHALEFALL_LOGIN_FAILURE_LIMIT per username and address); the API is throttled."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


@pytest.fixture
def ops_user():
    return get_user_model().objects.create_user("ops", password="right-password", is_staff=True)


def test_token_endpoint_gives_a_working_token(ops_user):
    client = APIClient()
    response = client.post(TOKEN, {"username": "ops", "password": "right-password"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/instances/").status_code == 403  # authenticated, but in no group
    bad = APIClient().post(TOKEN, {"username": "ops", "password": "nope"}, format="json")
    assert bad.status_code == 401 and bad.json()["code"] == "authentication_failed"
    assert bad.headers["WWW-Authenticate"] == "Token"
    malformed = APIClient().post(TOKEN, {"username": "ops\x00", "password": 5}, format="json")
    assert malformed.status_code == 400 and malformed.json()["code"] == "invalid"
    assert "right-password" not in bad.content.decode()


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_failed_token_logins_lock_out_the_username_and_also_the_admin(client, ops_user):
    api = APIClient()
    for _ in range(3):
        assert api.post(TOKEN, {"username": "ops", "password": "wrong"}, format="json").status_code == 401
    locked = api.post(TOKEN, {"username": "ops", "password": "right-password"}, format="json")
    assert locked.status_code == 429 and locked.json()["code"] == "login_locked"
    assert "try again in 15 minutes" in locked.json()["message"]
    # the admin login shares the lockout: the right password is refused too
    response = client.post("/admin/login/", {"username": "ops", "password": "right-password"})
    assert response.status_code == 429
    other = api.post(TOKEN, {"username": "someone-else", "password": "x"}, format="json")
    assert other.status_code == 401  # only that username is locked


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=2)
def test_failed_admin_logins_lock_out(client, ops_user):
    assert client.post("/admin/login/", {"username": "ops", "password": "wrong"}).status_code == 200
    assert client.post("/admin/login/", {"username": "ops", "password": "wrong"}).status_code == 429  # the 2nd locks
    assert client.post("/admin/login/", {"username": "ops", "password": "right-password"}).status_code == 429


def test_the_api_is_throttled(monkeypatch, admin_user):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/min", "user": "3/min", "auth": "1/min"})
    client = APIClient()
    client.force_authenticate(admin_user)
    statuses = [client.get("/api/v1/database-types/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    body = client.get("/api/v1/database-types/").json()
    assert body["code"] == "throttled"
    anonymous = [APIClient().post(TOKEN, {"username": "x", "password": "y"}, format="json").status_code
                 for _ in range(2)]  # fmt: skip
    assert anonymous == [401, 429]

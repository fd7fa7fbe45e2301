"""Directory groups → team scopes at login, against the real slapd (tests/support/slapd.py):
dave is in dba-viewers and team-billing."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from instances.models import Instance, Scope, Tag
from instances.scopes import instances_visible_to
from tests.console.test_directory import admin_login, configure
from tests.support.factories import make_instance
from tests.support.slapd import group_dn

pytestmark = pytest.mark.django_db


@pytest.fixture
def directory_with_scopes(settings, slapd_server):
    configure(settings, [slapd_server.url])
    settings.WHALEFALL_LDAP = {
        **settings.WHALEFALL_LDAP,
        "SCOPE_GROUPS": [("billing", group_dn("team-billing")), ("prod-oncall", group_dn("dba-operators"))],
    }
    return slapd_server


@pytest.fixture
def estate(db):
    billing = Tag.objects.create(name="billing")
    mine = make_instance(name="billing-db", environment="production")
    mine.tags.add(billing)
    other = make_instance(name="search-db", environment="production")
    scope = Scope.objects.create(name="billing")
    scope.tags.add(billing)
    Scope.objects.create(name="prod-oncall", environments=["production"])
    return mine, other


def test_a_directory_group_gives_its_team_scope_at_login(client, directory_with_scopes, estate):
    mine, other = estate
    assert admin_login(client, "dave", "dave-pw").status_code == 302
    dave = get_user_model().objects.get(username="dave")
    assert sorted(dave.instance_scopes.values_list("name", flat=True)) == ["billing"]
    assert list(instances_visible_to(dave)) == [mine]
    # what the console then shows: the scope's instance only
    listing = client.get("/admin/instances/instance/").content.decode()
    assert "billing-db" in listing and "search-db" not in listing


def test_the_token_endpoint_login_gets_the_scope_too(directory_with_scopes, estate):
    mine, _other = estate
    response = APIClient().post("/api/v1/auth/token/", {"username": "dave", "password": "dave-pw"}, format="json")
    assert response.status_code == 200
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    names = [row["name"] for row in api.get("/api/v1/instances/").json()["results"]]
    assert names == ["billing-db"]


def test_leaving_the_directory_group_takes_the_scope_away_and_hand_given_scopes_stay(
    client, directory_with_scopes, estate
):
    admin_login(client, "dave", "dave-pw")
    dave = get_user_model().objects.get(username="dave")
    by_hand = Scope.objects.create(name="by-hand", environments=["staging"])
    by_hand.users.add(dave)
    directory_with_scopes.set_member("team-billing", "dave", "finance", member=False)
    try:
        assert admin_login(client, "dave", "dave-pw").status_code == 302
        assert sorted(dave.instance_scopes.values_list("name", flat=True)) == ["by-hand"]
    finally:
        directory_with_scopes.set_member("team-billing", "dave", "finance", member=True)


def test_a_group_mapped_to_a_missing_scope_refuses_the_login(client, directory_with_scopes, estate):
    Scope.objects.filter(name="billing").delete()  # dave would otherwise see every instance
    response = admin_login(client, "dave", "dave-pw")
    assert response.status_code == 200
    assert "team scope that is not defined in WhaleFall (billing)" in response.content.decode()
    assert Instance.objects.count() == 2  # nothing else changed

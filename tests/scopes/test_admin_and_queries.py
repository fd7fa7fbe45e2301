"""The scope admin, and what scoping costs: one query per request to know whether a user has
scopes (users in none pay it too), the rest is a subquery of the list's own query (no query per
row)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from instances.admin.lookups import ScopeForm
from instances.models import Credential, DatabaseType, Instance, Scope, Tag
from tests.support.factories import make_credential, make_instance

pytestmark = pytest.mark.django_db


def test_a_scope_needs_environments_or_tags():
    form = ScopeForm(data={"name": "nothing", "environments": [], "tags": []})
    assert not form.is_valid()
    assert "a scope with neither selects no instance" in str(form.errors)
    form = ScopeForm(data={"name": "oncall", "environments": ["production"]})
    assert form.is_valid(), form.errors
    assert form.save().environments == ["production"]
    assert not ScopeForm(data={"name": "bad", "environments": ["moon"]}).is_valid()


def test_the_scope_admin_lists_what_each_scope_selects(admin_client_logged_in):
    scope = Scope.objects.create(name="billing", environments=["production"])
    scope.tags.add(Tag.objects.create(name="billing"))
    page = admin_client_logged_in.get("/admin/instances/scope/").content.decode()
    assert "environment production and tag billing" in page


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_a_scoped_list_costs_no_query_more_whatever_the_rows(db):
    billing = Tag.objects.create(name="billing")
    for n in range(12):
        instance = make_instance(name=f"db-{n}", environment="production")
        if n % 2:
            instance.tags.add(billing)
    viewer = Group.objects.get(name="viewer")
    everyone = get_user_model().objects.create_user("everyone")
    team = get_user_model().objects.create_user("team")
    for user in (everyone, team):
        user.groups.add(viewer)
    scope = Scope.objects.create(name="billing")
    scope.tags.add(billing)
    scope.users.add(team)

    def client_for(user):
        client = APIClient()
        client.force_authenticate(get_user_model().objects.get(pk=user.pk))
        return client

    for path in ("/api/v1/instances/", "/api/v1/accounts/", "/api/v1/sync-sessions/"):
        # the question "in which scopes?" is asked of both; the scope is a subquery of the list's query
        assert _queries(client_for(team), path) == _queries(client_for(everyone), path), path
    names = [row["name"] for row in client_for(team).get("/api/v1/instances/").json()["results"]]
    assert names == [f"db-{n}" for n in (1, 11, 3, 5, 7, 9)]


def test_counts_beside_engines_credentials_and_tags_count_the_scope():
    billing, search = Tag.objects.create(name="billing"), Tag.objects.create(name="search")
    for n in range(3):
        make_instance(name=f"billing-{n}").tags.add(billing)
    make_instance(name="search-0").tags.add(search)
    team = get_user_model().objects.create_user("team", is_staff=True)
    team.groups.add(Group.objects.get(name="admin"))
    scope = Scope.objects.create(name="search")
    scope.tags.add(search)
    scope.users.add(team)
    request = RequestFactory().get("/")
    request.user = team

    def counts(model) -> dict:
        return {str(row): row._instance_count for row in admin.site._registry[model].get_queryset(request)}

    assert counts(Tag) == {"billing": 0, "search": 1}  # 0, not the 3 instances of another team
    assert counts(DatabaseType)["PostgreSQL"] == 1
    assert sum(counts(Credential).values()) == 1
    api = APIClient()
    api.force_authenticate(get_user_model().objects.get(pk=team.pk))
    rows = api.get("/api/v1/credentials/").json()["results"]
    assert [row["instance_count"] for row in rows] == [1]  # the other teams' logins are not listed


def test_a_scoped_admin_creates_and_edits_instances_of_its_scope_only():
    billing = Tag.objects.create(name="billing")
    team = get_user_model().objects.create_user("team", is_staff=True)
    team.groups.add(Group.objects.get(name="admin"))
    scope = Scope.objects.create(name="billing")
    scope.tags.add(billing)
    scope.users.add(team)
    api = APIClient()
    api.force_authenticate(get_user_model().objects.get(pk=team.pk))
    body = {"name": "new-db", "db_type": "postgresql", "host": "db.example.invalid", "port": 5432}
    assert api.post("/api/v1/instances/", {**body, "tags": ["search"]}, format="json").status_code == 403
    assert not Instance.objects.filter(name="new-db").exists()  # rolled back
    created = api.post("/api/v1/instances/", {**body, "tags": ["billing"]}, format="json")
    assert created.status_code == 201
    url = f"/api/v1/instances/{created.json()['id']}/"
    assert api.patch(url, {"tags": ["search"]}, format="json").status_code == 403  # moved out: refused
    assert list(Instance.objects.get(name="new-db").tags.values_list("name", flat=True)) == ["billing"]
    assert api.patch(url, {"description": "ours"}, format="json").status_code == 200


def _scoped_admin(tag_name: str, username: str = "team"):
    """A member of the admin group whose team scope is the instances tagged ``tag_name``."""
    tag, _ = Tag.objects.get_or_create(name=tag_name)
    team = get_user_model().objects.create_user(username, is_staff=True)
    team.groups.add(Group.objects.get(name="admin"))
    scope = Scope.objects.create(name=f"scope-{tag_name}")
    scope.tags.add(tag)
    scope.users.add(team)
    return team, scope, tag


def test_a_scoped_admin_neither_edits_team_scopes_nor_previews_rules(client):
    team, scope, _ = _scoped_admin("billing")
    client.force_login(team)
    # widening its own scope, or leaving every scope (the global view), is for the global view only
    assert client.get(f"/admin/instances/scope/{scope.pk}/change/").status_code == 200  # shown, read-only
    response = client.post(f"/admin/instances/scope/{scope.pk}/change/",
                           {"name": "scope-billing", "environments": ["production"]})  # fmt: skip
    assert response.status_code == 403 and list(scope.tags.all())
    assert client.post(f"/admin/instances/scope/{scope.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/instances/scope/add/").status_code == 403
    # a rule's preview reads every instance of its engine: refused as the API refuses it
    from classification.models import AccountClassification

    classification = AccountClassification.objects.create(code="w", name="Writers")
    form = {"name": "w", "classification": classification.pk, "db_type": "postgresql", "is_active": "on",
            "expression": '{"fn": "is_superuser"}', "_preview": "Preview"}  # fmt: skip
    assert client.post("/admin/classification/classificationrule/add/", form).status_code == 403


def test_a_tag_a_team_scope_selects_by_cannot_be_deleted(admin_client_logged_in):
    _, scope, tag = _scoped_admin("billing")
    unused = Tag.objects.create(name="unused")
    page = admin_client_logged_in.post(f"/admin/instances/tag/{tag.pk}/delete/", {"post": "yes"})
    assert page.status_code == 200 and "Team scope: scope-billing" in page.content.decode()
    assert Tag.objects.filter(pk=tag.pk).exists() and list(scope.tags.all()) == [tag]
    bulk = admin_client_logged_in.post("/admin/instances/tag/", {
        "action": "delete_selected", "_selected_action": [tag.pk, unused.pk], "post": "yes"})  # fmt: skip
    assert bulk.status_code == 200 and Tag.objects.filter(pk=tag.pk).exists()
    assert admin_client_logged_in.post(f"/admin/instances/tag/{unused.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Tag.objects.filter(pk=unused.pk).exists()


def test_another_teams_credential_is_neither_shown_nor_lent(client):
    team, _, billing = _scoped_admin("billing")
    ours, theirs, unused = make_credential(name="ours"), make_credential(name="theirs"), make_credential(name="spare")
    make_instance(name="billing-db", credential=ours).tags.add(billing)
    make_instance(name="search-db", credential=theirs)
    api = APIClient()
    api.force_authenticate(get_user_model().objects.get(pk=team.pk))
    assert {row["name"] for row in api.get("/api/v1/credentials/").json()["results"]} == {"ours", "spare"}
    assert api.get(f"/api/v1/credentials/{theirs.pk}/").status_code == 404
    assert api.patch(f"/api/v1/credentials/{theirs.pk}/", {"username": "x"}, format="json").status_code == 404
    body = {"name": "new-db", "db_type": "postgresql", "host": "mine.example.invalid", "port": 5432,
            "tags": ["billing"]}  # fmt: skip
    assert api.post("/api/v1/instances/", {**body, "credential": theirs.pk}, format="json").status_code == 403
    assert not Instance.objects.filter(name="new-db").exists()
    assert api.post("/api/v1/instances/", {**body, "credential": unused.pk}, format="json").status_code == 201
    client.force_login(team)
    assert client.get(f"/admin/instances/credential/{theirs.pk}/change/").status_code == 302  # "not found"
    form = client.get("/admin/instances/instance/add/").context["adminform"].form
    assert set(form.fields["credential"].queryset.values_list("name", flat=True)) == {"ours", "spare"}

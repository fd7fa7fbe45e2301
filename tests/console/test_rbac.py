"""Who may do what, the same in the API and the admin: viewer reads everything except credentials,
operator also runs actions and assigns classifications, admin does everything. Every API
operation of the OpenAPI schema × role; every instance admin action × role."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

ROLES = ("viewer", "operator", "admin")
OPERATOR_WRITES = re.compile(r"/actions/|^/api/v1/classification/assignments/|^/api/v1/sync-sessions/.*/cancel/$")
ADMIN_ONLY_READS = re.compile(r"^/api/v1/credentials/")
# reads that contact the target (a privilege check opens connections): like running an action
OPERATOR_READS = re.compile(r"/privilege-check/$")
PUBLIC = {"/api/v1/auth/token/"}


def operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted((path, method.upper()) for path, item in schema["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete"))  # fmt: skip


def expected_allowed(role: str, path: str, method: str) -> bool:
    if path in PUBLIC or role == "admin":
        return True
    if method == "GET" and OPERATOR_READS.search(path):
        return role == "operator"
    if method == "GET":
        return not ADMIN_ONLY_READS.match(path)
    return role == "operator" and bool(OPERATOR_WRITES.search(path))


def client_for(role: str) -> APIClient:
    user = get_user_model().objects.create_user(f"{role}-user", password="pw-" + role)
    user.groups.add(Group.objects.get(name=role))
    client = APIClient()
    client.force_authenticate(user)
    return client


def concrete(path: str) -> str:
    """A path with every parameter filled by an id that does not exist: the permission check
    runs before the lookup, so 403 means denied and anything else (404, 400, …) allowed."""
    return re.sub(r"\{[^}]+\}", lambda m: "00000000-0000-0000-0000-000000000000" if "session_id" in m.group(0)
                  else "999999", path)  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_every_api_operation_by_role(role):
    client = client_for(role)
    wrong = []
    ops = operations()
    assert len(ops) > 40  # the whole API, not a sample
    for path, method in ops:
        response = getattr(client, method.lower())(concrete(path), {}, format="json")
        allowed = response.status_code != 403
        if allowed != expected_allowed(role, path, method) or response.status_code >= 500:
            wrong.append(f"{method} {path}: {response.status_code}")
    assert wrong == []


def test_anonymous_gets_401_everywhere_but_the_token_endpoint():
    client = APIClient()
    for path, method in operations():
        status = getattr(client, method.lower())(concrete(path), {}, format="json").status_code
        assert (status == 401) == (path not in PUBLIC), f"{method} {path}: {status}"


def _offered_actions(client) -> set[str]:
    response = client.get(reverse("admin:instances_instance_changelist"))
    assert response.status_code == 200
    form = response.context["action_form"]  # None when the user may run no action at all
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        ("viewer", {"export_csv"}),  # reading includes exporting what the list shows
        ("operator", {"export_csv", "test_connection_action", "check_privileges_action", "resume_action",
                      "sync_accounts_action", "collect_capacity_action"}),
        ("admin", {"export_csv", "test_connection_action", "check_privileges_action", "resume_action",
                   "sync_accounts_action", "collect_capacity_action", "add_tag_action", "deactivate_action",
                   "delete_selected"}),
    ],
)
def test_instance_admin_actions_by_role(client, role, actions):
    user = get_user_model().objects.create_user(f"{role}-staff", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    offered = _offered_actions(client)
    assert actions <= offered and not (offered - actions - EXTRA_ACTIONS.get(role, set()))


# actions other apps may add for operators (capacity aggregation, classification) are allowed extras
EXTRA_ACTIONS = {
    "operator": {"aggregate_capacity_action", "classify_accounts_action"},
    "admin": {"aggregate_capacity_action", "classify_accounts_action"},
}


@pytest.mark.parametrize(("role", "sees"), [("viewer", False), ("operator", False), ("admin", True)])
def test_only_admins_see_credentials_in_the_admin(client, role, sees):
    user = get_user_model().objects.create_user(f"{role}-staff", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    status = client.get(reverse("admin:instances_credential_changelist")).status_code
    assert (status == 200) == sees and (status == 403) != sees


@pytest.mark.parametrize(("role", "sees_channels"), [("viewer", False), ("operator", False), ("admin", True)])
def test_alerts_in_the_admin_by_role(client, role, sees_channels):
    """Everyone reads the alerts and their deliveries; only admins see and edit the channels
    (a webhook URL may hold a token) and send test alerts."""
    user = get_user_model().objects.create_user(f"{role}-staff", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    assert client.get(reverse("admin:alerts_alertevent_changelist")).status_code == 200
    assert client.get(reverse("admin:alerts_alertdelivery_changelist")).status_code == 200
    response = client.get(reverse("admin:alerts_alertchannel_changelist"))
    assert response.status_code == (200 if sees_channels else 403)
    if sees_channels:
        actions = {name for name, _ in response.context["action_form"].fields["action"].choices if name}
        assert actions == {"send_test_action", "delete_selected"}
    assert client.get(reverse("admin:alerts_alertchannel_add")).status_code == (200 if sees_channels else 403)

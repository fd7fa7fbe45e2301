"""API: /api/v1/accounts, /accounts/<id>/{permissions,changes}, /instances/<id>/accounts, /account-changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AccountChangeLog, AccountPermission, ChangeType, InstanceAccount
from classification.models import AccountClassification, AccountClassificationAssignment
from console.roles import groups_ensure
from instances.models import Instance
from sync_sessions.models import SyncSession

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def data(db):
    """ "big" (mysql): 200 accounts; "other" (postgresql): 20. Every account has permissions and
    one change; every 3rd is classified "su" (+ every 6th also "grant"); accounts 190+ are inactive."""
    big = Instance.objects.create(name="big", db_type_id="mysql", host="h", port=3306)
    other = Instance.objects.create(name="other", db_type_id="postgresql", host="h", port=5432)
    accounts = InstanceAccount.objects.bulk_create(
        [InstanceAccount(instance=big, username=f"user{i:03d}", host="%", is_active=i < 190) for i in range(200)]
        + [InstanceAccount(instance=other, username=f"pg{i:02d}") for i in range(20)]
    )
    AccountPermission.objects.bulk_create(
        AccountPermission(
            instance_account=a, is_superuser=i % 7 == 0, can_grant=i % 5 == 0, is_locked=i % 11 == 0,
            roles=["r1"], snapshot={"global": ["SELECT"]}, facts={"privileges": ["SELECT"]},
        )
        for i, a in enumerate(accounts)
    )  # fmt: skip
    su = AccountClassification.objects.create(code="su", name="Superuser", priority=10)
    grant = AccountClassification.objects.create(code="grant", name="Can grant", priority=20)
    AccountClassificationAssignment.objects.bulk_create(
        [AccountClassificationAssignment(account=a, classification=su, source="auto") for a in accounts[::3]]
        + [AccountClassificationAssignment(account=a, classification=grant, source="auto") for a in accounts[::6]]
    )
    session = SyncSession.objects.create(sync_type="manual_batch", sync_category="account")
    AccountChangeLog.objects.bulk_create(
        AccountChangeLog(
            instance=a.instance, instance_account=a, username=a.username, host=a.host,
            change_type=ChangeType.ADD if i % 2 else ChangeType.MODIFY, diff={"n": i},
            session=session if i < 10 else None, changed_at=NOW - dt.timedelta(hours=i),
        )
        for i, a in enumerate(accounts)
    )  # fmt: skip
    return {"big": big, "other": other, "accounts": accounts, "session": session}


def rows(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def names(response):
    return [row["username"] for row in rows(response)]


# --- /accounts ------------------------------------------------------------------------------------------------------
def test_accounts_list_shape(api_client, data):
    body = api_client.get("/api/v1/accounts", {"page_size": 500}).json()
    assert body["count"] == 220
    first = body["results"][0]
    assert set(first) == {
        "id", "instance", "instance_name", "db_type", "username", "host", "is_active", "is_superuser",
        "can_grant", "is_locked", "classifications", "primary_classification", "first_seen_at", "last_seen_at",
        "deactivated_at",
    }  # fmt: skip
    assert (first["instance_name"], first["db_type"], first["username"]) == ("big", "mysql", "user000")
    assert first["classifications"] == ["grant", "su"]  # highest priority first
    assert first["primary_classification"] == "grant" and body["results"][1]["primary_classification"] is None
    assert (first["is_superuser"], first["can_grant"], first["is_locked"]) == (True, True, True)
    assert body["results"][1]["classifications"] == []


def test_accounts_list_query_count_is_constant(api_client, data, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):  # count, page, prefetched assignments
        assert len(rows(api_client.get("/api/v1/accounts", {"page_size": 500}))) == 220
    with django_assert_max_num_queries(4):
        assert len(rows(api_client.get("/api/v1/accounts", {"page_size": 500, "classification": "su"}))) == 74


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"db_type": "postgresql"}, 20),
        ({"is_active": "false"}, 10),
        ({"is_superuser": "true"}, 32),
        ({"can_grant": "true"}, 44),
        ({"is_locked": "true"}, 20),
        ({"classification": "grant"}, 37),
        ({"classification": "grant,su"}, 74),
        ({"classification": "nope"}, 0),
        ({"search": "USER19"}, 10),
        ({"username": "pg03"}, 1),
        ({"db_type": "mysql", "is_superuser": "true", "classification": "su"}, 10),
    ],
)
def test_accounts_filters(api_client, data, params, expected):
    assert api_client.get("/api/v1/accounts", {"page_size": 500, **params}).json()["count"] == expected


def test_accounts_filter_by_instance_and_ordering(api_client, data):
    other = data["other"]
    assert names(api_client.get("/api/v1/accounts", {"instance": other.pk, "page_size": 3})) == ["pg00", "pg01", "pg02"]
    got = names(api_client.get("/api/v1/accounts", {"instance": other.pk, "ordering": "-username", "page_size": 2}))
    assert got == ["pg19", "pg18"]


def test_account_detail(api_client, data):
    account = data["accounts"][0]
    body = api_client.get(f"/api/v1/accounts/{account.pk}/").json()
    assert body["roles"] == ["r1"] and body["permissions_updated_at"]
    assert body["classifications"] == ["grant", "su"]
    assert api_client.get("/api/v1/accounts/99999999/").status_code == 404


def test_account_without_permission_row(api_client, data):
    bare = InstanceAccount.objects.create(instance=data["other"], username="bare")
    body = api_client.get(f"/api/v1/accounts/{bare.pk}").json()
    assert (body["is_superuser"], body["roles"], body["classifications"]) == (None, None, [])
    response = api_client.get(f"/api/v1/accounts/{bare.pk}/permissions")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


FACTS = {
    "is_superuser": False, "can_grant": True, "is_locked": False, "can_login": True, "roles": ["base", "reporting"],
    "privileges": [
        {"privilege": "SELECT", "level": "database", "target": "app", "grantable": False, "state": "GRANT",
         "via": [], "via_set_role": False},
        {"privilege": "DELETE", "level": "database", "target": "app", "grantable": True, "state": "GRANT",
         "via": ["reporting", "base"], "via_set_role": False},
        {"privilege": "DROP", "level": "database", "target": "crm", "grantable": False, "state": "GRANT",
         "via": ["ops"], "via_set_role": True},
    ],
    "reasons": {"can_grant": ["DELETE on app.* WITH GRANT OPTION via reporting → base"]},
}  # fmt: skip


def test_account_permissions(api_client, data):
    account = data["accounts"][7]
    AccountPermission.objects.filter(instance_account=account).update(facts=FACTS, can_grant=True)
    body = api_client.get(f"/api/v1/accounts/{account.pk}/permissions").json()
    assert body == {
        "account": account.pk, "is_superuser": True, "can_grant": True, "is_locked": False, "can_login": True,
        "roles": ["r1"], "privileges": body["privileges"], "snapshot": {"global": ["SELECT"]},
        "updated_at": body["updated_at"], "reasons": None, "password_policy": None, "unread_scopes": [],
    }  # fmt: skip
    assert not any(p["not_read"] or p["not_read_since"] for p in body["privileges"])
    assert [(p["privilege"], p["direct"], p["via"], p["via_set_role"]) for p in body["privileges"]] == [
        ("SELECT", True, [], False), ("DELETE", False, ["reporting", "base"], False), ("DROP", False, ["ops"], True),
    ]  # fmt: skip
    explained = api_client.get(f"/api/v1/accounts/{account.pk}/permissions", {"explain": "1"}).json()
    assert explained["reasons"] == FACTS["reasons"] and explained["privileges"] == body["privileges"]
    assert api_client.get(f"/api/v1/accounts/{account.pk}/permissions", {"explain": "0"}).json().keys() == body.keys()
    response = api_client.get(f"/api/v1/accounts/{account.pk}/permissions", {"explain": "maybe"})
    assert response.status_code == 400 and "explain" in response.json()["errors"]
    implied = {"privilege": "ALL", "level": "global", "target": "", "grantable": True, "state": "GRANT", "via": [],
               "via_set_role": False, "implied_by": "superuser"}  # fmt: skip
    policy = {"enforced": False, "reason": "CHECK_POLICY OFF: the password is not checked (CHECK_EXPIRATION OFF)"}
    facts = {**FACTS, "privileges": [implied], "password_policy": policy}
    AccountPermission.objects.filter(instance_account=account).update(facts=facts)
    body = api_client.get(f"/api/v1/accounts/{account.pk}/permissions").json()
    assert body["password_policy"] == policy
    assert [(p["privilege"], p["implied_by"]) for p in body["privileges"]] == [("ALL", "superuser")]
    assert all(p["implied_by"] is None for p in explained["privileges"])


def test_accounts_filter_by_effective_privilege_and_role(api_client, data):
    accounts = data["accounts"]
    AccountPermission.objects.filter(instance_account__in=accounts[:3]).update(facts=FACTS)

    def count(**params):
        return api_client.get("/api/v1/accounts", {"page_size": 500, **params}).json()["count"]

    assert count(has_privilege="delete") == count(has_privilege="DELETE") == 3
    assert count(has_privilege="DELETE", via_role="base") == 3 and count(via_role="base") == 3
    assert count(has_privilege="SELECT", via_role="base") == 0  # one privilege must match both
    assert count(has_privilege="DROP") == 0 and count(has_privilege="DROP", include_set_role="true") == 3
    assert count(via_role="ops") == 0 and count(via_role="ops", include_set_role="true") == 3
    assert count(has_privilege="INSERT") == 0


def test_account_changes_newest_first_and_paginated(api_client, data, django_assert_max_num_queries):
    account = data["accounts"][0]
    AccountChangeLog.objects.bulk_create(
        AccountChangeLog(instance=account.instance, instance_account=account, username=account.username,
                         change_type=ChangeType.MODIFY, diff={"k": k}, changed_at=NOW + dt.timedelta(minutes=k))
        for k in range(200)
    )  # fmt: skip
    with django_assert_max_num_queries(4):
        body = api_client.get(f"/api/v1/accounts/{account.pk}/changes", {"page_size": 500}).json()
    assert len(body["results"]) == 201
    assert [r["diff"] for r in body["results"][:2]] == [{"k": 199}, {"k": 198}]
    page = api_client.get(f"/api/v1/accounts/{account.pk}/changes", {"page_size": 150}).json()
    assert len(page["results"]) == 150 and page["next"]
    rest = api_client.get(page["next"]).json()
    assert len(rest["results"]) == 51 and rest["results"][-1]["diff"] == {"n": 0}
    assert {r["account"] for r in rest["results"]} == {account.pk}


# --- /instances/<id>/accounts -----------------------------------------------------------------------------------------
def test_instance_accounts(api_client, data, django_assert_max_num_queries):
    big = data["big"]
    with django_assert_max_num_queries(5):
        body = api_client.get(f"/api/v1/instances/{big.pk}/accounts", {"page_size": 500}).json()
    assert body["count"] == 200 and {r["instance_name"] for r in body["results"]} == {"big"}
    assert api_client.get(f"/api/v1/instances/{big.pk}/accounts/", {"is_active": "false"}).json()["count"] == 10
    response = api_client.get("/api/v1/instances/99999999/accounts")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


# --- /account-changes -------------------------------------------------------------------------------------------------
def test_account_changes_list(api_client, data, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        body = api_client.get("/api/v1/account-changes", {"page_size": 500}).json()
    results = body["results"]
    assert len(results) == 220 and "count" not in body  # cursor pages: no COUNT(*)
    assert [r["username"] for r in results[:2]] == ["user000", "user001"]  # newest first
    assert set(results[0]) == {
        "id", "instance", "instance_name", "account", "username", "host", "change_type", "diff", "session",
        "changed_at",
    }  # fmt: skip
    assert results[0]["session"] == str(data["session"].session_id)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"change_type": "add"}, 110),
        ({"change_type": ["add", "modify"]}, 220),
        ({"username": "user005"}, 1),
        ({"changed_after": (NOW - dt.timedelta(hours=9, minutes=30)).isoformat()}, 10),
        ({"changed_before": (NOW - dt.timedelta(hours=209, minutes=30)).isoformat()}, 10),
    ],
)
def test_account_changes_filters(api_client, data, params, expected):
    assert len(rows(api_client.get("/api/v1/account-changes", {"page_size": 500, **params}))) == expected


def test_account_changes_filter_by_instance_and_session(api_client, data):
    got = rows(api_client.get("/api/v1/account-changes", {"instance": data["other"].pk, "page_size": 500}))
    assert len(got) == 20
    got = rows(api_client.get("/api/v1/account-changes", {"session": str(data["session"].session_id)}))
    assert len(got) == 10
    assert api_client.get("/api/v1/account-changes", {"session": "not-a-uuid"}).status_code == 400


def test_read_only_and_viewer_access(api_client, data):
    assert api_client.post("/api/v1/accounts", {}, format="json").status_code == 405
    assert api_client.delete(f"/api/v1/account-changes/{AccountChangeLog.objects.first().pk}").status_code == 405
    groups_ensure()
    viewer = get_user_model().objects.create_user("viewer")
    viewer.groups.add(Group.objects.get(name="viewer"))
    client = APIClient()
    assert client.get("/api/v1/accounts").status_code == 401
    client.force_authenticate(viewer)
    for url in ("/api/v1/accounts", "/api/v1/account-changes", f"/api/v1/instances/{data['big'].pk}/accounts"):
        assert client.get(url).status_code == 200, url
    response = client.post("/api/v1/accounts/actions/sync", {}, format="json")
    assert response.status_code == 403


def test_account_changes_list_the_baseline_entry(api_client):
    from accounts.services import accounts_sync_instance
    from instances.adapters.base import AccountFacts
    from tests.support.factories import make_fake_instance
    from tests.support.fake_adapter import FAKE_ACCOUNTS

    instance = make_fake_instance()
    try:
        FAKE_ACCOUNTS[instance.name] = [AccountFacts(username="root", host="", is_superuser=True, can_grant=True)]
        accounts_sync_instance(instance=instance)
    finally:
        FAKE_ACCOUNTS.pop(instance.name, None)
    got = rows(api_client.get("/api/v1/account-changes", {"instance": instance.pk, "change_type": "baseline"}))
    assert len(got) == 1
    entry = got[0]
    assert (entry["change_type"], entry["account"], entry["username"]) == ("baseline", None, "")
    assert entry["diff"] == {"baseline": {
        "account_count": 1, "superusers": 1, "superusers_accounts": ["root"], "can_grant": 1,
        "can_grant_accounts": ["root"], "locked": 0,
    }}  # fmt: skip
    account = InstanceAccount.objects.get(instance=instance)
    assert rows(api_client.get(f"/api/v1/accounts/{account.pk}/changes")) == []  # nothing was "added"

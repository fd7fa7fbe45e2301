"""Classification API: rules CRUD with validation paths, validate, preview, manual assignments,
history, stats, the run action, and the primary classification on the account list."""

from __future__ import annotations

import pytest

from accounts.models import InstanceAccount
from accounts.services import accounts_sync_all
from classification.models import AccountClassification, AccountClassificationAssignment, AccountClassificationHistory
from classification.services import classification_auto_classify, rule_create
from instances.adapters.base import AccountFacts, Privilege
from tests.support.factories import make_fake_instance
from tests.support.fake_adapter import FAKE_ACCOUNTS

pytestmark = pytest.mark.django_db

API = "/api/v1/classification"


@pytest.fixture
def shop():
    instance = make_fake_instance(name="shop")
    FAKE_ACCOUNTS["shop"] = [
        AccountFacts(username="root", is_superuser=True),
        AccountFacts(username="writer", privileges=(Privilege("database", "DELETE", "prod"),)),
        AccountFacts(username="reader", privileges=(Privilege("database", "SELECT", "prod"),)),
    ]
    accounts_sync_all(instance_ids=[instance.pk])
    su = AccountClassification.objects.create(code="su", name="Superuser", priority=100)
    deleter = AccountClassification.objects.create(code="del", name="Deleter", priority=10)
    rule_create(classification=su, db_type="fake", name="su", expression={"fn": "is_superuser"})
    yield {"instance": instance, "su": su, "del": deleter,
           "ids": dict(InstanceAccount.objects.values_list("username", "pk"))}  # fmt: skip
    FAKE_ACCOUNTS.pop("shop", None)


def test_rule_create_validates_with_json_paths(api_client, shop):
    bad = {"classification": shop["del"].pk, "db_type": "fake", "name": "x",
           "expression": {"op": "and", "args": [{"fn": "has_privilege", "privilege": "DELETE", "level": "table"}]}}
    response = api_client.post(f"{API}/rules/", bad, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "expression": ["args/0/level: must be one of global, database, schema, object, column, not 'table'"]
    }
    good = {**bad, "expression": {"fn": "has_privilege", "privilege": "DELETE"}}
    response = api_client.post(f"{API}/rules/", good, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["description"]) == (1, "has_privilege(privilege='DELETE')")
    response = api_client.patch(f"{API}/rules/{body['id']}/", {"expression": {"fn": "can_grant"}}, format="json")
    assert response.status_code == 200 and response.json()["version"] == 2


def test_validate_endpoint(api_client):
    response = api_client.post(f"{API}/rules/validate/", {"expression": {"fn": "is_locked"}}, format="json")
    assert response.json() == {"valid": True, "description": "is_locked()"}
    response = api_client.post(f"{API}/rules/validate/", {"expression": {"op": "or", "args": [{"fn": "x"}]}},
                               format="json")  # fmt: skip
    assert response.status_code == 400
    assert response.json()["errors"] == {"expression": ["args/0/fn: unknown function 'x'"]}


def test_validate_endpoint_knows_password_policy(api_client):
    rule = {"fn": "password_policy", "enforced": False}
    response = api_client.post(f"{API}/rules/validate/", {"expression": rule}, format="json")
    assert response.json() == {"valid": True, "description": "password_policy(enforced=False)"}
    response = api_client.post(f"{API}/rules/validate/", {"expression": {"fn": "password_policy", "enforced": None}},
                               format="json")  # fmt: skip
    assert response.status_code == 400
    assert response.json()["errors"] == {"expression": ["enforced: must be true or false, not None"]}
    schema = api_client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]["RuleExpression"]
    (variant,) = [v for v in schema["oneOf"] if v["properties"].get("fn", {}).get("enum") == ["password_policy"]]
    assert variant["required"] == ["fn", "enforced"] and "never matches" in variant["description"]


def test_preview_lists_adds_and_removes_without_saving(api_client, shop):
    classification_auto_classify(instance_ids=[shop["instance"].pk])
    draft = {"classification": shop["su"].pk, "db_type": "fake",
             "expression": {"fn": "has_privilege", "privilege": "DELETE"}, "rule": shop["su"].rules.get().pk}
    response = api_client.post(f"{API}/rules/preview/", draft, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["evaluated"], body["matched"], body["add_count"], body["remove_count"]) == (3, 1, 1, 1)
    assert [(a["username"], a["why"]) for a in body["adds"]] == [("writer", ["DELETE on prod (database) (direct)"])]
    assert [r["username"] for r in body["removes"]] == ["root"]
    assert AccountClassificationAssignment.objects.filter(classification=shop["su"]).count() == 1  # nothing saved


def test_manual_assign_and_unassign(api_client, shop, admin_user):
    reader = shop["ids"]["reader"]
    response = api_client.post(f"{API}/assignments/", {"account": reader, "classification": shop["del"].pk},
                               format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    assert (response.json()["source"], response.json()["assigned_by"]) == ("manual", "admin")
    assert api_client.post(f"{API}/assignments/", {"account": 999999, "classification": shop["del"].pk},
                           format="json").status_code == 422  # fmt: skip
    assignment_id = response.json()["id"]
    assert api_client.delete(f"{API}/assignments/{assignment_id}/").status_code == 204
    history = list(AccountClassificationHistory.objects.order_by("id").values_list("action", "changed_by_id"))
    assert history == [("add", admin_user.pk), ("remove", admin_user.pk)]
    rows = api_client.get(f"{API}/history/", {"account": reader}).json()["results"]
    assert [r["action"] for r in rows] == ["remove", "add"]


def test_run_action_history_stats_and_primary_classification(api_client, shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{API}/actions/run/", {"instance_ids": [shop["instance"].pk]}, format="json")
    assert response.status_code == 202
    assert api_client.post(f"{API}/actions/run/", {"instance_ids": [999999]}, format="json").status_code == 422
    stats = api_client.get(f"{API}/stats/", {"classification": "su"}).json()["results"]
    assert [(s["classification_code"], s["account_count"]) for s in stats] == [("su", 1)]
    accounts = {a["username"]: a for a in api_client.get("/api/v1/accounts/").json()["results"]}
    assert accounts["root"]["primary_classification"] == "su" and accounts["reader"]["primary_classification"] is None
    listed = api_client.get(f"{API}/classifications/").json()["results"]
    counts = {c["code"]: (c["rule_count"], c["account_count"]) for c in listed}
    assert (counts["su"], counts["del"], counts["superuser"]) == ((1, 1), (0, 0), (4, 0))  # 4: one rule per engine


def test_system_classifications_cannot_be_deleted(api_client):
    system = AccountClassification.objects.get(code="superuser")  # loaded by the default-rules migration
    response = api_client.delete(f"{API}/classifications/{system.pk}/")
    assert response.status_code == 409 and response.json()["code"] == "protected"
    response = api_client.patch(f"{API}/classifications/{system.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200

"""API: GET /api/v1/accounts/who-can/ and the account list's privilege_on filter."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from accounts.services import accounts_apply
from console.roles import groups_ensure
from instances.adapters.base import AccountFacts, Privilege
from instances.models import Tag
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db

URL = "/api/v1/accounts/who-can/"


@pytest.fixture
def estate(db):
    """A production MySQL instance (tag "eu"), a staging PostgreSQL one, 120 PostgreSQL accounts
    holding DELETE on app (pagination), a PUBLIC grant, an inactive account and a SET ROLE path."""
    mysql = make_instance(name="my-prod", db_type="mysql", port=3306, environment="production")
    mysql.tags.add(Tag.objects.create(name="eu"))
    pg = make_instance(name="pg-stage", db_type="postgresql", environment="staging")
    listing = [
        AccountFacts("ann", "%", privileges=(Privilege("database", "DELETE", "app"),)),
        AccountFacts("ben", "10.%", privileges=(Privilege("object", "DELETE", "app.orders", grantable=True),
                                                Privilege("object", "SELECT", "app.orders"))),
        AccountFacts("ops", "%", privileges=(Privilege("database", "DELETE", "app", via=("dba",),
                                                       via_set_role=True),)),
    ]  # fmt: skip
    gone = AccountFacts("gone", "%", privileges=(Privilege("global", "DELETE"),))
    accounts_apply(instance=mysql, accounts=[*listing, gone])
    accounts_apply(instance=mysql, accounts=listing)  # "gone" vanished: inactive, its facts and entries kept
    accounts_apply(instance=pg, accounts=[
        *(AccountFacts(f"u{i:03d}", privileges=(Privilege("database", "DELETE", "app"),)) for i in range(120)),
        AccountFacts("PUBLIC", can_login=False, privileges=(Privilege("database", "CONNECT", "app"),)),
        AccountFacts("owner", privileges=(Privilege("global", "ALL", implied_by="superuser"),)),
    ])  # fmt: skip
    return {"mysql": mysql, "pg": pg}


def items(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def names(response) -> list[str]:
    return [item["username"] for item in items(response)]


def test_an_answer_item_names_the_account_and_the_entry_that_grants_it(api_client, estate):
    body = items(api_client.get(URL, {"privilege": "DELETE", "object": "app.orders", "db_type": "mysql"}))
    assert body == [
        {"account": body[0]["account"], "instance": estate["mysql"].pk, "instance_name": "my-prod",
         "db_type": "mysql", "username": "ann", "host": "%", "privilege": "DELETE", "level": "database",
         "target": "app", "grantable": False, "via": [], "implied_by": None, "via_set_role": False},
        {"account": body[1]["account"], "instance": estate["mysql"].pk, "instance_name": "my-prod",
         "db_type": "mysql", "username": "ben", "host": "10.%", "privilege": "DELETE", "level": "object",
         "target": "app.orders", "grantable": True, "via": [], "implied_by": None, "via_set_role": False},
    ]  # fmt: skip


def test_the_object_is_read_per_engine_and_implied_privileges_and_public_answer(api_client, estate):
    # "app.orders" is a table on MySQL, which the database-level grant covers, and a schema on
    # PostgreSQL, which a database-level privilege does not reach there; the superuser's does
    response = api_client.get(URL, {"privilege": "DELETE", "object": "app.orders", "page_size": "500"})
    assert names(response) == ["ann", "ben", "owner"]
    assert items(response)[2]["level"] == "global" and items(response)[2]["implied_by"] == "superuser"
    public = items(api_client.get(URL, {"privilege": "CONNECT", "object": "app", "db_type": "postgresql"}))
    assert [(i["username"], i["level"]) for i in public] == [("PUBLIC", "database"), ("owner", "global")]


def test_a_kind_named_object_is_asked_by_its_name_dots_and_spaces_included(api_client, estate):
    """``KIND::name`` (accounts.whocan.level_named): an object of the database, or of no database."""
    accounts_apply(instance=estate["pg"], accounts=[
        AccountFacts("PUBLIC", can_login=False, privileges=(Privilege("object", "USAGE", "app.LANGUAGE::plpgsql"),)),
        AccountFacts("fdw_user", privileges=(Privilege("object", "USAGE", "app.FOREIGN SERVER::eu.remote"),)),
        AccountFacts("tuner", privileges=(Privilege("object", "SET", "PARAMETER::auto_explain.log_min_duration"),)),
    ])  # fmt: skip
    asked = {"db_type": "postgresql"}
    for privilege, name, expected in (("USAGE", "app.LANGUAGE::plpgsql", ["PUBLIC"]),
                                      ("USAGE", "app.FOREIGN SERVER::eu.remote", ["fdw_user"]),
                                      ("SET", "PARAMETER::auto_explain.log_min_duration", ["tuner"]),
                                      ("USAGE", "app.LANGUAGE::sql", [])):  # fmt: skip
        body = items(api_client.get(URL, {"privilege": privilege, "object": name, **asked}))
        assert [i["username"] for i in body if i["level"] != "global"] == expected, name
        assert all(i["target"] == name for i in body if i["level"] != "global")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"environment": "production"}, ["ann", "ben"]),
        ({"tag": "eu"}, ["ann", "ben"]),
        ({"tag": ["eu", "other"]}, []),
        ({"db_type": "oracle"}, []),
        ({"db_type": "db2"}, []),
        ({"include_set_role": "true", "db_type": "mysql"}, ["ann", "ben", "ops"]),
        ({"include_inactive": "true", "db_type": "mysql"}, ["ann", "ben", "gone"]),
    ],
)
def test_filters(api_client, estate, params, expected):
    assert names(api_client.get(URL, {"privilege": "DELETE", "object": "app.orders", **params})) == expected


def test_instance_filter_and_an_unknown_instance(api_client, estate):
    assert names(api_client.get(URL, {"privilege": "DELETE", "object": "app.orders",
                                      "instance": estate["mysql"].pk})) == ["ann", "ben"]  # fmt: skip
    assert names(api_client.get(URL, {"privilege": "DELETE", "object": "app.orders", "instance": "999999"})) == []


def test_a_database_is_asked_at_its_level_unless_contained_is_asked(api_client, estate):
    query = {"privilege": "DELETE", "object": "app", "db_type": "mysql"}
    assert names(api_client.get(URL, query)) == ["ann"]
    assert names(api_client.get(URL, {**query, "include_contained": "true"})) == ["ann", "ben"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"object": "app.t"}, "privilege"),
        ({"privilege": "DELETE"}, "object"),
        ({"privilege": "DELET", "object": "app.t"}, "privilege"),
        ({"privilege": "delete", "object": "app.t"}, "privilege"),  # the schema's enum is upper case
        ({"privilege": "SUPER", "object": "app.t"}, "privilege"),  # server-wide, not a privilege on objects
        ({"privilege": "DELETE", "object": "app..t"}, "object"),
        ({"privilege": "DELETE", "object": ""}, "object"),
        ({"privilege": "DELETE", "object": "a.b.c.d.e"}, "object"),
        ({"privilege": "DELETE", "object": "x" * 201}, "object"),
        ({"privilege": "DELETE", "object": "app.t", "include_contained": "yes"}, "include_contained"),
        ({"privilege": "DELETE", "object": "app.t", "instance": "0"}, "instance"),
        ({"privilege": "DELETE", "object": "app.t", "environment": "prod"}, "environment"),
        ({"privilege": "DELETE", "object": "app.t", "page_size": "0"}, "page_size"),
    ],
)
def test_malformed_parameters_are_400_naming_the_parameter(api_client, params, parameter):
    response = api_client.get(URL, params)
    assert (response.status_code, response.json()["code"]) == (400, "invalid"), response.content
    assert parameter in response.json()["errors"], response.json()


def test_pagination_and_a_page_past_the_last(api_client, estate):
    query = {"privilege": "DELETE", "object": "app", "db_type": "postgresql"}
    first = api_client.get(URL, query).json()
    assert first["count"] == 121 and len(first["results"]) == 50 and first["next"]  # owner, u000 … u119
    third = api_client.get(URL, {**query, "page": "3"}).json()
    assert [i["username"] for i in third["results"]] == [f"u{i:03d}" for i in range(99, 120)]
    assert api_client.get(URL, {**query, "page": "4"}).status_code == 404


def test_csv_has_every_row_unpaginated(api_client, estate):
    response = api_client.get(URL, {"privilege": "DELETE", "object": "app", "format": "csv", "page_size": "1"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="who_can-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1 + 121 and rows[0]["username"] == "ann" and rows[0]["instance"] == "my-prod"
    assert list(rows[0]) == ["account", "instance", "db_type", "username", "host", "privilege", "level", "target",
                             "grantable", "via", "implied_by", "via_set_role"]  # fmt: skip
    with_role = api_client.get(URL, {"privilege": "DELETE", "object": "app", "format": "csv",
                                     "include_set_role": "true", "db_type": "mysql"})  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(b"".join(with_role.streaming_content).decode())))
    assert [(r["username"], r["via"], r["via_set_role"]) for r in rows] == [("ann", "", "False"),
                                                                           ("ops", "dba", "True")]  # fmt: skip
    bad = api_client.get(URL, {"privilege": "nope", "object": "app", "format": "csv"})
    assert bad.status_code == 400 and bad["Content-Type"] == "application/json"


def test_three_queries_whatever_the_number_of_accounts(estate, django_assert_num_queries):
    client = APIClient()
    user = get_user_model().objects.create_superuser("q", "q@example.com", "pw")
    client.force_authenticate(user)
    with django_assert_num_queries(3):  # the instances, the candidate entries, the answering accounts
        assert len(names(client.get(URL, {"privilege": "DELETE", "object": "app", "page_size": "500"}))) == 122


def test_viewers_may_ask_anonymous_clients_may_not(estate):
    groups_ensure()
    viewer = get_user_model().objects.create_user("viewer")
    viewer.groups.add(Group.objects.get(name="viewer"))
    client = APIClient()
    assert client.get(URL, {"privilege": "DELETE", "object": "app"}).status_code == 401
    client.force_authenticate(viewer)
    assert client.get(URL, {"privilege": "DELETE", "object": "app"}).status_code == 200
    nobody = get_user_model().objects.create_user("nobody")
    client.force_authenticate(nobody)
    assert client.get(URL, {"privilege": "DELETE", "object": "app"}).status_code == 403


# --- the account list's privilege_on ------------------------------------------------------------


def test_account_list_privilege_on_with_and_without_has_privilege(api_client, estate):
    def usernames(**params):
        response = api_client.get("/api/v1/accounts/", {"db_type": "mysql", **params})
        assert response.status_code == 200, response.content
        return sorted(a["username"] for a in response.json()["results"])

    assert usernames(privilege_on="app.orders", has_privilege="DELETE") == ["ann", "ben", "gone"]  # every activity
    assert usernames(privilege_on="app.orders", has_privilege="DELETE", is_active="true") == ["ann", "ben"]
    assert usernames(privilege_on="app.orders", has_privilege="delete", include_set_role="true",
                     is_active="true") == ["ann", "ben", "ops"]  # fmt: skip
    assert usernames(privilege_on="app.orders", has_privilege="SELECT") == ["ben"]
    assert usernames(privilege_on="app.customers", is_active="true") == ["ann"]  # any privilege
    assert usernames(privilege_on="other") == ["gone"]  # a global DELETE covers every database


def test_account_list_privilege_on_malformed_is_400(api_client):
    for value in ("", "a..b", "a.b.c.d.e"):
        response = api_client.get("/api/v1/accounts/", {"privilege_on": value})
        assert response.status_code == 400 and list(response.json()["errors"]) == ["privilege_on"], value

"""API: /api/v1/database-types, /api/v1/credentials, /api/v1/instances."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from instances.models import Credential, Instance, Tag
from tests.support.factories import make_credential, make_instance

pytestmark = pytest.mark.django_db

SECRET = "Unique-Pw-7f3a9c!#"  # must never appear in any response body


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    assert "instance_id" in body
    return body


# --- database types ------------------------------------------------------------------------------------------------
def test_database_types_list_and_retrieve(api_client):
    response = api_client.get("/api/v1/database-types/")
    assert response.status_code == 200
    names = [row["name"] for row in response.json()["results"]]
    assert names == ["mysql", "oracle", "postgresql", "sqlserver"]

    response = api_client.get("/api/v1/database-types/mysql/")
    assert response.status_code == 200
    assert response.json()["default_port"] == 3306


def test_database_types_are_read_only(api_client):
    response = api_client.post("/api/v1/database-types/", {"name": "db2"}, format="json")
    assert_error(response, 405, "method_not_allowed")


# --- credentials ---------------------------------------------------------------------------------------------------
def test_credential_create_never_returns_password(api_client):
    response = api_client.post(
        "/api/v1/credentials/", {"name": "monitor", "username": "mon", "password": SECRET}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "name", "username", "instance_count", "created_at", "updated_at"}
    assert body["instance_count"] == 0
    assert body["created_at"] and body["updated_at"]
    assert SECRET not in response.content.decode()
    assert Credential.objects.get(pk=body["id"]).get_password() == SECRET


def test_credential_create_requires_password(api_client):
    response = api_client.post("/api/v1/credentials/", {"name": "monitor", "username": "mon"}, format="json")
    body = assert_error(response, 400, "invalid")
    assert "password" in body["errors"]


def test_credential_password_is_not_trimmed(api_client):
    response = api_client.post(
        "/api/v1/credentials/", {"name": "monitor", "username": "mon", "password": " pw "}, format="json"
    )
    assert response.status_code == 201
    assert Credential.objects.get(pk=response.json()["id"]).get_password() == " pw "


def test_credential_secret_absent_from_every_response(api_client):
    created = api_client.post(
        "/api/v1/credentials/", {"name": "monitor", "username": "mon", "password": SECRET}, format="json"
    )
    pk = created.json()["id"]
    responses = [
        created,
        api_client.get("/api/v1/credentials/"),
        api_client.get(f"/api/v1/credentials/{pk}/"),
        api_client.patch(f"/api/v1/credentials/{pk}/", {"username": "other", "password": SECRET}, format="json"),
        api_client.put(
            f"/api/v1/credentials/{pk}/", {"name": "monitor", "username": "x", "password": SECRET}, format="json"
        ),
        # errors that echo other input: duplicate name (409), blank username, over-long password, wrong types
        api_client.post(
            "/api/v1/credentials/", {"name": "monitor", "username": "mon", "password": SECRET}, format="json"
        ),
        api_client.post("/api/v1/credentials/", {"name": "n2", "username": "", "password": SECRET}, format="json"),
        api_client.post(
            "/api/v1/credentials/", {"name": "n3", "username": "u", "password": SECRET * 100}, format="json"
        ),
        api_client.post("/api/v1/credentials/", {"name": ["x"], "username": {}, "password": SECRET}, format="json"),
        api_client.patch(f"/api/v1/credentials/{pk}/", {"name": "", "password": SECRET}, format="json"),
        api_client.options("/api/v1/credentials/"),
    ]
    assert [r.status_code for r in responses] == [201, 200, 200, 200, 200, 409, 400, 400, 400, 400, 200]
    for response in responses:
        assert SECRET not in response.content.decode()
        payload = response.json()
        rows = payload.get("results", [payload]) if isinstance(payload, dict) else payload
        for row in rows:
            assert "password" not in row
            assert "password_encrypted" not in row


def test_credential_update_without_password_keeps_it(api_client):
    credential = make_credential(password=SECRET)
    response = api_client.patch(f"/api/v1/credentials/{credential.pk}/", {"username": "renamed"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "renamed"
    credential.refresh_from_db()
    assert credential.get_password() == SECRET

    response = api_client.put(
        f"/api/v1/credentials/{credential.pk}/", {"name": credential.name, "username": "again"}, format="json"
    )
    assert response.status_code == 200, response.content
    credential.refresh_from_db()
    assert (credential.username, credential.get_password()) == ("again", SECRET)


def test_credential_update_with_password_changes_it(api_client):
    credential = make_credential(password="old-password")
    response = api_client.patch(f"/api/v1/credentials/{credential.pk}/", {"password": SECRET}, format="json")
    assert response.status_code == 200
    assert SECRET not in response.content.decode()
    credential.refresh_from_db()
    assert credential.get_password() == SECRET


def test_credential_instance_count(api_client, credential):
    make_instance(credential=credential)
    make_instance(credential=credential)
    response = api_client.get(f"/api/v1/credentials/{credential.pk}/")
    assert response.json()["instance_count"] == 2
    response = api_client.patch(f"/api/v1/credentials/{credential.pk}/", {"username": "x"}, format="json")
    assert response.json()["instance_count"] == 2


def test_credential_delete_detaches_instances(api_client, credential):
    instance = make_instance(credential=credential)
    response = api_client.delete(f"/api/v1/credentials/{credential.pk}/")
    assert response.status_code == 204
    instance.refresh_from_db()
    assert instance.credential_id is None


def test_credential_search_filter(api_client):
    make_credential(name="prod-monitor", username="mon")
    make_credential(name="dev", username="backup_user")
    response = api_client.get("/api/v1/credentials/", {"search": "BACKUP"})
    assert [row["name"] for row in response.json()["results"]] == ["dev"]


def test_credential_list_query_count(api_client, django_assert_max_num_queries):
    Credential.objects.bulk_create(
        [Credential(name=f"c{i:03}", username="u", password_encrypted="x") for i in range(200)]
    )
    credentials = list(Credential.objects.all()[:20])
    Instance.objects.bulk_create(
        [
            Instance(name=f"i{i:03}", db_type_id="mysql", host="h", port=3306, credential=credentials[i % 20])
            for i in range(200)
        ]
    )
    with django_assert_max_num_queries(3):
        response = api_client.get("/api/v1/credentials/", {"page_size": 200, "ordering": "-instance_count"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 200 and len(body["results"]) == 200
    assert body["results"][0]["instance_count"] == 10


# --- instances -----------------------------------------------------------------------------------------------------
def instance_payload(**overrides):
    payload = {"name": "db1", "db_type": "mysql", "host": "10.0.0.1", "port": 3306}
    payload.update(overrides)
    return payload


def test_instance_create_with_tags(api_client, credential):
    payload = instance_payload(
        credential=credential.pk, tags=["prod", "team-a", "prod"], environment="staging", connect_timeout=5
    )
    response = api_client.post("/api/v1/instances/", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["db_type"] == "mysql"
    assert body["credential"] == credential.pk
    assert body["credential_name"] == credential.name
    assert body["tags"] == ["prod", "team-a"]
    assert body["environment"] == "staging"
    assert body["connect_timeout"] == 5
    assert body["is_active"] is True
    assert body["version"] == "" and body["deleted_at"] is None and body["created_at"]
    assert "s3cret-pass" not in response.content.decode()  # the factory credential's password
    instance = Instance.objects.get(pk=body["id"])
    assert sorted(instance.tags.values_list("name", flat=True)) == ["prod", "team-a"]


def test_instance_create_without_credential(api_client):
    response = api_client.post("/api/v1/instances/", instance_payload(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["credential"] is None and body["credential_name"] is None and body["tags"] == []


def test_instance_read_only_fields_are_ignored(api_client):
    response = api_client.post(
        "/api/v1/instances/", instance_payload(version="hacked", deleted_at="2020-01-01T00:00:00Z"), format="json"
    )
    assert response.status_code == 201
    assert response.json()["version"] == "" and response.json()["deleted_at"] is None


def test_instance_unknown_db_type(api_client):
    response = api_client.post("/api/v1/instances/", instance_payload(db_type="db2"), format="json")
    body = assert_error(response, 422, "unprocessable")
    assert set(body["errors"]) == {"db_type"}
    assert body["instance_id"] is None


@pytest.mark.parametrize("port", [0, -1, 65536, 70000, "abc", None, 1.5])
def test_instance_bad_port(api_client, port):
    response = api_client.post("/api/v1/instances/", instance_payload(port=port), format="json")
    body = assert_error(response, 400, "invalid")
    assert set(body["errors"]) == {"port"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("environment", "moon"),
        ("credential", "x"),
        ("tags", "prod"),
        ("tags", ["x" * 65]),
        ("name", "a\x00b"),
        ("connect_timeout", 2**40),
        ("host", ""),
    ],
)
def test_instance_bad_fields(api_client, field, value):
    response = api_client.post("/api/v1/instances/", instance_payload(**{field: value}), format="json")
    body = assert_error(response, 400, "invalid")
    assert field in body["errors"]


def test_instance_unknown_credential(api_client):
    response = api_client.post("/api/v1/instances/", instance_payload(credential=999999), format="json")
    assert "credential" in assert_error(response, 422, "unprocessable")["errors"]


@pytest.mark.parametrize(("field", "value"), [("port", "5432"), ("is_active", 0), ("tags", [0]), ("name", 7)])
def test_instance_fields_take_exactly_their_json_type(api_client, field, value):
    response = api_client.post("/api/v1/instances/", instance_payload(**{field: value}), format="json")
    assert field in assert_error(response, 400, "invalid")["errors"]


def test_unknown_body_fields_are_refused_not_ignored(api_client, instance):
    response = api_client.patch(f"/api/v1/instances/{instance.pk}/", {"size_limt_bytes": 5}, format="json")
    assert assert_error(response, 400, "invalid")["errors"] == {"size_limt_bytes": ["Unknown field."]}
    response = api_client.post("/api/v1/accounts/actions/sync", {"instance_id": [instance.pk]}, format="json")
    assert set(assert_error(response, 400, "invalid")["errors"]) == {"instance_id"}


def test_instance_duplicate_name(api_client, instance):
    response = api_client.post("/api/v1/instances/", instance_payload(name=instance.name), format="json")
    body = assert_error(response, 409, "conflict")
    assert "name" in body["errors"]


def test_instance_non_object_body(api_client):
    response = api_client.post("/api/v1/instances/", [1, 2], format="json")
    assert_error(response, 400, "invalid")


def test_instance_update_and_tags(api_client, instance):
    instance.tags.set([Tag.objects.create(name="old")])
    url = f"/api/v1/instances/{instance.pk}/"

    response = api_client.patch(url, {"port": 5433, "description": "primary"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["port"] == 5433
    assert response.json()["tags"] == ["old"]  # omitted tags: unchanged

    response = api_client.patch(url, {"tags": ["b", "a"], "db_type": "mysql", "credential": None}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tags"] == ["a", "b"]
    assert body["db_type"] == "mysql" and body["credential"] is None

    response = api_client.patch(url, {"port": 70000}, format="json")
    assert "port" in assert_error(response, 400, "invalid")["errors"]

    instance.refresh_from_db()
    assert (instance.port, instance.db_type_id, instance.credential_id, instance.description) == (
        5433,
        "mysql",
        None,
        "primary",
    )

    response = api_client.put(url, instance_payload(name=instance.name, tags=[]), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["tags"] == []
    assert response.json()["description"] == "primary"  # PUT keeps omitted optional fields


def test_instance_delete_is_soft_and_restorable(api_client, instance):
    from accounts.models import InstanceAccount

    InstanceAccount.objects.create(instance=instance, username="kept")
    response = api_client.delete(f"/api/v1/instances/{instance.pk}/")
    assert response.status_code == 204
    instance.refresh_from_db()
    assert instance.deleted_at is not None and instance.is_active is False  # the row and its history stay
    assert InstanceAccount.objects.filter(instance=instance, username="kept").exists()
    assert api_client.get(f"/api/v1/instances/{instance.pk}/").json()["deleted_at"] is not None
    assert api_client.delete(f"/api/v1/instances/{instance.pk}/").status_code == 204  # again: nothing changes
    body = api_client.post(f"/api/v1/instances/{instance.pk}/actions/restore/").json()
    assert body["deleted_at"] is None and body["is_active"] is True
    instance.refresh_from_db()
    assert instance.deleted_at is None and instance.is_active


def test_openapi_documents_what_delete_does():
    from drf_spectacular.generators import SchemaGenerator

    operation = SchemaGenerator().get_schema(request=None, public=True)["paths"]["/api/v1/instances/{id}/"]["delete"]
    assert "Soft delete" in operation["description"] and "history" in operation["description"]
    assert {"204", "404"} <= set(operation["responses"])
    assert "softly" in operation["responses"]["204"]["description"]


def test_instance_not_found_shape(api_client):
    response = api_client.get("/api/v1/instances/999999/")
    assert_error(response, 404, "not_found")
    response = api_client.get("/api/v1/instances/abc/")
    assert_error(response, 404, "not_found")


def test_instance_filters(api_client):
    prod, dev = Tag.objects.create(name="prod"), Tag.objects.create(name="dev")
    a = make_instance(name="alpha", db_type="mysql", host="mysql-1.example", environment="production")
    b = make_instance(name="beta", db_type="postgresql", host="pg-1.example", environment="development")
    c = make_instance(name="gamma", db_type="postgresql", host="pg-2.example", is_active=False)
    a.tags.set([prod])
    b.tags.set([prod, dev])
    c.tags.set([dev])

    def names(**params):
        response = api_client.get("/api/v1/instances/", params)
        assert response.status_code == 200, response.content
        return [row["name"] for row in response.json()["results"]]

    assert names() == ["alpha", "beta", "gamma"]
    assert names(db_type="postgresql") == ["beta", "gamma"]
    assert names(environment="development") == ["beta"]
    assert names(is_active="false") == ["gamma"]
    assert names(tag="prod") == ["alpha", "beta"]
    assert names(tag=["prod", "dev"]) == ["beta"]
    assert names(search="PG-") == ["beta", "gamma"]
    assert names(search="alp") == ["alpha"]
    assert names(credential=a.credential_id) == ["alpha"]
    assert names(ordering="-name") == ["gamma", "beta", "alpha"]
    assert names(is_deleted="false") == ["alpha", "beta", "gamma"]

    assert names(db_type="db2") == []  # a name nothing has matches nothing
    for bad in ({"environment": "moon"}, {"is_active": "yes"}, {"credential": "0"}, {"ordering": "password"},
                {"page_size": "0"}, {"page": "x"}, {"search": "x" * 201}):  # fmt: skip
        assert set(bad) == set(assert_error(api_client.get("/api/v1/instances/", bad), 400, "invalid")["errors"]), bad


def test_instance_list_query_count(api_client, django_assert_max_num_queries):
    credentials = Credential.objects.bulk_create(
        [Credential(name=f"c{i}", username="u", password_encrypted="x") for i in range(10)]
    )
    tags = Tag.objects.bulk_create([Tag(name=f"t{i}") for i in range(5)])
    instances = Instance.objects.bulk_create(
        [
            Instance(name=f"i{i:03}", db_type_id="postgresql", host="h", port=5432, credential=credentials[i % 10])
            for i in range(200)
        ]
    )
    through = Instance.tags.through
    through.objects.bulk_create(
        [through(instance_id=inst.pk, tag_id=tag.pk) for inst in instances for tag in tags[: 1 + inst.pk % 5]]
    )
    with django_assert_max_num_queries(3):  # count, page (with credential), tags
        response = api_client.get("/api/v1/instances/", {"page_size": 200})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 200
    assert all(row["tags"] and row["credential_name"] for row in rows)


# --- permissions ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/api/v1/instances/", "/api/v1/credentials/", "/api/v1/database-types/"])
def test_unauthenticated_is_refused(url):
    response = APIClient().get(url)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    body = response.json()
    assert body["code"] == "not_authenticated" and body["message"]


def test_view_only_user_can_read_but_not_write(instance):
    user = get_user_model().objects.create_user("viewer", password="x")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_instance", "view_credential", "view_databasetype"])
    )
    client = APIClient()
    client.force_authenticate(user)

    assert client.get("/api/v1/instances/").status_code == 200
    assert client.get(f"/api/v1/instances/{instance.pk}/").status_code == 200
    assert client.get("/api/v1/credentials/").status_code == 200
    assert_error(client.post("/api/v1/instances/", instance_payload(), format="json"), 403, "permission_denied")
    assert_error(
        client.patch(f"/api/v1/instances/{instance.pk}/", {"port": 1}, format="json"), 403, "permission_denied"
    )
    assert_error(client.delete(f"/api/v1/instances/{instance.pk}/"), 403, "permission_denied")
    assert_error(client.post(f"/api/v1/instances/{instance.pk}/actions/restore/"), 403, "permission_denied")
    assert_error(
        client.post("/api/v1/credentials/", {"name": "n", "username": "u", "password": SECRET}, format="json"),
        403,
        "permission_denied",
    )
    assert Instance.objects.filter(pk=instance.pk, port=5432).exists()


def test_user_without_view_perm_cannot_read(db):
    user = get_user_model().objects.create_user("nobody", password="x")
    client = APIClient()
    client.force_authenticate(user)
    assert_error(client.get("/api/v1/instances/"), 403, "permission_denied")


# --- action endpoints (behaviour: tests/instances/test_test_connection.py, tests/accounts/test_sync_actions.py) ----
def test_action_endpoints_in_schema():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    test = paths["/api/v1/instances/{id}/actions/test-connection/"]["post"]
    assert set(test["responses"]) >= {"200", "404", "409", "502", "504"}
    assert "requestBody" not in test
    sync = paths["/api/v1/instances/{id}/actions/sync-accounts/"]["post"]
    assert set(sync["responses"]) >= {"202", "400", "404"}
    batch = paths["/api/v1/accounts/actions/sync/"]["post"]
    assert "202" in batch["responses"] and "requestBody" in batch


def test_actions_reject_get(api_client, instance):
    for action in ("test-connection", "sync-accounts"):
        response = api_client.get(f"/api/v1/instances/{instance.pk}/actions/{action}")
        assert_error(response, 405, "method_not_allowed")


# --- names are printable, trimmed and bounded -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "status"),
    [("\x14\U00056b40", 422), ("db\x00x", 400), ("db\u200bname", 422), ("tab\tname", 422), ("x" * 129, 400)],
    ids=["control+unassigned", "nul", "zero-width", "tab", "too-long"],
)
def test_instance_and_credential_names_must_be_printable(api_client, instance, name, status):
    """NUL and the length are in the schema (400); "printable" only in its prose (422)."""
    url = f"/api/v1/instances/{instance.pk}/"
    response = api_client.put(url, instance_payload(name=name), format="json")
    assert response.status_code == status and "name" in response.json()["errors"], response.content
    response = api_client.post("/api/v1/credentials/", {"name": name, "username": "u", "password": "p"}, format="json")
    assert response.status_code == status and "name" in response.json()["errors"], response.content
    instance.refresh_from_db()
    assert instance.name.startswith("inst-")


def test_names_are_trimmed_and_any_script_is_fine(api_client):
    response = api_client.post("/api/v1/instances/", instance_payload(name="  生产库 订单  "), format="json")
    assert response.status_code == 201 and response.json()["name"] == "生产库 订单"
    credential = {"name": " ops ", "username": "u", "password": "p"}
    response = api_client.post("/api/v1/credentials/", credential, format="json")
    assert response.status_code == 201 and response.json()["name"] == "ops"
    response = api_client.post("/api/v1/instances/", instance_payload(name="t", tags=["ok", "bad\x07"]), format="json")
    assert response.status_code == 422 and "tags" in response.json()["errors"]
    response = api_client.post("/api/v1/instances/", instance_payload(name="\u00a0 "), format="json")
    assert response.status_code == 422 and "name" in response.json()["errors"]


def test_service_rejects_untrimmed_or_control_names_from_scripts():
    from django.core.exceptions import ValidationError

    from instances.services import credential_create

    assert credential_create(name=" spaced ", username="u", password="p").name == "spaced"
    with pytest.raises(ValidationError, match="printable"):
        credential_create(name="bell\x07", username="u", password="p")

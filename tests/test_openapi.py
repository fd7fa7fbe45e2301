"""OpenAPI: /api/schema/ serves a valid schema, generated without warnings."""

from __future__ import annotations

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

PATHS = [
    "/api/v1/database-types/",
    "/api/v1/database-types/{name}/",
    "/api/v1/credentials/",
    "/api/v1/credentials/{id}/",
    "/api/v1/instances/",
    "/api/v1/instances/{id}/",
    "/api/v1/sync-sessions/",
    "/api/v1/sync-sessions/{session_id}/",
    "/api/v1/sync-sessions/{session_id}/records/",
    "/api/v1/sync-records/",
    "/api/v1/sync-records/{id}/",
    "/api/v1/instances/{id}/actions/test-connection/",
    "/api/v1/instances/{id}/privilege-check/",
    "/api/v1/instances/{id}/actions/sync-accounts/",
    "/api/v1/accounts/",
    "/api/v1/accounts/{id}/",
    "/api/v1/accounts/{id}/permissions/",
    "/api/v1/accounts/{id}/changes/",
    "/api/v1/accounts/actions/sync/",
    "/api/v1/account-changes/",
    "/api/v1/instances/{instance_id}/accounts/",
    "/api/v1/instances/{instance_id}/databases/",
    "/api/v1/instances/{instance_id}/databases/{database}/tables/sizes/",
    "/api/v1/instances/{instance_id}/databases/{database}/tables/sizes/actions/refresh/",
    "/api/v1/instances/{instance_id}/actions/collect-capacity/",
    "/api/v1/capacity/database-stats/",
    "/api/v1/capacity/instance-stats/",
    "/api/v1/capacity/database-aggregations/",
    "/api/v1/capacity/instance-aggregations/",
    "/api/v1/capacity/databases/",
    "/api/v1/capacity/databases/{id}/",
    "/api/v1/capacity/top-growers/",
    "/api/v1/capacity/actions/aggregate/",
    "/api/v1/instances/{instance_id}/capacity/summary/",
]


@pytest.mark.django_db
def test_schema_endpoint(api_client):
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert set(PATHS) <= set(schema["paths"])


@pytest.mark.django_db
def test_docs_page_loads_its_assets_from_our_static_files(api_client):
    """An operations network has no internet: the docs page names no other host (the browser test
    also watches every request it makes)."""
    body = api_client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in body
    assert "http://" not in body and "https://" not in body, [w for w in body.split() if "//" in w][:5]


def test_schema_generates_without_warnings_and_validates():
    """What ``manage.py spectacular --validate --fail-on-warn`` checks."""
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    warnings, errors = dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache)
    assert not errors, errors
    assert not warnings, warnings
    validate_schema(schema)
    assert set(PATHS) <= set(schema["paths"])


def test_schema_never_exposes_passwords():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    for name, component in components.items():
        props = component.get("properties", {})
        assert "password_encrypted" not in props, name
        if "password" in props:
            assert name.endswith("Request"), name  # request bodies only
            assert props["password"].get("writeOnly") is True


def test_instance_schema_fields():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    instance = schema["components"]["schemas"]["Instance"]["properties"]
    assert instance["port"]["minimum"] == 1 and instance["port"]["maximum"] == 65535
    assert instance["tags"]["type"] == "array" and instance["tags"]["items"]["type"] == "string"
    assert instance["db_type"]["type"] == "string"
    params = {p["name"] for p in schema["paths"]["/api/v1/instances/"]["get"]["parameters"]}
    assert {"db_type", "environment", "is_active", "tag", "search", "ordering", "page"} <= params

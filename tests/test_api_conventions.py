"""The API's shared conventions: strict query parameters, strict bodies, the error statuses and
their documentation in the OpenAPI schema (schemathesis checks the same against the live app in
bin/api-conformance; these pin each rule to a test)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from drf_spectacular.generators import SchemaGenerator

from tests.support.factories import make_instance
from whalefall import filters as wf

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_documents_the_shared_errors_with_the_error_body(schema):
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        for status in ("406", "414", "429"):
            assert status in responses, (method, path, status)
        if path != "/api/v1/auth/token/":
            assert {"401", "403"} <= set(responses), (method, path)
        if operation.get("parameters") or "requestBody" in operation:
            assert "400" in responses or not any(p["in"] == "query" for p in operation.get("parameters", [])), path
        if "requestBody" in operation:
            assert {"400", "409", "413", "415", "422"} <= set(responses), (method, path)
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            assert "404" in responses, (method, path)
        for status, response in responses.items():
            if int(status) >= 400 and status != "414":
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_request_bodies_are_json_only_and_closed(schema):
    for path, method, operation in _operations(schema):
        body = operation.get("requestBody")
        if body is None:
            continue
        media_types = set(body["content"])
        assert media_types == {"application/json"} or path == "/api/v1/auth/token/", (method, path, media_types)
        ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert schema["components"]["schemas"][ref]["additionalProperties"] is False, ref


def test_query_parameters_state_their_bounds(schema):
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/accounts/"]["get"]["parameters"]}
    assert parameters["instance"] == wf.ID_SCHEMA
    assert parameters["username"] == wf.TEXT_SCHEMA
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 500}
    assert parameters["ordering"]["pattern"].startswith("^-?(id|username|")


@pytest.mark.parametrize(
    ("field", "value", "parsed"),
    [
        (wf.StrictIdField(required=False), "42", 42),
        (wf.StrictBooleanField(required=False), "false", False),
        (wf.StrictDateField(required=False), "2026-12-01", dt.date(2026, 12, 1)),
        (wf.StrictDateTimeField(required=False), "2026-12-01T08:00:00+08:00", dt.datetime(2026, 12, 1, tzinfo=dt.UTC)),
        # an offset that moves year 1 before the first representable instant selects the same rows
        (wf.StrictDateTimeField(required=False), "0001-01-01T00:00:00+01:00", dt.datetime.min.replace(tzinfo=dt.UTC)),
        (wf.StrictDateTimeField(required=False), "9999-12-31T23:00:00-05:00", dt.datetime.max.replace(tzinfo=dt.UTC)),
        (wf.StrictTextField(required=False), " exact ", " exact "),
    ],
)
def test_strict_query_fields_parse_what_their_schema_allows(field, value, parsed):
    assert field.clean(value) == parsed


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (wf.StrictIdField(required=False), "1.0"),
        (wf.StrictIdField(required=False), "0"),
        (wf.StrictIdField(required=False), str(2**63)),
        (wf.StrictIdField(required=False), ""),
        (wf.StrictBooleanField(required=False), "1"),
        (wf.StrictBooleanField(required=False), "null"),
        (wf.StrictDateField(required=False), "12/31/2026"),
        (wf.StrictDateField(required=False), "2026-1-1"),
        (wf.StrictDateTimeField(required=False), "2026-12-01 08:00"),
        (wf.StrictDateTimeField(required=False), "2026-12-01T08:00:00"),  # no offset: ambiguous
        (wf.StrictUUIDField(required=False), "{12345678-1234-1234-1234-123456789abc}"),
        (wf.StrictUUIDField(required=False), "12345678123412341234123456789abc"),
        (wf.StrictTextField(required=False), "x" * (wf.QUERY_TEXT_MAX_LENGTH + 1)),
        (wf.StrictTextField(required=False), "a\x00b"),
    ],
)
def test_strict_query_fields_refuse_everything_else(field, value):
    with pytest.raises(ValidationError):
        field.clean(value)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "501"}, "page_size"),
        ({"page_size": "null"}, "page_size"),
        ({"page": "0"}, "page"),
        ({"ordering": "name,bogus"}, "ordering"),
        ({"ordering": ""}, "ordering"),
        ({"is_active": "maybe"}, "is_active"),
        ({"credential": "x"}, "credential"),
        ({"tag": "a\x00"}, None),  # refused before any query (whalefall.middleware): no field named
    ],
)
def test_malformed_query_parameters_are_400_naming_the_parameter(api_client, params, field):
    response = api_client.get("/api/v1/instances/", params)
    assert (response.status_code, response.json()["code"]) == (400, "invalid"), response.content
    if field:
        assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize("days", ["٣", "²", "3.0", "+3", "", "true"])
def test_query_integers_of_serializer_fields_are_ascii_digits_only(api_client, days):
    response = api_client.get("/api/v1/capacity/top-growers/", {"days": days})
    assert (response.status_code, list(response.json()["errors"])) == (400, ["days"]), response.content


def test_a_page_past_the_last_is_404(api_client):
    make_instance()
    response = api_client.get("/api/v1/instances/", {"page": "2"})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_bodies_other_than_json_are_415_and_oversized_ones_413(api_client, settings):
    response = api_client.post("/api/v1/accounts/actions/sync", "instance_ids=1", content_type="text/plain")
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = api_client.post("/api/v1/accounts/actions/sync", {"instance_ids": list(range(1, 60))}, format="json")
    assert (response.status_code, response.json()["code"]) == (413, "too_large")

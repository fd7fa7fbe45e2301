"""The OpenAPI schema states every status an endpoint can answer, each error with its body.

drf-spectacular documents the success responses and what views declare; the error statuses
that come from the plumbing every endpoint shares (authentication, permissions, throttles,
content negotiation, query validation, pagination, parsing) are added here from what the
operation has, so they cannot be forgotten per view. Every error body is ``Error``
(``whalefall.api.exception_handler``).
"""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from whalefall.filters import NO_NUL_PATTERN


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API."""

    code = serializers.CharField(help_text="Stable machine-readable code, e.g. invalid, not_found, target_timeout.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    instance_id = serializers.IntegerField(allow_null=True, help_text="The instance concerned, if any.")
    errors = serializers.DictField(
        required=False, help_text="For code=invalid: messages per parameter or field (rule errors by JSON path)."
    )


SHARED_ERRORS = {
    "400": "Invalid input: a query parameter or the body does not match this schema.",
    "401": "Not authenticated (no, wrong or expired token or session).",
    "403": "Authenticated, but the role lacks the permission for this operation, or the operation acts on an "
    "instance outside the user's team scope (README § Team scopes).",
    "404": "No such object (one outside the user's team scope does not exist for the user), or a page or cursor "
    "past the end.",
    "406": "No acceptable media type in the Accept header (this API answers application/json; lists also "
    "text/csv).",
    "413": "The request body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE.",
    "414": "The request line is longer than 8190 bytes: refused by the HTTP server (gunicorn), not JSON.",
    "409": "Conflicts with an existing object (a unique value is taken): errors names the field.",
    "415": "The request body is not application/json.",
    "422": "Matches this schema but breaks a rule it cannot state (an id nothing has, a name with control "
    "characters, a range ending in the future): errors names the field.",
    "429": "Throttled, or locked out after failed logins; Retry-After says when to try again.",
}


#: a list as CSV (``?format=csv`` or ``Accept: text/csv``): every row the filters select, unpaginated
CSV_SCHEMA = {
    "type": "string",
    "description": "CSV (RFC 4180, UTF-8): a header row, then one row per object that the filters and "
    "ordering select, not paginated; a cell starting with = + - @ is prefixed with '.",
}

#: answered by the HTTP server before Django, so without the Error body
SERVER_ANSWERED = {"414"}


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        responses = operation.setdefault("responses", {})
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] == "format":  # CsvListMixin's lists
                parameter["description"] = "json (the default) or csv: every row the filters select, unpaginated."
        for status in self._shared_error_statuses(operation):
            responses.setdefault(status, {"description": SHARED_ERRORS[status]})
        for status, response in responses.items():
            if "text/csv" in response.get("content", {}):  # whalefall.csv_export.CsvListMixin
                response["content"]["text/csv"] = {"schema": CSV_SCHEMA}
            if int(status) >= 400 and status not in SERVER_ANSWERED and "content" not in response:
                response["content"] = {"application/json": {"schema": error}}
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _shared_error_statuses(self, operation: dict) -> list[str]:
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        statuses = ["406", "414", "429"]
        if self.view.get_authenticators():
            statuses.append("401")
        if not all(isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            statuses.append("403")
        if has_body or any(p["in"] == "query" for p in parameters):
            statuses.append("400")
        if has_body:
            statuses += ["409", "413", "415", "422"]
        paginated = any(p["in"] == "query" and p["name"] in ("page", "cursor") for p in parameters)
        if paginated or any(p["in"] == "path" for p in parameters):
            statuses.append("404")
        return statuses


_COMPONENTS: dict[str, dict] = {}


def openapi_component_register(name: str, schema: dict) -> None:
    """Add a hand-written component (e.g. a recursive grammar drf-spectacular cannot derive),
    referenced as ``#/components/schemas/<name>``; the ``components_add`` hook adds it."""
    _COMPONENTS[name] = schema


def components_add(result, generator, request, public):
    """Postprocessing hook: the components registered with ``openapi_component_register``."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(_COMPONENTS)
    return result


class StrictFilterExtension(DjangoFilterExtension):
    """django-filter parameters as drf-spectacular builds them, keeping the label or help text
    of filters whose schema is given by ``extend_schema_field`` (whalefall.filters): stock
    drf-spectacular drops it for those."""

    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)
        description = self._get_field_description(filter_field, None)
        for parameter in parameters:
            if description and "description" not in parameter:
                parameter["description"] = description
        return parameters


def request_schemas_strict(result, generator, request, public):
    """Postprocessing hook: request bodies admit no unknown properties (the serializers refuse
    them, whalefall.serializers.RejectUnknownFields), and request strings without a format, an
    enum or a pattern get ``NO_NUL_PATTERN`` — the API refuses NUL (400): PostgreSQL cannot
    store it."""

    def visit(schema):
        if isinstance(schema, dict):
            if schema.get("type") == "string" and not ({"format", "enum", "pattern"} & schema.keys()):
                schema["pattern"] = NO_NUL_PATTERN
            for value in schema.values():
                visit(value)
        elif isinstance(schema, list):
            for value in schema:
                visit(value)

    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: the request side of a serializer
            if component.get("type") == "object":
                component["additionalProperties"] = False
            visit(component)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                visit(parameter.get("schema"))
    return result

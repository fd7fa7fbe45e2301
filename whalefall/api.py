"""API plumbing: permissions, pagination and the one error mapping.

Every error body is ``{"code", "message", "instance_id"}`` (plus ``errors``
with field messages for validation errors).
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.filters import OrderingFilter
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, DjangoModelPermissions
from rest_framework.response import Response

from whalefall.errors import UNPROCESSABLE_CODES, WhalefallError
from whalefall.filters import INT64_MAX, parse_strict_integer

logger = logging.getLogger(__name__)


class ModelPermissions(DjangoModelPermissions):
    """Reads need the model's view permission; writes its add/change/delete permission."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
    }


def required_permission(codename: str, message: str) -> type[BasePermission]:
    """A permission class: authenticated and holding ``codename`` (e.g. for action endpoints)."""

    class RequiredPermission(BasePermission):
        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perm(codename))

    RequiredPermission.message = message
    RequiredPermission.__name__ = f"Requires_{codename.replace('.', '_')}"
    return RequiredPermission


class _StrictPageSize:
    """``page_size`` from 1 to ``max_page_size``: anything else is a 400, not silently the default
    (DRF's behaviour); the schema states the bounds."""

    def query_validate(self, request) -> None:
        """The pagination parameters' checks without reading a page (a CSV list, which streams
        every row, still refuses a malformed ``page_size``, like the schema)."""
        self.get_page_size(request)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return _query_integer(self.page_size_query_param, raw, minimum=1, maximum=self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
                parameter["description"] = f"Results per page, 1 to {self.max_page_size} (default {self.page_size})."
        return parameters


def _query_integer(name: str, raw: str, *, minimum: int, maximum: int) -> int:
    try:
        return parse_strict_integer(raw, minimum=minimum, maximum=maximum)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError({name: exc.messages}) from None


class StandardPagination(_StrictPageSize, PageNumberPagination):
    """Page numbers from 1; a page past the last one is a 404 (DRF's "Invalid page")."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def query_validate(self, request) -> None:
        super().query_validate(request)
        raw = request.query_params.get(self.page_query_param)
        if raw is not None:
            _query_integer(self.page_query_param, raw, minimum=1, maximum=INT64_MAX)

    def paginate_queryset(self, queryset, request, view=None):
        self.query_validate(request)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"].update(minimum=1, maximum=INT64_MAX, format="int64")
                parameter["description"] = "Page number from 1; past the last page: 404."
        return parameters


class HistoryCursorPagination(_StrictPageSize, CursorPagination):
    """For partitioned history: no COUNT(*), stable under inserts. A cursor this API did not
    hand out is a 404 (DRF's "Invalid cursor")."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def query_validate(self, request) -> None:
        super().query_validate(request)
        self.decode_cursor(request)  # a cursor this API did not hand out: 404


class StrictOrderingFilter(OrderingFilter):
    """``ordering`` = comma-separated terms from the view's ``ordering_fields``, each optionally
    prefixed with ``-``; an unknown term is a 400 (DRF drops it silently). The schema's pattern
    lists the terms. A view without ``ordering_fields`` offers no ordering."""

    def _terms(self, view) -> list[str]:
        return [item if isinstance(item, str) else item[0] for item in getattr(view, "ordering_fields", None) or ()]

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        terms = self._terms(view)
        if raw is None or not terms:
            return self.get_default_ordering(view)
        requested = raw.split(",")
        unknown = [term for term in requested if term.removeprefix("-") not in terms]
        if unknown:
            raise exceptions.ValidationError(
                {self.ordering_param: [f"Unknown ordering {unknown[0]!r}; use {', '.join(terms)} (- descending)."]}
            )
        return requested

    def get_schema_operation_parameters(self, view):
        terms = self._terms(view)
        if not terms:
            return []
        term = "-?(" + "|".join(re.escape(t) for t in terms) + ")"
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": f"Comma-separated: {', '.join(terms)}; prefix - for descending.",
                "schema": {"type": "string", "pattern": f"^{term}(,{term})*$"},
            }
        ]


class StrictContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, but an empty ``?format=`` names no format: a 404 like an unknown one
    (DRF would ignore it and answer JSON, which the schema's ``format`` enum does not allow)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if format_suffix is None and request.query_params.get(self.settings.URL_FORMAT_OVERRIDE) == "":
            raise Http404
        return super().select_renderer(request, renderers, format_suffix)


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class StrictJSONParser(JSONParser):
    """The API's only parser (other media types: 415). Bodies over DATA_UPLOAD_MAX_MEMORY_SIZE
    are a 413 before they are read (DRF reads the stream uncapped). NUL is refused by the
    fields that would store it (CharField's validator, the rule DSL), not here: a property
    the API ignores may hold anything."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        if limit is not None and length and length.isdigit() and int(length) > limit:
            raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
        return super().parse(stream, media_type, parser_context)


def _body(code: str, message: str, instance_id=None, **extra) -> dict:
    return {"code": code, "message": message, "instance_id": instance_id, **extra}


def _leaves(codes):
    if isinstance(codes, dict):
        for value in codes.values():
            yield from _leaves(value)
    elif isinstance(codes, list | tuple):
        for value in codes:
            yield from _leaves(value)
    else:
        yield codes


def _django_codes(exc: DjangoValidationError) -> set:
    errors = [e for field in exc.error_dict.values() for e in field] if hasattr(exc, "error_dict") else exc.error_list
    return {error.code for error in errors}


def _invalid(errors, codes: set) -> Response:
    """400 when the input does not match the schema; 409 when it only collides with a unique
    value; 422 when it matches the schema but breaks a rule the schema cannot state
    (``whalefall.errors.UNPROCESSABLE_CODES``)."""
    if codes and codes <= {"unique"}:
        return Response(_body("conflict", "Already exists.", errors=errors), status=status.HTTP_409_CONFLICT)
    if codes and codes <= UNPROCESSABLE_CODES:
        return Response(
            _body("unprocessable", "Valid input that cannot be applied.", errors=errors),
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return Response(_body("invalid", "Invalid input.", errors=errors), status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc, context):
    """Map WhalefallError, Django and DRF errors to ``{code, message, instance_id}``."""
    if isinstance(exc, WhalefallError):
        if exc.http_status >= 500:
            logger.warning("request failed: %s %s", exc.code, exc.message)
        return Response(exc.as_dict(), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return _invalid(errors, _django_codes(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return _invalid(exc.detail, set(_leaves(exc.get_codes())))
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        return Response(_body(exc.default_code, detail), status=exc.status_code, headers=headers)
    return None  # unexpected: Django's 500 handling


def not_found(request, exception=None):
    """404 for URLs no route matches: JSON under /api/, Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse(_body("not_found", "No such API path."), status=404)
    return page_not_found(request, exception)


def bad_request(request, exception=None):
    """400 raised before a view (Django's SuspiciousOperation): JSON under /api/, with 413 for a
    body over DATA_UPLOAD_MAX_MEMORY_SIZE; Django's page elsewhere."""
    from django.core.exceptions import RequestDataTooBig
    from django.http import JsonResponse
    from django.views.defaults import bad_request as django_bad_request

    if not request.path.startswith("/api/"):
        return django_bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return JsonResponse(_body("too_large", f"The request body is larger than {limit} bytes."), status=413)
    return JsonResponse(_body("invalid", "Malformed request."), status=400)


def server_error(request):
    """500: JSON under /api/ (no detail: it is logged), Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import server_error as django_server_error

    if request.path.startswith("/api/"):
        return JsonResponse(_body("internal_error", "Internal error; it has been logged."), status=500)
    return django_server_error(request)

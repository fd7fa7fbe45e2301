"""API plumbing: permissions, pagination and the one error mapping.

Every error body is ``{"code", "message", "instance_id"}`` (plus ``errors``
with field messages for validation errors).
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.permissions import BasePermission, DjangoModelPermissions
from rest_framework.response import Response

from whalefall.errors import WhalefallError

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


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class HistoryCursorPagination(CursorPagination):
    """For partitioned history: no COUNT(*), stable under inserts."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def _body(code: str, message: str, instance_id=None, **extra) -> dict:
    return {"code": code, "message": message, "instance_id": instance_id, **extra}


def exception_handler(exc, context):
    """Map WhalefallError, Django and DRF errors to ``{code, message, instance_id}``."""
    if isinstance(exc, WhalefallError):
        if exc.http_status >= 500:
            logger.warning("request failed: %s %s", exc.code, exc.message)
        return Response(exc.as_dict(), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(_body("invalid", "Invalid input.", errors=errors), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return Response(
            _body("invalid", "Invalid input.", errors=exc.detail), status=status.HTTP_400_BAD_REQUEST
        )
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


def server_error(request):
    """500: JSON under /api/ (no detail: it is logged), Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import server_error as django_server_error

    if request.path.startswith("/api/"):
        return JsonResponse(_body("internal_error", "Internal error; it has been logged."), status=500)
    return django_server_error(request)

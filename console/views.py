"""Views of the console floor: the API token endpoint and the health check."""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from audit.models import Outcome
from audit.services import audit_record
from console.directory import directory_login_error
from whalefall.api import StrictJSONParser
from whalefall.errors import LoginLocked
from whalefall.serializers import RejectUnknownFields


class TokenRequestSerializer(RejectUnknownFields, AuthTokenSerializer):
    """DRF's username/password serializer, refusing unknown fields like every API body."""


class TokenView(ObtainAuthToken):
    """Exchange a username and password for the user's API token (``Authorization: Token <key>``).

    Failed attempts count towards the same lockout as the admin login (django-axes:
    WHALEFALL_LOGIN_FAILURE_LIMIT per username and address, then 429 for the cool-off),
    and the endpoint is throttled (WHALEFALL_API_RATE_AUTH)."""

    throttle_scope = "auth"
    throttle_classes = [ScopedRateThrottle]  # ObtainAuthToken has none
    parser_classes = [StrictJSONParser, FormParser]  # JSON like the rest of the API; a form for curl -d
    serializer_class = TokenRequestSerializer

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="Missing or malformed fields: {code, message, instance_id, errors}."),
            401: OpenApiResponse(
                description="Wrong username or password, an inactive user, or (directory login) the directory "
                "did not answer or the login holds no WhaleFall role: the message says which."
            ),
            429: OpenApiResponse(description="Locked out after failed logins, or throttled: {code, message}."),
        },
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        username = request.data.get("username") if hasattr(request.data, "get") else None
        # a malformed username (not text, or holding NUL) cannot be locked: the serializer refuses it
        if (
            isinstance(username, str)
            and "\x00" not in username
            and getattr(settings, "AXES_ENABLED", True)
            and AxesProxyHandler.is_locked(request._request, {"username": username})
        ):
            minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
            audit_record(action="login", outcome=Outcome.DENIED, username=username, detail={"reason": "locked out"})
            raise LoginLocked(f"Too many failed logins for {username!r}: try again in {minutes} minutes.")
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except ValidationError as exc:
            # a wrong password is audited by the user_login_failed signal (audit.signals)
            if exc.get_codes() == {"non_field_errors": ["authorization"]}:
                message = directory_login_error(request) or "Unable to log in with the provided credentials."
                raise AuthenticationFailed(message) from None
            raise
        user = serializer.validated_data["user"]
        token, _created = Token.objects.get_or_create(user=user)
        audit_record(action="login", outcome=Outcome.SUCCESS, user=user, detail={"token": True})
        return Response({"token": token.key})


def healthz(request):
    """200 when the process answers and its metadata database does (for load balancers); no login."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})

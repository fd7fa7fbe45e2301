"""Admin logins and logouts, and failed logins anywhere (the admin form and the API token
endpoint both call ``authenticate``), as audit events."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.context import request_channel
from audit.models import Outcome
from audit.services import audit_record


def _admin(request) -> bool:
    return request is not None and request_channel(request) != "api"


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender, request, user, **kwargs):
    if _admin(request):
        audit_record(action="login", outcome=Outcome.SUCCESS, user=user)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if _admin(request) and user is not None:
        audit_record(action="logout", outcome=Outcome.SUCCESS, user=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    # credentials arrive cleansed by Django (the password masked); only the username is kept
    if request is not None:
        audit_record(action="login", outcome=Outcome.FAILURE, username=str(credentials.get("username", "")))

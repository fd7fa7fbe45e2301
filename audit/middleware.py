"""``AuditMiddleware``: every request that changes something (POST, PUT, PATCH, DELETE) under the
admin or the API, every CSV export, and every read of a registered view (credentials) becomes
one audit event, written after the response, with the outcome the response shows.

It records the request, never its body (passwords are typed into bodies); detail holds the
admin action with how many rows it was given, and the query string of exports. Admin logins and
logouts are recorded by ``audit.signals`` instead, the token endpoint's by this middleware.
"""

from __future__ import annotations

import logging

from django.contrib.messages import ERROR
from django.template.response import TemplateResponse
from django.urls import reverse

from audit.context import request_served
from audit.models import Outcome
from audit.services import audit_record

logger = logging.getLogger(__name__)

CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: view name -> action recorded when the view is read (GET); ``audit_view_register``
_AUDITED_READS: dict[str, str] = {}
#: views that record their own events (the admin login and logout: ``audit.signals``)
_SELF_RECORDING: set[str] = {"admin:login", "admin:logout"}


def audit_view_register(*view_names: str, read_action: str | None = None, records_itself: bool = False) -> None:
    """For these views (``namespace:name``): ``read_action`` records every GET as that action (pages
    and endpoints that show something whose every read is audited, such as credentials);
    ``records_itself`` leaves the view's events to the view (it knows what the request cannot
    show, such as the username of a login)."""
    for name in view_names:
        if read_action:
            _AUDITED_READS[name] = read_action
        if records_itself:
            _SELF_RECORDING.add(name)


def _outcome(request, response) -> str:
    status = response.status_code
    if status in (401, 403, 429):
        return Outcome.DENIED
    if status == 302 and response.get("Location", "").startswith(reverse("admin:login")):
        return Outcome.DENIED  # the admin sends a visitor who is not logged in to its login page
    if status >= 400:
        return Outcome.FAILURE
    queued = getattr(getattr(request, "_messages", None), "_queued_messages", [])
    if any(message.level >= ERROR for message in queued):  # an admin action that reported an error
        return Outcome.FAILURE
    if isinstance(response, TemplateResponse) and (response.context_data or {}).get("errors"):
        return Outcome.FAILURE  # an admin form shown again with its errors
    return Outcome.SUCCESS


def _target(match) -> tuple[str, str, str]:
    """(object_type, object_id, verb) of the resolved view, without a query."""
    func = match.func
    kwargs = match.kwargs
    object_id = next((str(kwargs[k]) for k in ("object_id", "pk", "session_id", "instance_id") if k in kwargs), "")
    model_admin = getattr(func, "model_admin", None)
    if model_admin is not None:  # admin:<app>_<model>_<view>
        opts = model_admin.model._meta
        return opts.label_lower, object_id, match.url_name.removeprefix(f"{opts.app_label}_{opts.model_name}_")
    view_class = getattr(func, "cls", None)
    queryset = getattr(view_class, "queryset", None)
    object_type = queryset.model._meta.label_lower if queryset is not None else ""
    return object_type, object_id, ""


def _event(request, response) -> dict | None:
    match = getattr(request, "resolver_match", None)
    if match is None or match.view_name in _SELF_RECORDING:
        return None
    is_csv = response.get("Content-Type", "").startswith("text/csv")
    read_action = _AUDITED_READS.get(match.view_name)
    if request.method not in CHANGING_METHODS and not is_csv and not (read_action and request.method == "GET"):
        return None
    object_type, object_id, verb = _target(match)
    detail: dict = {"path": request.path, "method": request.method}
    if request.GET:
        detail["query"] = request.GET.urlencode()
    admin_action = request.POST.get("action") if request.method == "POST" and verb == "changelist" else None
    if admin_action:
        if admin_action == "delete_selected" and not request.POST.get("post"):
            return None  # only the confirmation page so far
        detail["selected"] = len(request.POST.getlist("_selected_action"))
        detail["select_across"] = request.POST.get("select_across") == "1"
        verb = admin_action
    if read_action and request.method == "GET":
        action = read_action
    else:
        actions = getattr(match.func, "actions", None) or {}  # a DRF viewset: method -> its action
        verb = verb or actions.get(request.method.lower(), "")
        action = f"{object_type}.{verb}" if object_type and verb else f"{match.view_name}.{request.method.lower()}"
    if is_csv:
        action = f"{action}.export" if not action.endswith("export_csv") else action
    return {"action": action, "object_type": object_type, "object_id": object_id, "detail": detail}


class AuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_served(request):
            response = self.get_response(request)
            event = _event(request, response)
            if event is not None:
                audit_record(**event, outcome=_outcome(request, response), status_code=response.status_code)
        return response

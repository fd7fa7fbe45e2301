"""The "Who can…" page (privilege + object → accounts, with role path and implied-by) and the
account list's ``privilege_on`` filter: both thin readers of ``accounts.selectors.who_can``."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget, UnfoldBooleanWidget

from accounts.selectors import who_can
from accounts.whocan import KNOWN_PRIVILEGES, object_parts
from instances.models import DatabaseType, Instance, Tag
from whalefall.scoping import visible_instances

#: accounts per page of the answer (the CSV has them all)
PAGE_SIZE = 100
_ANY = [("", "any")]


class WhoCanForm(forms.Form):
    """The question: a privilege and an object, and the same filters as the API."""

    privilege = forms.CharField(max_length=64, widget=UnfoldAdminTextInputWidget(attrs={"list": "wf-privileges"}))
    object = forms.CharField(
        max_length=200,
        widget=UnfoldAdminTextInputWidget(attrs={"placeholder": "db.table / db.schema.table / OWNER.TABLE"}),
        help_text="db.table or db.routine (MySQL/MariaDB), db.schema.table (PostgreSQL, SQL Server; a PostgreSQL "
        "function as db.schema.f(integer, text)), OWNER.TABLE (Oracle); "
        "a bare database or schema asks at that level. What is in no schema is named by its kind: "
        "db.LANGUAGE::plpgsql, TABLESPACE::fast, PARAMETER::work_mem. Read per instance's engine.",
    )
    instance = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, widget=UnfoldAdminSelectWidget)
    db_type = forms.ChoiceField(required=False, label="Database type", widget=UnfoldAdminSelectWidget)
    environment = forms.ChoiceField(required=False, choices=_ANY + list(Instance.Environment.choices),
                                    widget=UnfoldAdminSelectWidget)  # fmt: skip
    tag = forms.ChoiceField(required=False, widget=UnfoldAdminSelectWidget)
    include_contained = forms.BooleanField(required=False, label="Also held only on something inside it",
                                           widget=UnfoldBooleanWidget)  # fmt: skip
    include_set_role = forms.BooleanField(required=False, label="Also after SET ROLE", widget=UnfoldBooleanWidget)
    include_inactive = forms.BooleanField(required=False, label="Also deactivated accounts", widget=UnfoldBooleanWidget)

    def __init__(self, *args, visible=None, **kwargs):
        super().__init__(*args, **kwargs)
        # three small lookups (instances not deleted — of the user's team scope when it has one —,
        # database types, tags) for the choices
        instances = Instance.objects.all() if visible is None else visible
        self.fields["instance"].choices = _ANY + list(
            instances.filter(deleted_at__isnull=True).order_by("name").values_list("pk", "name")
        )
        self.fields["db_type"].choices = _ANY + list(DatabaseType.objects.order_by("name").values_list("pk", "name"))
        self.fields["tag"].choices = _ANY + [(name, name) for name in Tag.objects.values_list("name", flat=True)]

    def clean_privilege(self) -> str:
        name = " ".join(self.cleaned_data["privilege"].upper().split())
        if name not in KNOWN_PRIVILEGES:
            raise forms.ValidationError(f"{name!r} is not a privilege on databases, schemas, tables or columns.")
        return name

    def clean_object(self) -> tuple[str, ...]:
        try:
            return object_parts(self.cleaned_data["object"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def selector_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "privilege": data["privilege"], "parts": data["object"], "instance_id": data["instance"],
            "db_type": data["db_type"] or None, "environment": data["environment"] or None,
            "tags": (data["tag"],) if data["tag"] else (), "include_set_role": data["include_set_role"],
            "include_inactive": data["include_inactive"], "include_contained": data["include_contained"],
        }  # fmt: skip

    def api_query(self) -> dict:
        """The same question as the API's query parameters."""
        data = self.cleaned_data
        query = {"privilege": data["privilege"], "object": ".".join(data["object"])}
        for name in ("instance", "db_type", "environment", "tag"):
            if data[name]:
                query[name] = data[name]
        for name in ("include_set_role", "include_inactive", "include_contained"):
            if data[name]:
                query[name] = "true"
        return query


def who_can_page(model_admin, request) -> TemplateResponse:
    """GET form and answer: one row per account holding the privilege on the object (the
    entry that grants it, its role path, implied-by), paginated; links to each account, to
    the same answer as CSV (the API's ``?format=csv``) and to the account list filtered by it."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    visible = visible_instances(request.user)
    form = WhoCanForm(request.GET if "privilege" in request.GET else None, visible=visible)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Who can…",
        "opts": model_admin.model._meta,
        "form": form,
        "privileges": KNOWN_PRIVILEGES,
    }
    if form.is_bound and form.is_valid():
        items = who_can(**form.selector_kwargs(), visible=visible)
        page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
        query = form.api_query()
        context.update(
            items=items,
            page=page,
            page_query=urlencode({k: v for k, v in request.GET.items() if k != "page"}),
            csv_url=reverse("accounts:who-can") + "?" + urlencode({**query, "format": "csv"}),
            api_url=reverse("accounts:who-can") + "?" + urlencode(query),
            accounts_url=reverse("admin:accounts_instanceaccount_changelist") + "?" + urlencode(
                {"privilege_on": query["object"], "has_privilege": query["privilege"]}
            ),
        )  # fmt: skip
    return TemplateResponse(request, "admin/accounts/who_can.html", context)


class PrivilegeOnFilter(admin.ListFilter):
    """``?privilege_on=OBJ[&has_privilege=P]`` on the account list: accounts holding P (any
    privilege without it) on OBJ, as the who-can search answers (inactive ones too: the
    "active" filter decides). Hidden until used (the "Who can…" page links here)."""

    title = "privilege on object"
    parameters = ("privilege_on", "has_privilege")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in self.parameters:
            if name in params:
                value = params.pop(name)
                self.used_parameters[name] = value[-1] if isinstance(value, list) else value

    def has_output(self) -> bool:
        return "privilege_on" in self.used_parameters

    def expected_parameters(self) -> list[str]:
        return list(self.parameters)

    def choices(self, changelist):
        privilege = self.used_parameters.get("has_privilege") or "any privilege"
        yield {"selected": True, "query_string": changelist.get_query_string(),
               "display": f"{privilege} on {self.used_parameters['privilege_on']}"}  # fmt: skip
        yield {"selected": False, "query_string": changelist.get_query_string(remove=self.parameters),
               "display": "All"}  # fmt: skip

    def queryset(self, request, queryset):
        try:
            parts = object_parts(self.used_parameters["privilege_on"])
        except ValueError as exc:
            raise IncorrectLookupParameters(str(exc)) from None
        privilege = " ".join(self.used_parameters.get("has_privilege", "").upper().split()) or None
        answer = who_can(privilege=privilege, parts=parts, include_inactive=True)
        return queryset.filter(pk__in=[item.account_id for item in answer])

"""FilterSets for accounts and the account change log."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

from accounts.api.serializers import OBJECT_SCHEMA
from accounts.models import AccountChangeLog, ChangeType, InstanceAccount
from accounts.selectors import who_can
from accounts.whocan import object_parts
from whalefall import filters as wf


class ObjectNameFormField(wf.StrictTextField):
    """An object name (``accounts.whocan.object_parts``), cleaned to its parts; present but
    empty is malformed."""

    def clean(self, value):
        if value is None:
            return None
        if value == "":
            raise ValidationError("A value is required when the parameter is given.", code="required")
        try:
            return object_parts(super().clean(value))
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from None


@extend_schema_field(OBJECT_SCHEMA)
class ObjectNameFilter(django_filters.Filter):
    field_class = ObjectNameFormField


class AccountFilterSet(wf.FilterSet):
    instance = wf.IdFilter(field_name="instance_id", label="Instance id")
    db_type = wf.TextFilter(field_name="instance__db_type", label="Database type name")
    is_active = wf.BooleanFilter()
    is_superuser = wf.BooleanFilter(field_name="permission__is_superuser")
    can_grant = wf.BooleanFilter(field_name="permission__can_grant")
    is_locked = wf.BooleanFilter(field_name="permission__is_locked")
    username = wf.TextFilter(label="Username (exact)")
    search = wf.TextFilter(field_name="username", lookup_expr="icontains", label="Username contains")
    # one effective privilege must match all three (applied together in filter_queryset)
    has_privilege = wf.TextFilter(
        method="_effective", label="Holds this effective privilege (e.g. DELETE, granted), directly or via roles"
    )
    via_role = wf.TextFilter(method="_effective", label="Holds an effective privilege through this role")
    privilege_on = ObjectNameFilter(
        method="_effective",
        label="Holds has_privilege (without it: any privilege) on this object as /accounts/who-can/ answers: "
        "db.table or db.routine (MySQL/MariaDB), db.schema.table (PostgreSQL, SQL Server; a PostgreSQL "
        "function as db.schema.f(integer, text)), OWNER.TABLE (Oracle), read per "
        "instance's engine; inactive accounts too (is_active filters them)",
    )
    include_set_role = wf.BooleanFilter(
        method="_effective",
        label="has_privilege/via_role/privilege_on also match privileges reachable only by SET ROLE",
    )

    class Meta:
        model = InstanceAccount
        fields = (
            "instance",
            "db_type",
            "is_active",
            "is_superuser",
            "can_grant",
            "is_locked",
            "username",
            "search",
            "has_privilege",
            "via_role",
            "privilege_on",
            "include_set_role",
        )

    def _effective(self, queryset, name, value):
        return queryset  # the three parameters describe one privilege: see filter_queryset

    def filter_queryset(self, queryset):
        """The other filters, then ``has_privilege``/``via_role`` as one containment test on
        ``facts.privileges`` (``@>``): a single effective privilege with that name and/or that
        role on its path, held without SET ROLE unless ``include_set_role``. With
        ``privilege_on``, ``has_privilege`` is what the account must hold on that object, as the
        who-can search decides (ALL, CONTROL, containing objects, DENY and implied privileges
        count); ``via_role`` then keeps its own meaning (some effective privilege through it)."""
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        wanted: dict = {}
        if data.get("privilege_on"):
            privilege = data.get("has_privilege")
            answer = who_can(privilege=privilege.upper() if privilege else None, parts=data["privilege_on"],
                             include_set_role=bool(data.get("include_set_role")), include_inactive=True)  # fmt: skip
            queryset = queryset.filter(pk__in=[item.account_id for item in answer])
        elif data.get("has_privilege"):
            wanted.update(privilege=data["has_privilege"].upper(), state="GRANT")
        if data.get("via_role"):
            wanted["via"] = [data["via_role"]]
        if not wanted:
            return queryset
        if not data.get("include_set_role"):
            wanted["via_set_role"] = False
        return queryset.filter(permission__facts__contains={"privileges": [wanted]})


def account_filter_register(name: str, account_filter: filters.Filter) -> None:
    """Add a filter (``?name=…``) to the account lists; apps above this one call it
    from their ``AppConfig.ready``."""
    AccountFilterSet.base_filters[name] = account_filter


class AccountChangeFilterSet(wf.FilterSet):
    instance = wf.IdFilter(field_name="instance_id", label="Instance id")
    account = wf.IdFilter(field_name="instance_account_id", label="Account id")
    change_type = filters.MultipleChoiceFilter(choices=ChangeType.choices)
    username = wf.TextFilter(label="Username (exact)")
    session = wf.UUIDFilter(field_name="session_id", label="Session id (UUID)")
    changed_after = wf.DateTimeFilter(field_name="changed_at", lookup_expr="gte", label="Changed at or after")
    changed_before = wf.DateTimeFilter(field_name="changed_at", lookup_expr="lt", label="Changed before")

    class Meta:
        model = AccountChangeLog
        fields = ("instance", "account", "change_type", "username", "session", "changed_after", "changed_before")

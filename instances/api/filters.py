"""FilterSets for the instances API."""

from __future__ import annotations

from django.db.models import Q

from instances.models import Credential, Instance
from whalefall import filters as wf


class CredentialFilterSet(wf.FilterSet):
    name = wf.TextFilter(label="Name (exact)")
    username = wf.TextFilter(label="Username (exact)")
    search = wf.TextFilter(method="filter_search", label="Name or username contains")

    class Meta:
        model = Credential
        fields = ("name", "username")

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(username__icontains=value))


class InstanceFilterSet(wf.FilterSet):
    db_type = wf.TextFilter(field_name="db_type_id", label="Database type name")
    environment = wf.ChoiceFilter(choices=Instance.Environment.choices)
    is_active = wf.BooleanFilter()
    credential = wf.IdFilter(field_name="credential_id", label="Credential id")
    tag = wf.AllOfTextFilter(field_name="tags__name", label="Tag name (repeat for instances having all of them)")
    is_deleted = wf.BooleanFilter(field_name="deleted_at", lookup_expr="isnull", exclude=True)
    is_suspended = wf.BooleanFilter(
        field_name="suspended_at", lookup_expr="isnull", exclude=True, label="Suspended by the circuit breaker"
    )
    search = wf.TextFilter(method="filter_search", label="Name or host contains")

    class Meta:
        model = Instance
        fields = ("db_type", "environment", "is_active", "credential", "tag", "is_deleted", "is_suspended", "search")

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(host__icontains=value))

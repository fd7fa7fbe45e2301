"""FilterSets for the instances API."""

from __future__ import annotations

from django.db.models import Q
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from instances.models import Credential, DatabaseType, Instance, Tag


@extend_schema_field(OpenApiTypes.STR)
class TagFilter(filters.ModelMultipleChoiceFilter):
    """Tag names; repeated values must all match (AND)."""


class CredentialFilterSet(filters.FilterSet):
    search = filters.CharFilter(method="filter_search", label="Name or username contains")

    class Meta:
        model = Credential
        fields = ("name", "username")

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(username__icontains=value))


class InstanceFilterSet(filters.FilterSet):
    db_type = filters.ModelChoiceFilter(queryset=DatabaseType.objects.all(), label="Database type name")
    environment = filters.ChoiceFilter(choices=Instance.Environment.choices)
    is_active = filters.BooleanFilter()
    credential = filters.NumberFilter(field_name="credential_id", label="Credential id")
    tag = TagFilter(
        field_name="tags__name",
        to_field_name="name",
        queryset=Tag.objects.all(),
        conjoined=True,
        label="Tag name (repeat for instances having all of them)",
    )
    is_deleted = filters.BooleanFilter(field_name="deleted_at", lookup_expr="isnull", exclude=True)
    search = filters.CharFilter(method="filter_search", label="Name or host contains")

    class Meta:
        model = Instance
        fields = ("db_type", "environment", "is_active", "credential", "tag", "is_deleted", "search")

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(host__icontains=value))

"""Viewsets for database types, credentials and instances.

Writes go through ``instances.services``; the views only validate and render.
"""

from __future__ import annotations

from django.db.models import Count
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from instances.api.filters import CredentialFilterSet, InstanceFilterSet
from instances.api.serializers import (
    CredentialSerializer,
    CredentialUpdateSerializer,
    DatabaseTypeSerializer,
    InstanceSerializer,
)
from instances.models import Credential, DatabaseType, Instance
from instances.services import credential_create, credential_update, instance_create, instance_update


class DatabaseTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """Supported database engines (mysql, postgresql, sqlserver, oracle)."""

    queryset = DatabaseType.objects.all()
    serializer_class = DatabaseTypeSerializer
    filterset_fields = ("enabled",)
    ordering_fields = ("name", "display_name")
    ordering = ("name",)


@extend_schema_view(
    update=extend_schema(responses=CredentialSerializer),
    partial_update=extend_schema(responses=CredentialSerializer),
)
class CredentialViewSet(viewsets.ModelViewSet):
    """Logins used to reach instances.

    ``password`` is write-only: required on create, optional on update (omitted
    keeps the stored password), never returned. Deleting a credential leaves its
    instances without one.
    """

    queryset = Credential.objects.annotate(instance_count=Count("instances"))
    serializer_class = CredentialSerializer
    filterset_class = CredentialFilterSet
    ordering_fields = ("name", "username", "instance_count", "created_at", "updated_at")
    ordering = ("name",)

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return CredentialUpdateSerializer
        return CredentialSerializer

    def perform_create(self, serializer):
        credential = credential_create(**serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=credential.pk)  # with instance_count

    def perform_update(self, serializer):
        serializer.instance = credential_update(credential=serializer.instance, **serializer.validated_data)


class InstanceViewSet(viewsets.ModelViewSet):
    """Monitored database servers.

    ``db_type`` is a database type name, ``credential`` a credential id and
    ``tags`` a list of tag names (missing tags are created). DELETE removes the
    instance and, by cascade, its accounts, capacity history and sync records.
    """

    queryset = Instance.objects.select_related("credential").prefetch_related("tags")
    serializer_class = InstanceSerializer
    filterset_class = InstanceFilterSet
    ordering_fields = (
        "id",
        "name",
        "db_type",
        "host",
        "port",
        "environment",
        "is_active",
        "last_connected_at",
        "created_at",
        "updated_at",
    )
    ordering = ("name",)

    def perform_create(self, serializer):
        serializer.instance = instance_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = instance_update(instance=serializer.instance, **serializer.validated_data)

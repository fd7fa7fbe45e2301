"""Viewsets for database types, credentials and instances.

Writes go through ``instances.services``; the views only validate and render.
Apps above this one add their actions on instances (``POST
/instances/<id>/actions/…``) with ``instance_action_register``.
"""

from __future__ import annotations

from dataclasses import asdict

from django.db import transaction
from django.db.models import Count, Q
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from instances.api.filters import CredentialFilterSet, InstanceFilterSet
from instances.api.permissions import CanSyncInstances, DeleteInstances
from instances.api.serializers import (
    ConnectionTestSerializer,
    CredentialSerializer,
    CredentialUpdateSerializer,
    DatabaseTypeSerializer,
    InstanceSerializer,
    PrivilegeReportSerializer,
)
from instances.models import Credential, DatabaseType, Instance
from instances.scopes import credentials_within
from instances.selectors import INSTANCE_CSV_COLUMNS, instances_check_privileges
from instances.services import (
    credential_create,
    credential_update,
    instance_create,
    instance_test_connection,
    instance_update,
    instances_delete,
    instances_restore,
    instances_resume,
)
from whalefall.csv_export import CsvListMixin
from whalefall.scoping import ScopedViewMixin, require_instance_in_scope, visible_instances

ERROR_RESPONSES = {
    400: OpenApiResponse(description="Invalid input: {code, message, instance_id, errors}."),
    404: OpenApiResponse(description="No such instance, or (a read) one outside the user's team scope."),
    409: OpenApiResponse(description="Credential/adapter problem or concurrent run: {code, message, instance_id}."),
    502: OpenApiResponse(description="Target unreachable, login or query failed: {code, message, instance_id}."),
    504: OpenApiResponse(description="Target timed out: {code, message, instance_id}."),
}


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

    def get_queryset(self):
        visible = visible_instances(self.request.user)
        if visible is None:
            return super().get_queryset()
        # a team scope sees the credentials only its instances use, and counts those instances
        counted = Count("instances", filter=Q(instances__in=visible.values("pk")))
        return credentials_within(visible).annotate(instance_count=counted)

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return CredentialUpdateSerializer
        return CredentialSerializer

    def perform_create(self, serializer):
        credential = credential_create(**serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=credential.pk)  # with instance_count

    def perform_update(self, serializer):
        serializer.instance = credential_update(credential=serializer.instance, **serializer.validated_data)


@extend_schema_view(
    destroy=extend_schema(
        description="Soft delete, the same as the admin's: the instance stops being contacted (`is_active` false) and "
        "gets `deleted_at`; its accounts, change log, capacity history, classifications and runs are kept, it "
        "stays readable here (`?is_deleted=true` lists the deleted ones) and `POST …/actions/restore/` brings it "
        "back. Deleting a deleted instance changes nothing. Removing an instance with its history for good is "
        "`manage.py purge_instance` (or the admin's Purge action), never the API.",
        responses={
            204: OpenApiResponse(description="Deleted (softly), or already deleted."),
            404: OpenApiResponse(description="No such instance, or (a read) one outside the user's team scope."),
        },
    )
)
class InstanceViewSet(ScopedViewMixin, CsvListMixin, viewsets.ModelViewSet):
    """Monitored database servers.

    ``db_type`` is a database type name, ``credential`` a credential id and
    ``tags`` a list of tag names (missing tags are created). DELETE is a soft delete
    (``deleted_at`` set, history kept, ``actions/restore`` undoes it).
    """

    queryset = Instance.objects.select_related("credential").prefetch_related("tags")
    scope_instance_path = "pk"
    serializer_class = InstanceSerializer
    csv_columns = INSTANCE_CSV_COLUMNS
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

    def _credential_in_scope(self, serializer) -> None:
        """A team scope gives its instances only the credentials it may see (else 403)."""
        visible = visible_instances(self.request.user)
        credential = serializer.validated_data.get("credential")
        lent = visible is not None and credential is not None
        if lent and not credentials_within(visible).filter(pk=credential.pk).exists():
            raise PermissionDenied("That credential is used by instances outside your team scope.")

    def perform_create(self, serializer):
        self._credential_in_scope(serializer)
        with transaction.atomic():  # an instance the user's team scope would not hold is not created: 403
            serializer.instance = instance_create(**serializer.validated_data)
            require_instance_in_scope(self.request.user, serializer.instance.pk, acting=True)

    @extend_schema(
        request=None,
        responses={200: ConnectionTestSerializer, **{k: v for k, v in ERROR_RESPONSES.items() if k != 400}},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="actions/test-connection",
        permission_classes=[CanSyncInstances],
        filter_backends=[],
    )
    def test_connection(self, request, pk=None):
        """Connect now, store the server version and answer it with the latency (synchronous, bounded by
        the instance's connect/statement timeouts). Errors: 502/504/409 with ``{code, message, instance_id}``."""
        instance = self.get_object()
        result = instance_test_connection(instance=instance)
        data = {"instance_id": instance.pk, "version": result.version, "latency_ms": round(result.latency_ms, 1)}
        return Response(ConnectionTestSerializer(data).data)

    @extend_schema(
        responses={200: PrivilegeReportSerializer, **{k: v for k, v in ERROR_RESPONSES.items() if k != 400}},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="privilege-check",
        permission_classes=[CanSyncInstances],
        filter_backends=[],
        pagination_class=None,
        queryset=Instance.objects.select_related("credential"),
    )
    def privilege_check(self, request, pk=None):
        """Check now whether the monitoring login can run each collector (account sync, database sizes,
        table sizes; PostgreSQL and SQL Server: CONNECT per database), each failing check with the GRANT
        that fixes it. Reads only (synchronous, bounded by the instance's connect/statement timeouts);
        ``ok`` false is still a 200. Errors reaching the target: 502/504/409 with ``{code, message,
        instance_id}``. Needs the same permission as a connection test."""
        instance = self.get_object()
        report = instances_check_privileges(instance=instance)
        data = {"instance_id": instance.pk, "ok": report.ok, "checks": [asdict(check) for check in report.checks]}
        return Response(PrivilegeReportSerializer(data).data)

    @extend_schema(request=None, responses={200: InstanceSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="actions/resume",
        permission_classes=[CanSyncInstances],
        filter_backends=[],
    )
    def resume(self, request, pk=None):
        """Lift the circuit breaker's suspension: scheduled runs contact the instance again and its
        failure count starts from zero (a successful connection test does the same). Answers the
        instance; resuming one that is not suspended changes nothing."""
        instance = self.get_object()
        instances_resume(instance_ids=[instance.pk])
        instance.refresh_from_db()
        return Response(InstanceSerializer(instance, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={200: InstanceSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="actions/restore",
        permission_classes=[DeleteInstances],
        filter_backends=[],
    )
    def restore(self, request, pk=None):
        """Undo a DELETE: the instance is active again, `deleted_at` cleared, its history as it was.
        Needs the permission to delete instances. Restoring one that is not deleted changes nothing."""
        instance = self.get_object()
        instances_restore(instance_ids=[instance.pk])
        instance.refresh_from_db()
        return Response(InstanceSerializer(instance, context=self.get_serializer_context()).data)

    def perform_update(self, serializer):
        self._credential_in_scope(serializer)
        with transaction.atomic():  # nor moved out of it (another environment, its tags removed): 403
            serializer.instance = instance_update(instance=serializer.instance, **serializer.validated_data)
            require_instance_in_scope(self.request.user, serializer.instance.pk, acting=True)

    def perform_destroy(self, instance):
        instances_delete(instance_ids=[instance.pk])


def instance_action_register(action_method):
    """Add an extra action (a function decorated with DRF's ``@action(detail=True, …)``)
    to ``InstanceViewSet``; apps call this from their ``AppConfig.ready`` so the
    action exists before the URLs are built. Returns the function."""
    if not hasattr(action_method, "mapping"):
        raise TypeError(f"{action_method!r} is not decorated with @action")
    setattr(InstanceViewSet, action_method.__name__, action_method)
    return action_method

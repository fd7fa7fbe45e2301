"""Viewsets for sync sessions and their per-instance records (read-only, but for cancelling a session)."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from instances.api.permissions import CanSyncInstances
from instances.api.views import instance_action_register
from sync_sessions.api.filters import SyncInstanceRecordFilterSet, SyncSessionFilterSet
from sync_sessions.api.serializers import (
    InstanceCheckRequestSerializer,
    SessionStartedSerializer,
    SyncInstanceRecordSerializer,
    SyncSessionDetailSerializer,
    SyncSessionSerializer,
    session_started_data,
)
from sync_sessions.contact import instances_check_privileges_batch, instances_test_connection_batch
from sync_sessions.models import SyncInstanceRecord, SyncSession
from sync_sessions.selectors import RECORD_CSV_COLUMNS, SESSION_CSV_COLUMNS, sessions_in_scope
from sync_sessions.services import session_cancel
from whalefall.csv_export import CsvListMixin
from whalefall.scoping import ScopedViewMixin, visible_instance_ids


class SyncSessionViewSet(ScopedViewMixin, CsvListMixin, viewsets.ReadOnlyModelViewSet):
    """Sync sessions (one run of one category over one or more instances), newest first.

    Looked up by ``session_id`` (UUID). The detail includes every per-instance
    record; ``/records`` pages through them. A user with a team scope sees the sessions that
    ran on its instances only (README § Team scopes).
    """

    queryset = SyncSession.objects.select_related("created_by")
    serializer_class = SyncSessionSerializer
    csv_columns = SESSION_CSV_COLUMNS
    filterset_class = SyncSessionFilterSet
    lookup_field = "session_id"
    ordering_fields = ("started_at", "completed_at", "status", "sync_category", "failed_instances")
    ordering = ("-started_at", "-id")

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch("records", queryset=SyncInstanceRecord.objects.order_by("instance_name", "id"))
            )
        return queryset

    def scope_queryset(self, queryset, visible):
        return sessions_in_scope(queryset, visible)

    def get_serializer_class(self):
        if self.action == "retrieve":
            return SyncSessionDetailSerializer
        return super().get_serializer_class()  # the records action sets its own

    @extend_schema(responses=SyncInstanceRecordSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], serializer_class=SyncInstanceRecordSerializer)
    def records(self, request, session_id=None):
        """The session's per-instance records, by instance name."""
        session = self.get_object()
        page = self.paginate_queryset(session.records.order_by("instance_name", "id"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={
            200: SyncSessionSerializer,
            409: OpenApiResponse(description="The session has already finished: {code: already_finished, message}."),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[CanSyncInstances], filter_backends=[])
    def cancel(self, request, session_id=None):
        """Cancel a queued or running session (operators): its queued records become ``cancelled``
        and are not run (a worker that picks up their task does nothing); records already running
        finish and are counted as usual. Answers the session, now ``cancelled``; 409 when it had
        already finished."""
        session = session_cancel(session=self.get_object(), user=request.user)
        return Response(SyncSessionSerializer(session, context=self.get_serializer_context()).data)


class SyncInstanceRecordViewSet(ScopedViewMixin, CsvListMixin, viewsets.ReadOnlyModelViewSet):
    """Per-instance records of all sync sessions, newest first."""

    queryset = SyncInstanceRecord.objects.all()
    scope_instance_path = "instance"
    csv_columns = RECORD_CSV_COLUMNS
    serializer_class = SyncInstanceRecordSerializer
    filterset_class = SyncInstanceRecordFilterSet
    ordering_fields = ("id", "created_at", "started_at", "completed_at", "instance_name", "status")
    ordering = ("-id",)


def _checks_batch_action(*, name: str, url_path: str, start, summary: str):
    """``POST /api/v1/instances/<url_path>/`` {instance_ids}: start ``start`` over those instances
    (default every active one) in the task cluster and answer at once, 202 with the session."""

    def batch(self, request):
        serializer = InstanceCheckRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance_ids = visible_instance_ids(request.user, serializer.validated_data.get("instance_ids"))
        session = start(instance_ids=instance_ids, created_by=request.user, enqueue=True)
        data = SessionStartedSerializer(session_started_data(request, session)).data
        return Response(data, status=status.HTTP_202_ACCEPTED)

    # named before DRF's @action reads the name (the route maps POST to it)
    batch.__name__ = batch.__qualname__ = name
    batch.__doc__ = (
        f"{summary} as one ``config`` session, one task per instance, and answer at once (202); each "
        "instance's result is on its record at ``status_url``. A request never waits on several targets: "
        "``/instances/<id>/actions/test-connection/`` and ``/privilege-check/`` answer one instance at once."
    )
    batch = action(
        detail=False, methods=["post"], url_path=url_path, permission_classes=[CanSyncInstances], filter_backends=[],
        serializer_class=InstanceCheckRequestSerializer, pagination_class=None,
    )(batch)  # fmt: skip
    return extend_schema(
        operation_id=f"v1_instances_{name}",
        request=InstanceCheckRequestSerializer,
        responses={202: SessionStartedSerializer},
        summary=summary,
        filters=False,
    )(batch)


def register_instance_actions() -> None:
    """Called by ``SyncSessionsConfig.ready``: the checks of several instances on ``/instances/``."""
    instance_action_register(_checks_batch_action(
        name="test_connection_batch", url_path="actions/test-connection", start=instances_test_connection_batch,
        summary="Test the connection of the given instances (default: every active one)",
    ))  # fmt: skip
    instance_action_register(_checks_batch_action(
        name="check_privileges_batch", url_path="actions/check-privileges", start=instances_check_privileges_batch,
        summary="Check the monitoring privileges of the given instances (default: every active one)",
    ))  # fmt: skip

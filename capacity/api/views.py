"""Capacity API views: latest sizes, size history, per-table sizes and the actions.

Views only parse input, call one selector or service and render. Errors are
typed (``whalefall.errors``) and mapped by ``whalefall.api.exception_handler``
(e.g. ConcurrentOperation → 409, unreachable → 502, timeout → 504).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from capacity import selectors
from capacity.api.filters import DatabaseSizeStatFilterSet, InstanceSizeStatFilterSet
from capacity.api.serializers import (
    DatabaseSizeCurrentSerializer,
    DatabaseSizeStatSerializer,
    InstanceSizeStatSerializer,
    TableSizeSerializer,
    TableSizesPageSerializer,
    TableSizesRefreshSerializer,
)
from capacity.models import DatabaseSizeCurrent, DatabaseSizeStat, DatabaseTableSizeStat, InstanceSizeStat
from capacity.services import capacity_collect_all, table_sizes_refresh
from instances.api.permissions import CanSyncInstances
from instances.models import Instance
from sync_sessions.api.serializers import SessionStartedSerializer, session_started_data
from whalefall.api import HistoryCursorPagination

_INSTANCE_PARAM = OpenApiParameter("instance_id", int, OpenApiParameter.PATH, description="Instance id.")
_DATABASE_PARAM = OpenApiParameter("database", str, OpenApiParameter.PATH, description="Database name (URL-encoded).")


def _instance(instance_id: int) -> Instance:
    return get_object_or_404(Instance, pk=instance_id, deleted_at__isnull=True)


class StatsCursorPagination(HistoryCursorPagination):
    """Newest day first; cursor on the partition key (no COUNT over history)."""

    ordering = ("-collected_date", "-id")


@extend_schema(parameters=[_INSTANCE_PARAM])
class InstanceDatabaseSizesView(generics.ListAPIView):
    """Latest size of every database of an instance (from ``database_size_current``).

    Bytes plus MiB; ``ordering``: database_name (default), size_bytes, collected_at.
    Independent of how much history is stored.
    """

    queryset = DatabaseSizeCurrent.objects.all()
    serializer_class = DatabaseSizeCurrentSerializer
    filter_backends = [OrderingFilter]
    ordering_fields = ("database_name", "size_bytes", "collected_at")
    ordering = ("database_name",)

    def get_queryset(self):
        return selectors.database_sizes_current(instance_id=_instance(self.kwargs["instance_id"]).pk)


class DatabaseSizeStatViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Daily database sizes (partitioned history), newest first, cursor-paginated.

    Filters: ``instance``, ``database``, ``date_from``/``date_to`` (default: the
    last 30 days); only the partitions of that window are read.
    """

    queryset = DatabaseSizeStat.objects.all()
    serializer_class = DatabaseSizeStatSerializer
    filterset_class = DatabaseSizeStatFilterSet
    filter_backends = [DjangoFilterBackend]
    pagination_class = StatsCursorPagination


class InstanceSizeStatViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Daily instance totals (partitioned history), newest first, cursor-paginated.

    Filters: ``instance``, ``date_from``/``date_to`` (default: the last 30 days).
    """

    queryset = InstanceSizeStat.objects.all()
    serializer_class = InstanceSizeStatSerializer
    filterset_class = InstanceSizeStatFilterSet
    filter_backends = [DjangoFilterBackend]
    pagination_class = StatsCursorPagination


class _TableSizesMixin:
    queryset = DatabaseTableSizeStat.objects.all()
    serializer_class = TableSizeSerializer
    filter_backends = [OrderingFilter]
    ordering_fields = ("size_bytes", "table_name", "schema_name", "row_count", "data_bytes", "index_bytes")
    ordering = ("-size_bytes", "schema_name", "table_name")

    def get_queryset(self):
        return selectors.table_sizes_snapshot(instance_id=self.kwargs["instance_id"], database=self.kwargs["database"])

    def snapshot_response(self, instance: Instance, database: str, **extra) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        collected_at = selectors.table_sizes_collected_at(instance_id=instance.pk, database=database)
        head = {"instance_id": instance.pk, "database": database, "collected_at": collected_at, **extra}
        response.data = {**head, **response.data}
        return response


@extend_schema(parameters=[_INSTANCE_PARAM, _DATABASE_PARAM])
class TableSizesView(_TableSizesMixin, generics.GenericAPIView):
    """Stored per-table sizes of one database (bytes + MiB), largest first.

    ``ordering``: size_bytes, table_name, schema_name, row_count, data_bytes,
    index_bytes (prefix ``-`` for descending). ``collected_at`` is null when
    the database was never refreshed. Does not contact the instance.
    """

    @extend_schema(responses=TableSizesPageSerializer)
    def get(self, request, instance_id: int, database: str):
        return self.snapshot_response(_instance(instance_id), database)


@extend_schema(parameters=[_INSTANCE_PARAM, _DATABASE_PARAM])
class TableSizesRefreshView(_TableSizesMixin, generics.GenericAPIView):
    """Collect the per-table sizes of one database now (synchronous, bounded by
    the instance's statement timeout), store them (vanished tables deleted)
    and return the new snapshot with ``elapsed_ms``. A database that is not in
    the instance's inventory is a 404 (nothing is contacted). On failure the
    previous snapshot is kept and the typed error is returned (409/502/504).
    Needs ``instances.sync_instance``."""

    permission_classes = [CanSyncInstances]

    @extend_schema(
        request=None,
        responses={
            200: TableSizesRefreshSerializer,
            404: OpenApiResponse(description="No such instance, or the database is not in its inventory."),
            409: OpenApiResponse(description="Credential/adapter problem or a refresh already running."),
            502: OpenApiResponse(description="Target unreachable, login or query failed."),
            504: OpenApiResponse(description="Target timed out."),
        },
    )
    def post(self, request, instance_id: int, database: str):
        instance = _instance(instance_id)
        result = table_sizes_refresh(instance=instance, database=database, created_by=request.user)
        return self.snapshot_response(
            instance,
            database,
            elapsed_ms=result.elapsed_ms,
            session_id=result.session.session_id,
            created=result.created,
            updated=result.updated,
            deleted=result.deleted,
        )


@extend_schema(parameters=[_INSTANCE_PARAM])
class CollectCapacityView(generics.GenericAPIView):
    """Start a capacity collection of one instance: 202 with the session id.

    The work runs in the task cluster (one task); follow it at
    ``/api/v1/sync-sessions/<session_id>/``. Needs ``instances.sync_instance``.
    """

    serializer_class = SessionStartedSerializer
    permission_classes = [CanSyncInstances]

    @extend_schema(request=None, responses={202: SessionStartedSerializer})
    def post(self, request, instance_id: int):
        instance = _instance(instance_id)
        session = capacity_collect_all(
            instance_ids=[instance.pk], created_by=request.user, enqueue=True
        )
        return Response(session_started_data(request, session), status=status.HTTP_202_ACCEPTED)

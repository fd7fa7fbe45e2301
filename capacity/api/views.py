"""Capacity API views: latest sizes, size history, aggregations, growth and forecasts,
per-table sizes, the database inventory (limits) and the actions.

Views only parse input, call one selector or service and render. Errors are
typed (``whalefall.errors``) and mapped by ``whalefall.api.exception_handler``
(e.g. ConcurrentOperation → 409, unreachable → 502, timeout → 504).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from capacity import selectors
from capacity.api.filters import (
    DatabaseSizeAggregationFilterSet,
    DatabaseSizeDailyFilterSet,
    DatabaseSizeStatFilterSet,
    InstanceDatabaseFilterSet,
    InstanceSizeAggregationFilterSet,
    InstanceSizeDailyFilterSet,
    InstanceSizeStatFilterSet,
)
from capacity.api.serializers import (
    AggregateRequestSerializer,
    CapacitySummarySerializer,
    DatabaseGrowthSerializer,
    DatabaseSizeAggregationSerializer,
    DatabaseSizeCurrentSerializer,
    DatabaseSizeStatSerializer,
    InstanceDatabaseSerializer,
    InstanceSizeAggregationSerializer,
    InstanceSizeStatSerializer,
    SummaryQuerySerializer,
    TableSizeSerializer,
    TableSizesPageSerializer,
    TableSizesRefreshSerializer,
    TopGrowersQuerySerializer,
    capacity_summary_data,
    database_growth_data,
)
from capacity.models import (
    DatabaseSizeAggregation,
    DatabaseSizeCurrent,
    DatabaseSizeStat,
    DatabaseTableSizeStat,
    InstanceDatabase,
    InstanceSizeAggregation,
    InstanceSizeStat,
    PeriodType,
    StoredPeriodType,
)
from capacity.services import (
    capacity_aggregate_all,
    capacity_collect_all,
    instance_database_limit_set,
    table_sizes_refresh,
)
from instances.api.permissions import CanSyncInstances
from instances.models import Instance
from sync_sessions.api.serializers import SessionStartedSerializer, session_started_data
from whalefall.api import HistoryCursorPagination, StrictOrderingFilter
from whalefall.csv_export import CsvListMixin
from whalefall.filters import FilterBackend
from whalefall.scoping import ScopedViewMixin, require_instance_in_scope, visible_instance_ids

_INSTANCE_PARAM = OpenApiParameter("instance_id", int, OpenApiParameter.PATH, description="Instance id.")
_DATABASE_PARAM = OpenApiParameter("database", str, OpenApiParameter.PATH, description="Database name (URL-encoded).")


def _instance(request, instance_id: int) -> Instance:
    """The instance of the URL: 404 when unknown or deleted; outside the user's team scope, 404 to a
    read and 403 to an action."""
    instance = get_object_or_404(Instance, pk=instance_id, deleted_at__isnull=True)
    require_instance_in_scope(request.user, instance.pk, acting=request.method not in SAFE_METHODS)
    return instance


class StatsCursorPagination(HistoryCursorPagination):
    """Newest day first; cursor on the partition key (no COUNT over history)."""

    ordering = ("-collected_date", "-id")


@extend_schema(parameters=[_INSTANCE_PARAM])
class InstanceDatabaseSizesView(ScopedViewMixin, generics.ListAPIView):
    """Latest size of every database of an instance (from ``database_size_current``).

    Bytes plus MiB; ``ordering``: database_name (default), size_bytes, collected_at.
    Independent of how much history is stored.
    """

    queryset = DatabaseSizeCurrent.objects.all()
    scope_instance_path = "instance"
    serializer_class = DatabaseSizeCurrentSerializer
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ("database_name", "size_bytes", "collected_at")
    ordering = ("database_name",)

    def get_queryset(self):
        return selectors.database_sizes_current(instance_id=_instance(self.request, self.kwargs["instance_id"]).pk)


class DatabaseSizeStatViewSet(ScopedViewMixin, CsvListMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Daily database sizes (partitioned history), newest first, cursor-paginated.

    Filters: ``instance``, ``database``, ``date_from``/``date_to`` (default: the
    last 30 days); only the partitions of that window are read.
    """

    queryset = DatabaseSizeStat.objects.all()
    scope_instance_path = "instance"
    csv_columns = selectors.DATABASE_SIZE_CSV_COLUMNS
    serializer_class = DatabaseSizeStatSerializer
    filterset_class = DatabaseSizeStatFilterSet
    filter_backends = [FilterBackend]
    pagination_class = StatsCursorPagination


class InstanceSizeStatViewSet(ScopedViewMixin, CsvListMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Daily instance totals (partitioned history), newest first, cursor-paginated.

    Filters: ``instance``, ``date_from``/``date_to`` (default: the last 30 days).
    """

    queryset = InstanceSizeStat.objects.all()
    scope_instance_path = "instance"
    csv_columns = selectors.INSTANCE_SIZE_CSV_COLUMNS
    serializer_class = InstanceSizeStatSerializer
    filterset_class = InstanceSizeStatFilterSet
    filter_backends = [FilterBackend]
    pagination_class = StatsCursorPagination


class _TableSizesMixin(ScopedViewMixin):
    queryset = DatabaseTableSizeStat.objects.all()
    scope_instance_path = "instance"
    serializer_class = TableSizeSerializer
    filter_backends = [StrictOrderingFilter]
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
        return self.snapshot_response(_instance(request, instance_id), database)


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
            403: OpenApiResponse(
                description="Missing the instances.sync_instance permission, or the instance is "
                "outside the user's team scope."
            ),
            409: OpenApiResponse(description="Credential/adapter problem or a refresh already running."),
            502: OpenApiResponse(description="Target unreachable, login or query failed."),
            504: OpenApiResponse(description="Target timed out."),
        },
    )
    def post(self, request, instance_id: int, database: str):
        instance = _instance(request, instance_id)
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
        instance = _instance(request, instance_id)
        session = capacity_collect_all(instance_ids=[instance.pk], created_by=request.user, enqueue=True)
        return Response(session_started_data(request, session), status=status.HTTP_202_ACCEPTED)


# --- aggregations, growth, forecast --------------------------------------------------------


class AggregationCursorPagination(HistoryCursorPagination):
    """Newest period first; cursor on the partition key (no COUNT over history)."""

    ordering = ("-period_start", "-id")


class _RollupViewSet(ScopedViewMixin, CsvListMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Stored roll-ups (weekly, monthly, quarterly) from the aggregation table; with
    ``period_type=daily`` the daily roll-ups read from the daily sizes (same fields, filters,
    cursor and CSV; never stored)."""

    filter_backends = [FilterBackend]
    scope_instance_path = "instance"
    pagination_class = AggregationCursorPagination
    stored_filterset_class = None
    daily_filterset_class = None

    def _daily(self) -> bool:
        request = getattr(self, "request", None)
        return request is not None and request.query_params.get("period_type") == PeriodType.DAILY

    @property
    def filterset_class(self):
        return self.daily_filterset_class if self._daily() else self.stored_filterset_class

    def get_queryset(self):
        if self._daily():
            return self.daily_filterset_class._meta.model.objects.all()  # the filterset reads the window's days
        return super().get_queryset()


class DatabaseSizeAggregationViewSet(_RollupViewSet):
    """Per-database roll-ups, newest period first, cursor-paginated; ``?format=csv`` streams every row.

    Filters: ``instance``, ``database``, ``period_type``, ``is_complete``,
    ``date_from``/``date_to`` on ``period_start`` (default: the last 365 days).
    Weekly, monthly and quarterly roll-ups are stored (without ``period_type``: those);
    ``period_type=daily`` reads the daily sizes: one sample (avg = max = min, sample_count 1),
    change vs the day before (null when that day has no sample or was 0), growth rate null,
    ``is_complete`` = before today, ``id`` = the daily size row's. A running period has
    ``is_complete`` false and is rewritten by every run.
    """

    queryset = DatabaseSizeAggregation.objects.all()
    serializer_class = DatabaseSizeAggregationSerializer
    csv_columns = selectors.DATABASE_AGGREGATION_CSV_COLUMNS
    stored_filterset_class = DatabaseSizeAggregationFilterSet
    daily_filterset_class = DatabaseSizeDailyFilterSet


class InstanceSizeAggregationViewSet(_RollupViewSet):
    """Per-instance roll-ups of the daily totals, newest period first, cursor-paginated;
    ``?format=csv`` streams every row.

    Filters: ``instance``, ``period_type``, ``is_complete``, ``date_from``/``date_to``
    on ``period_start`` (default: the last 365 days). ``period_type=daily`` reads the
    daily totals, like the database roll-ups.
    """

    queryset = InstanceSizeAggregation.objects.all()
    serializer_class = InstanceSizeAggregationSerializer
    csv_columns = selectors.INSTANCE_AGGREGATION_CSV_COLUMNS
    stored_filterset_class = InstanceSizeAggregationFilterSet
    daily_filterset_class = InstanceSizeDailyFilterSet


def _query(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema(parameters=[_INSTANCE_PARAM])
class CapacitySummaryView(generics.GenericAPIView):
    """Current total of an instance (its latest daily total), growth over 7/30/90 days
    (bytes and %), the forecast of the total and the 5 databases that grew most over
    ``forecast_days``, each with its own forecast. Reads only the last 90 days
    (or ``forecast_days``): its cost does not grow with the stored history."""

    queryset = InstanceSizeStat.objects.all()  # for the model permission check
    scope_explicit = "_instance(): 404 outside the scope"
    filter_backends = []
    pagination_class = None

    @extend_schema(
        parameters=[SummaryQuerySerializer],
        responses={
            200: CapacitySummarySerializer,
            400: OpenApiResponse(description="Invalid forecast_days: {code, message, instance_id, errors}."),
            404: OpenApiResponse(description="No such instance, or one outside the user's team scope."),
        },
    )
    def get(self, request, instance_id: int):
        query = _query(SummaryQuerySerializer, request)
        instance = _instance(request, instance_id)
        summary = selectors.capacity_summary(instance=instance, forecast_days=query["forecast_days"])
        return Response(CapacitySummarySerializer(capacity_summary_data(summary)).data)


class TopGrowersView(generics.GenericAPIView):
    """The databases (of every instance) that grew most over the last ``days`` days,
    growing ones only, each with its forecast over ``forecast_days`` and its limit."""

    queryset = DatabaseSizeStat.objects.all()  # for the model permission check
    scope_explicit = "capacity_top_growers(instance_ids=the scope's)"
    filter_backends = []
    pagination_class = None

    @extend_schema(
        parameters=[TopGrowersQuerySerializer],
        responses={
            200: DatabaseGrowthSerializer(many=True),
            400: OpenApiResponse(description="Invalid days, limit or forecast_days: {code, message, errors}."),
        },
    )
    def get(self, request):
        query = _query(TopGrowersQuerySerializer, request)
        rows = selectors.capacity_top_growers(**query, instance_ids=visible_instance_ids(request.user, None))
        return Response(DatabaseGrowthSerializer([database_growth_data(row) for row in rows], many=True).data)


class AggregateCapacityView(generics.GenericAPIView):
    """Start an aggregation (one session, one task per instance): 202 with the session id.

    ``period``: weekly, monthly, quarterly or all (default; daily values are read from the
    daily sizes, never aggregated); ``date_from`` and
    ``date_to`` (inclusive, both or neither): every period containing a day of the
    range; neither: every period containing yesterday or today. Past partitions the
    range needs are created first. Needs ``instances.sync_instance``.
    """

    serializer_class = AggregateRequestSerializer
    permission_classes = [CanSyncInstances]

    @extend_schema(
        responses={
            202: SessionStartedSerializer,
            400: OpenApiResponse(description="Invalid period, range (future, before the retention, inverted) or "
                                 "instance ids: {code, message, instance_id, errors}."),
            403: OpenApiResponse(description="Missing the instances.sync_instance permission, or an instance outside "
                                 "the user's team scope."),
            409: OpenApiResponse(description="Partition maintenance is running: {code, message, instance_id}."),
        },
    )  # fmt: skip
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        session = capacity_aggregate_all(
            period_types=StoredPeriodType.values if data["period"] == "all" else [data["period"]],
            start=data.get("date_from"),
            end=data.get("date_to"),
            instance_ids=visible_instance_ids(request.user, data.get("instance_ids")),
            created_by=request.user,
            enqueue=True,
        )
        return Response(session_started_data(request, session), status=status.HTTP_202_ACCEPTED)


# --- inventory -----------------------------------------------------------------------------


@extend_schema_view(
    partial_update=extend_schema(
        responses={
            200: InstanceDatabaseSerializer,
            400: OpenApiResponse(description="Invalid size_limit_bytes: {code, message, instance_id, errors}."),
            404: OpenApiResponse(description="No such inventory row."),
        }
    )
)
class InstanceDatabaseViewSet(ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                              mixins.UpdateModelMixin, viewsets.GenericViewSet):  # fmt: skip
    """The database inventory of the instances (found by capacity collections).

    Filters ``instance``, ``name``, ``is_active``. PATCH sets ``size_limit_bytes``
    (null: no limit), the only writable field; it needs
    ``capacity.change_instancedatabase``.
    """

    queryset = InstanceDatabase.objects.order_by("instance_id", "name")
    scope_instance_path = "instance"
    serializer_class = InstanceDatabaseSerializer
    filterset_class = InstanceDatabaseFilterSet
    filter_backends = [FilterBackend]
    http_method_names = ["get", "patch", "head", "options"]

    def perform_update(self, serializer):
        serializer.instance = instance_database_limit_set(
            database=serializer.instance, size_limit_bytes=serializer.validated_data.get("size_limit_bytes")
        )

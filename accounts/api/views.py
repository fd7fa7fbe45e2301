"""Read-only viewsets for accounts and the account change log, plus the account-sync action.

Reads go through ``accounts.selectors`` (a fixed number of queries per page);
the sync action calls ``accounts.services.accounts_sync_all`` and answers 202.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.api.filters import AccountChangeFilterSet, AccountFilterSet
from accounts.api.serializers import (
    AccountChangeSerializer,
    AccountDetailSerializer,
    AccountPermissionSerializer,
    AccountSerializer,
    AccountSyncRequestSerializer,
    PermissionsQuerySerializer,
    WhoCanQuerySerializer,
    WhoCanSerializer,
    who_can_parameters,
)
from accounts.models import AccountPermission, InstanceAccount
from accounts.selectors import (
    ACCOUNT_CHANGE_CSV_COLUMNS,
    ACCOUNT_CSV_COLUMNS,
    WHO_CAN_CSV_COLUMNS,
    account_changes_list,
    accounts_list,
    instance_unread_scopes,
    who_can,
)
from accounts.services import accounts_sync_all
from instances.api.permissions import CanSyncInstances
from instances.api.views import ERROR_RESPONSES, instance_action_register
from instances.models import Instance
from sync_sessions.api.serializers import SessionStartedSerializer, session_started_data
from whalefall.api import HistoryCursorPagination
from whalefall.csv_export import CsvListMixin, CsvRenderer, csv_items_response
from whalefall.scoping import ScopedViewMixin, require_instance_in_scope, visible_instance_ids, visible_instances

ACCOUNT_ORDERING_FIELDS = ("id", "username", "instance__name", "first_seen_at", "last_seen_at")
ACCOUNT_ORDERING = ("instance__name", "username", "host", "id")


class ChangeLogPagination(HistoryCursorPagination):
    """Cursor pages over the change log, newest first: no COUNT(*) of a growing table."""

    ordering = ("-changed_at", "-id")


class AccountViewSet(ScopedViewMixin, CsvListMixin, viewsets.ReadOnlyModelViewSet):
    """Logins found on instances, with db_type, instance name, permission flags
    (null until the first permission row) and current classification codes
    (added by the classification app).

    ``/permissions`` gives the full snapshot; ``/changes`` the account's change log.
    """

    queryset = InstanceAccount.objects.all()  # for the model permission check; the list is accounts_list()
    scope_instance_path = "instance"
    csv_columns = ACCOUNT_CSV_COLUMNS
    serializer_class = AccountSerializer
    filterset_class = AccountFilterSet
    ordering_fields = ACCOUNT_ORDERING_FIELDS
    ordering = ACCOUNT_ORDERING

    def get_queryset(self):
        return accounts_list()

    def get_serializer_class(self):
        if self.action == "retrieve":
            return AccountDetailSerializer
        return super().get_serializer_class()  # the extra actions set their own

    @extend_schema(
        parameters=[PermissionsQuerySerializer],
        responses={
            200: AccountPermissionSerializer,
            400: ERROR_RESPONSES[400],
            404: OpenApiResponse(description="No account, or no permissions recorded for it yet."),
        },
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[], serializer_class=AccountPermissionSerializer)
    def permissions(self, request, pk=None):
        """Current permissions: flags, roles (inherited included), effective privileges (direct and
        through roles, each with its path), engine-native snapshot; ``?explain=1`` adds why each flag is set."""
        query = PermissionsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        account = self.get_object()
        try:
            permission = account.permission
        except AccountPermission.DoesNotExist:
            raise NotFound("No permissions recorded for this account yet.") from None
        context = {**self.get_serializer_context(), "explain": query.validated_data["explain"],
                   "unread_scopes": instance_unread_scopes(instance_id=account.instance_id)}  # fmt: skip
        return Response(AccountPermissionSerializer(permission, context=context).data)

    @extend_schema(responses=AccountChangeSerializer(many=True), filters=False)
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        serializer_class=AccountChangeSerializer,
        pagination_class=ChangeLogPagination,
    )
    def changes(self, request, pk=None):
        """The account's change log, newest first (cursor-paginated)."""
        account = self.get_object()
        page = self.paginate_queryset(account_changes_list(account_id=account.pk))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=AccountSyncRequestSerializer,
        responses={202: SessionStartedSerializer, 400: OpenApiResponse(description="Invalid or unknown instance ids.")},
        filters=False,
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="actions/sync",
        permission_classes=[CanSyncInstances],
        filter_backends=[],
        serializer_class=AccountSyncRequestSerializer,
    )
    def sync(self, request):
        """Enqueue an account sync of the given instances (default: all active ones, within the user's team
        scope) as one session, one task per instance; follow it at ``status_url``. An instance outside the
        user's team scope: 403."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance_ids = visible_instance_ids(request.user, serializer.validated_data.get("instance_ids"))
        session = accounts_sync_all(instance_ids=instance_ids, created_by=request.user, enqueue=True)
        data = SessionStartedSerializer(session_started_data(request, session)).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


@extend_schema(parameters=[OpenApiParameter("instance_id", OpenApiTypes.INT, OpenApiParameter.PATH)])
class InstanceAccountListView(ScopedViewMixin, generics.ListAPIView):
    """Accounts of one instance (same filters and ordering as /accounts); 404 for an unknown instance."""

    queryset = InstanceAccount.objects.all()  # for the model permission check
    scope_instance_path = "instance"
    serializer_class = AccountSerializer
    filterset_class = AccountFilterSet
    ordering_fields = ACCOUNT_ORDERING_FIELDS
    ordering = ACCOUNT_ORDERING

    def get_queryset(self):
        instance_id = self.kwargs["instance_id"]
        if not hasattr(self, "_instance"):
            self._instance = get_object_or_404(Instance.objects.only("pk"), pk=instance_id)
            require_instance_in_scope(self.request.user, self._instance.pk, acting=False)
        return accounts_list(instance_id=self._instance.pk)


class WhoCanView(CsvListMixin, generics.ListAPIView):
    """Every account holding ``privilege`` on ``object`` — directly, through roles, or implied —
    each with the effective privilege entry that grants it; a grant to PUBLIC is the account
    named PUBLIC. ``object`` is read per instance's engine (db.table on MySQL/MariaDB,
    db.schema.table on PostgreSQL and SQL Server — a PostgreSQL function as
    db.schema.f(integer, text) —, OWNER.TABLE on Oracle; fewer parts ask at
    the database or schema level). Sorted by instance name, username, host. The matching rules
    (ALL/CONTROL, containing securables, MySQL database patterns, SQL Server DENY, SET ROLE)
    are in docs/api.md § Who can."""

    queryset = InstanceAccount.objects.all()  # for the model permission check; the answer is accounts.selectors.who_can
    scope_explicit = "who_can(visible=...)"
    serializer_class = WhoCanSerializer
    filter_backends = []
    csv_columns = WHO_CAN_CSV_COLUMNS

    @extend_schema(parameters=who_can_parameters())
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        query = WhoCanQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        items = who_can(**query.selector_kwargs(), visible=visible_instances(request.user))
        if isinstance(request.accepted_renderer, CsvRenderer):
            self.paginator.query_validate(request)  # not applied, but malformed is still a 400
            rows = ({**item.as_dict(), "via": " → ".join(item.entry.via)} for item in items)
            return csv_items_response(rows, self.csv_columns, name="who_can")
        page = self.paginate_queryset(items)
        return self.get_paginated_response(self.get_serializer([item.as_dict() for item in page], many=True).data)


class AccountChangeViewSet(ScopedViewMixin, CsvListMixin, viewsets.ReadOnlyModelViewSet):
    """The account change log of all instances, newest first (cursor-paginated)."""

    queryset = account_changes_list()
    scope_instance_path = "instance"
    csv_columns = ACCOUNT_CHANGE_CSV_COLUMNS
    serializer_class = AccountChangeSerializer
    filterset_class = AccountChangeFilterSet
    pagination_class = ChangeLogPagination
    ordering_fields = ("changed_at",)
    ordering = ("-changed_at", "-id")


@extend_schema(
    request=None,
    responses={202: SessionStartedSerializer, 400: ERROR_RESPONSES[400], 404: ERROR_RESPONSES[404]},
)
@action(
    detail=True,
    methods=["post"],
    url_path="actions/sync-accounts",
    permission_classes=[CanSyncInstances],
    filter_backends=[],
)
def sync_accounts(self, request, pk=None):
    """Enqueue an account sync of this instance (``manual_single`` session); follow it at ``status_url``."""
    instance = self.get_object()
    session = accounts_sync_all(instance_ids=[instance.pk], created_by=request.user, enqueue=True)
    data = SessionStartedSerializer(session_started_data(request, session)).data
    return Response(data, status=status.HTTP_202_ACCEPTED)


def register_instance_actions() -> None:
    """Called by ``AccountsConfig.ready``: the account actions on ``/instances/<id>/``."""
    instance_action_register(sync_accounts)

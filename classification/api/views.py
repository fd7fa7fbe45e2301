"""Classification API: classifications, rules (CRUD, validate, preview), assignments (manual
assign/unassign), history, daily stats, and the run action. Views parse, call one service or
selector, render; errors are typed and mapped by whalefall.api.exception_handler."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts.models import InstanceAccount
from classification import dsl
from classification.api.filters import AssignmentFilterSet, DailyStatFilterSet, HistoryFilterSet, RuleFilterSet
from classification.api.serializers import (
    AssignmentSerializer,
    ClassificationSerializer,
    DailyStatSerializer,
    HistorySerializer,
    ManualAssignSerializer,
    RulePreviewRequestSerializer,
    RulePreviewSerializer,
    RuleSerializer,
    RuleValidateSerializer,
    RuleValidSerializer,
    RunRequestSerializer,
)
from classification.models import (
    ASSIGN_PERMISSION,
    AccountClassification,
    AccountClassificationAssignment,
    AccountClassificationHistory,
    ClassificationDailyStat,
    ClassificationRule,
)
from classification.selectors import assignment_count, rule_preview
from classification.services import (
    classification_assign,
    classification_auto_classify,
    classification_create,
    classification_delete,
    classification_unassign,
    classification_update,
    rule_create,
    rule_update,
)
from instances.api.permissions import CanSyncInstances
from sync_sessions.api.serializers import SessionStartedSerializer, session_started_data
from whalefall.api import HistoryCursorPagination, required_permission
from whalefall.errors import unprocessable
from whalefall.scoping import (
    ScopedViewMixin,
    require_instance_in_scope,
    visible_instance_ids,
    visible_instances,
)

CanAssign = required_permission(
    ASSIGN_PERMISSION, "You need the 'Can assign and unassign classifications by hand' permission."
)
INVALID = OpenApiResponse(description="Invalid input: {code, message, instance_id, errors} (rule errors by JSON path).")
NOT_FOUND = OpenApiResponse(description="No such object.")
SCOPED = OpenApiResponse(description="Missing the permission, or outside the user's team scope: {code, message}.")


def _count(model, fk: str):
    rows = model.objects.filter(**{fk: OuterRef("pk")}).order_by().values(fk).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(rows), 0)


def _rule_errors(expression) -> None:
    errors = dsl.validate(expression)
    if errors:
        raise ValidationError({"expression": [str(error) for error in errors]})


@extend_schema_view(destroy=extend_schema(responses={204: None, 404: NOT_FOUND, 409: OpenApiResponse(
    description="A system classification cannot be deleted (deactivate it).")}))  # fmt: skip
class ClassificationViewSet(viewsets.ModelViewSet):
    """Risk classifications, highest priority first (the primary classification of an account
    is its highest-priority one). System classifications can be edited, not deleted."""

    queryset = AccountClassification.objects.annotate(rule_count=_count(ClassificationRule, "classification"))
    serializer_class = ClassificationSerializer
    filterset_fields = ("risk_level", "is_active", "is_system")
    ordering_fields = ("priority", "name", "code")
    ordering = ("-priority", "name")

    def get_queryset(self):
        # a team scope's user counts the assignments on its instances only
        visible = visible_instances(self.request.user)
        return super().get_queryset().annotate(account_count=assignment_count(visible=visible))

    def perform_create(self, serializer):
        serializer.instance = self.get_queryset().get(pk=classification_create(**serializer.validated_data).pk)

    def perform_update(self, serializer):
        classification_update(classification=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        classification_delete(classification=instance)


class RuleViewSet(viewsets.ModelViewSet):
    """Rules: one JSON expression for one engine. Saving validates the expression (400 with
    the JSON path of every problem); ``version`` goes up when what a rule decides changes."""

    queryset = ClassificationRule.objects.all()
    serializer_class = RuleSerializer
    filterset_class = RuleFilterSet
    ordering_fields = ("name", "updated_at", "version")
    ordering = ("classification_id", "name", "id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = rule_create(
            classification=data["classification"], db_type=data["db_type"].pk, name=data["name"],
            expression=data["expression"], is_active=data.get("is_active", True),
        )  # fmt: skip

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "db_type" in data:
            data["db_type"] = data["db_type"].pk
        serializer.instance = rule_update(rule=serializer.instance, **data)


class RuleValidateView(generics.GenericAPIView):
    """Validate a rule without saving it: 200 with its reading, or 400 with every problem's JSON path."""

    serializer_class = RuleValidateSerializer
    queryset = ClassificationRule.objects.none()

    @extend_schema(responses={200: RuleValidSerializer, 400: INVALID})
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        expression = serializer.validated_data["expression"]
        _rule_errors(expression)
        return Response({"valid": True, "description": dsl.describe(expression)})


class RulePreviewView(generics.GenericAPIView):
    """What a draft rule would change for its classification, without saving: the accounts of
    the engine it would add and the auto assignments it would remove, with why."""

    serializer_class = RulePreviewRequestSerializer
    queryset = ClassificationRule.objects.none()

    @extend_schema(responses={200: RulePreviewSerializer, 400: INVALID, 403: SCOPED})
    def post(self, request):
        if visible_instances(request.user) is not None:
            # a rule applies to every instance of its engine: its preview reads them all
            raise PermissionDenied("A rule applies to every instance: previewing one needs the global view.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _rule_errors(data["expression"])
        preview = rule_preview(
            classification=data["classification"], db_type=data["db_type"].pk, expression=data["expression"],
            replacing_rule_id=data.get("rule"),
        )  # fmt: skip
        return Response(RulePreviewSerializer(preview).data)


class AssignmentViewSet(
    ScopedViewMixin,
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """Current assignments. POST assigns a classification by hand (``source=manual``: auto runs
    never remove it); DELETE unassigns (an auto one returns at the next run while a rule matches).
    Both write history with the user."""

    queryset = AccountClassificationAssignment.objects.select_related("account", "classification", "assigned_by")
    scope_instance_path = "account__instance"
    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilterSet

    def get_permissions(self):
        if self.action in ("create", "destroy"):
            return [CanAssign()]
        return super().get_permissions()
    ordering_fields = ("assigned_at", "id")
    ordering = ("-assigned_at", "-id")

    def get_serializer_class(self):
        return ManualAssignSerializer if self.action == "create" else AssignmentSerializer

    @extend_schema(request=ManualAssignSerializer, responses={201: AssignmentSerializer, 400: INVALID})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = InstanceAccount.objects.filter(pk=serializer.validated_data["account"]).first()
        if account is None:
            raise unprocessable("account", "No such account.", code="does_not_exist")
        require_instance_in_scope(request.user, account.instance_id, acting=True)
        classification = serializer.validated_data["classification"]
        classification_assign(account_ids=[account.pk], classification=classification, user=request.user)
        assignment = self.get_queryset().get(account=account, classification=classification)
        return Response(AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None, 404: NOT_FOUND})
    def destroy(self, request, *args, **kwargs):
        assignment = self.get_object()
        classification_unassign(
            account_ids=[assignment.account_id], classification=assignment.classification, user=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class HistoryPagination(HistoryCursorPagination):
    ordering = ("-changed_at", "-id")


class HistoryViewSet(ScopedViewMixin, viewsets.ReadOnlyModelViewSet):
    """Every add/remove of an assignment (auto runs: batch = session; manual: the user), newest first."""

    queryset = AccountClassificationHistory.objects.select_related("account", "classification", "changed_by")
    scope_instance_path = "account__instance"
    serializer_class = HistorySerializer
    filterset_class = HistoryFilterSet
    pagination_class = HistoryPagination


class StatsPagination(HistoryCursorPagination):
    ordering = ("-date", "-id")


class DailyStatViewSet(ScopedViewMixin, viewsets.ReadOnlyModelViewSet):
    """Accounts per classification, engine and instance per day (from the current assignments)."""

    queryset = ClassificationDailyStat.objects.select_related("classification")
    scope_instance_path = "instance"
    serializer_class = DailyStatSerializer
    filterset_class = DailyStatFilterSet
    pagination_class = StatsPagination


class ClassifyRunView(generics.GenericAPIView):
    """Start an auto-classification of the given (default: all active) instances: 202 with the
    session; one task per instance in the cluster. Needs ``instances.sync_instance``."""

    serializer_class = RunRequestSerializer
    permission_classes = [CanSyncInstances]

    @extend_schema(responses={202: SessionStartedSerializer, 400: INVALID})
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance_ids = visible_instance_ids(request.user, serializer.validated_data.get("instance_ids"))
        session = classification_auto_classify(instance_ids=instance_ids, created_by=request.user, enqueue=True)
        return Response(session_started_data(request, session), status=status.HTTP_202_ACCEPTED)



"""Named reads of classifications and their assignments."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from accounts.models import InstanceAccount
from classification.models import AccountClassificationAssignment


def accounts_prefetch_classifications(queryset: QuerySet[InstanceAccount]) -> QuerySet[InstanceAccount]:
    """``queryset`` with each account's current assignments (and their
    classification) prefetched, highest priority first: one query per page."""
    assignments = AccountClassificationAssignment.objects.select_related("classification").order_by(
        "-classification__priority", "classification__code"
    )
    return queryset.prefetch_related(Prefetch("classifications", queryset=assignments))


def accounts_with_classification(queryset: QuerySet[InstanceAccount], *, codes: list[str]) -> QuerySet:
    """Accounts of ``queryset`` currently assigned any of the classification ``codes``
    (an EXISTS, so no duplicate rows)."""
    assigned = AccountClassificationAssignment.objects.filter(
        account=OuterRef("pk"), classification__code__in=codes
    )
    return queryset.filter(Exists(assigned))

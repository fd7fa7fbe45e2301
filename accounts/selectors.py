"""Named reads of accounts and the account change log.

Each selector owns its ``select_related``/``prefetch_related`` so every list
costs a fixed number of queries, whatever the number of rows.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from accounts.models import AccountChangeLog, InstanceAccount
from classification.models import AccountClassificationAssignment


def accounts_list(*, instance_id: int | None = None) -> QuerySet[InstanceAccount]:
    """Accounts with their instance and permission row joined, and their current
    classification assignments (with the classification) prefetched, highest
    priority first. ``instance_id`` limits to one instance. Unordered: callers order."""
    assignments = AccountClassificationAssignment.objects.select_related("classification").order_by(
        "-classification__priority", "classification__code"
    )
    queryset = InstanceAccount.objects.select_related("instance", "permission").prefetch_related(
        Prefetch("classifications", queryset=assignments)
    )
    if instance_id is not None:
        queryset = queryset.filter(instance_id=instance_id)
    return queryset


def accounts_with_classification(queryset: QuerySet[InstanceAccount], *, codes: list[str]) -> QuerySet:
    """Accounts of ``queryset`` currently assigned any of the classification ``codes``
    (an EXISTS, so no duplicate rows)."""
    assigned = AccountClassificationAssignment.objects.filter(
        account=OuterRef("pk"), classification__code__in=codes
    )
    return queryset.filter(Exists(assigned))


def account_changes_list(*, account_id: int | None = None) -> QuerySet[AccountChangeLog]:
    """Change-log rows with their instance joined, newest first (``-changed_at, -id``);
    ``account_id`` limits to one account (served by the account/time index)."""
    queryset = AccountChangeLog.objects.select_related("instance").order_by("-changed_at", "-id")
    if account_id is not None:
        queryset = queryset.filter(instance_account_id=account_id)
    return queryset

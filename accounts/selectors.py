"""Named reads of accounts and the account change log.

Each selector owns its ``select_related``/``prefetch_related`` so every list
costs a fixed number of queries, whatever the number of rows. Apps above this
one (classification) add their own prefetches to account lists with
``account_list_step_register``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import AccountChangeLog, InstanceAccount
from whalefall.csv_export import CsvColumns

AccountListStep = Callable[[QuerySet[InstanceAccount]], QuerySet[InstanceAccount]]
_ACCOUNT_LIST_STEPS: list[AccountListStep] = []


def account_list_step_register(step: AccountListStep) -> AccountListStep:
    """Add ``step(queryset) -> queryset`` (e.g. a prefetch) to every ``accounts_list``."""
    if step not in _ACCOUNT_LIST_STEPS:
        _ACCOUNT_LIST_STEPS.append(step)
    return step


def account_list_steps_apply(queryset: QuerySet[InstanceAccount]) -> QuerySet[InstanceAccount]:
    """``queryset`` with every registered step applied (prefetches of the apps above)."""
    for step in _ACCOUNT_LIST_STEPS:
        queryset = step(queryset)
    return queryset


def accounts_list(*, instance_id: int | None = None) -> QuerySet[InstanceAccount]:
    """Accounts with their instance and permission row joined, plus whatever the
    registered steps add (classification: current assignments, highest priority
    first). ``instance_id`` limits to one instance. Unordered: callers order."""
    queryset = account_list_steps_apply(InstanceAccount.objects.select_related("instance", "permission"))
    if instance_id is not None:
        queryset = queryset.filter(instance_id=instance_id)
    return queryset


def account_changes_list(
    *, account_id: int | None = None, instance_id: int | None = None
) -> QuerySet[AccountChangeLog]:
    """Change-log rows with their instance joined, newest first (``-changed_at, -id``);
    ``account_id`` limits to one account, ``instance_id`` to one instance (each served by its
    own (…, changed_at) index)."""
    queryset = AccountChangeLog.objects.select_related("instance").order_by("-changed_at", "-id")
    if account_id is not None:
        queryset = queryset.filter(instance_account_id=account_id)
    if instance_id is not None:
        queryset = queryset.filter(instance_id=instance_id)
    return queryset


def account_privileges(*, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """The effective privileges in stored ``facts`` (as the sync wrote them, in their
    order), each with ``direct`` = granted to the account itself (no role on the
    path) and ``implied_by`` (null for a grant). Facts written before paths were
    recorded read as direct grants."""
    return [
        {"privilege": p["privilege"], "level": p["level"], "target": p["target"], "grantable": p["grantable"],
         "state": p.get("state", "GRANT"), "via": list(p.get("via", [])), "via_set_role": p.get("via_set_role", False),
         "implied_by": p.get("implied_by"), "direct": not p.get("via")}
        for p in facts.get("privileges", [])
        if isinstance(p, dict)
    ]  # fmt: skip


def account_reasons(*, facts: dict[str, Any]) -> dict[str, list[str]]:
    """Why each derived flag in stored ``facts`` is set: ``{flag: [reason, …]}``."""
    reasons = facts.get("reasons")
    return {str(flag): [str(r) for r in items] for flag, items in reasons.items()} if isinstance(reasons, dict) else {}


@dataclass(frozen=True)
class InstanceAccountCounts:
    active: int
    inactive: int
    changes_recent: int  # change-log rows of the last ``days`` days
    days: int


def instance_account_counts(*, instance_id: int, days: int = 7) -> InstanceAccountCounts:
    """An instance's active and inactive accounts and its recent changes (two queries)."""
    counts = InstanceAccount.objects.filter(instance_id=instance_id).aggregate(
        active=Count("pk", filter=Q(is_active=True)), inactive=Count("pk", filter=Q(is_active=False))
    )
    since = timezone.now() - dt.timedelta(days=days)
    changes = AccountChangeLog.objects.filter(instance_id=instance_id, changed_at__gte=since).count()
    return InstanceAccountCounts(counts["active"], counts["inactive"], changes, days)


#: the list's columns in a CSV export (admin "Export as CSV" and the API's ?format=csv)
ACCOUNT_CSV_COLUMNS: CsvColumns = (
    ("id", "id"), ("instance", "instance__name"), ("username", "username"), ("host", "host"),
    ("active", "is_active"), ("superuser", "permission__is_superuser"), ("can_grant", "permission__can_grant"),
    ("locked", "permission__is_locked"), ("first_seen_at", "first_seen_at"), ("last_seen_at", "last_seen_at"),
)  # fmt: skip


ACCOUNT_CHANGE_CSV_COLUMNS: CsvColumns = (
    ("changed_at", "changed_at"), ("instance", "instance__name"), ("username", "username"), ("host", "host"),
    ("change_type", "change_type"), ("session", "session_id"), ("diff", "diff"),
)  # fmt: skip

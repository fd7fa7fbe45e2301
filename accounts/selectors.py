"""Named reads of accounts and the account change log.

Each selector owns its ``select_related``/``prefetch_related`` so every list
costs a fixed number of queries, whatever the number of rows. Apps above this
one (classification) add their own prefetches to account lists with
``account_list_step_register``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts import sql
from accounts.models import AccountChangeLog, AccountUnreadScope, ChangeType, InstanceAccount
from accounts.unread import stored_scope
from accounts.whocan import Entry, account_answer, asked_object, narrowing
from instances.adapters.base import UnreadScope
from instances.models import Instance
from whalefall.csv_export import CsvColumns
from whalefall.memory import collector_paused

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


class UnreadScopeView(NamedTuple):
    """An unread scope of an instance as pages and the API show it (``AccountUnreadScope``)."""

    scope: UnreadScope
    reason: str
    not_read_since: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.scope.label, "level": self.scope.level, "target": self.scope.target,
                "reason": self.reason, "not_read_since": self.not_read_since}  # fmt: skip


def instance_unread_scopes(*, instance_id: int | None = None, account_id: int | None = None) -> list[UnreadScopeView]:
    """The scopes the last account sync of the instance (or of the account's instance) could not
    read, with the last time each was read in full (one query; none after a full read)."""
    rows = AccountUnreadScope.objects.order_by("name")
    if instance_id is not None:
        rows = rows.filter(instance_id=instance_id)
    if account_id is not None:
        rows = rows.filter(instance__accounts=account_id)
    return [UnreadScopeView(stored_scope(row), row.reason, row.not_read_since) for row in rows]


def account_unread_scopes(*, facts: dict[str, Any], unread: Sequence[UnreadScopeView]) -> list[UnreadScopeView]:
    """The instance's unread scopes that hold something of this account (an entry or a role)."""
    privileges = [p for p in facts.get("privileges", []) if isinstance(p, dict)]
    roles = facts.get("roles", [])
    return [
        view
        for view in unread
        if any(view.scope.contains(p) for p in privileges) or any(view.scope.contains_role(r) for r in roles)
    ]


def instance_baseline(*, instance_id: int) -> AccountChangeLog | None:
    """The instance's baseline row (its first successful sync: what it found), None before it or
    for an instance first synced before baselines existed. One indexed read
    (``account_change_log_one_baseline``)."""
    return AccountChangeLog.objects.filter(instance_id=instance_id, change_type=ChangeType.BASELINE).first()


def account_baseline_presence(*, account: InstanceAccount) -> AccountChangeLog | None:
    """The baseline row of the account's instance when the account was present at it (found by
    that first sync: ``first_seen_at`` is the baseline's time), else None. One query."""
    baseline = instance_baseline(instance_id=account.instance_id)
    if baseline is None or account.first_seen_at > baseline.changed_at:
        return None
    return baseline


def account_privileges(*, facts: dict[str, Any], unread: Sequence[UnreadScopeView] = ()) -> list[dict[str, Any]]:
    """The effective privileges in stored ``facts`` (as the sync wrote them, in their
    order), each with ``direct`` = granted to the account itself (no role on the
    path), ``implied_by`` (null for a grant), and ``not_read``: the entry lies in one of
    ``unread`` (``instance_unread_scopes``), kept as it was by a partial read, with
    ``not_read_since`` the last full read of that scope (null: never read in full, or read).
    Facts written before paths were recorded read as direct grants."""
    result = []
    for p in facts.get("privileges", []):
        if not isinstance(p, dict):
            continue
        entry = {"privilege": p["privilege"], "level": p["level"], "target": p["target"], "grantable": p["grantable"],
                 "state": p.get("state", "GRANT"), "via": list(p.get("via", [])),
                 "via_set_role": p.get("via_set_role", False), "implied_by": p.get("implied_by"),
                 "direct": not p.get("via")}  # fmt: skip
        sinces = [view.not_read_since for view in unread if view.scope.contains(p)]
        entry["not_read"] = bool(sinces)
        entry["not_read_since"] = None if not sinces or None in sinces else min(sinces)
        result.append(entry)
    return result


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


# --- who can ----------------------------------------------------------------------------------


class WhoCanItem(NamedTuple):
    """One account that holds the asked privilege on the asked object, with the entry that grants
    it (a tuple: an answer may hold 10,000s)."""

    account_id: int
    instance_id: int
    instance_name: str
    db_type: str
    username: str
    host: str
    entry: Entry

    def as_dict(self) -> dict[str, Any]:
        """The API's and the CSV's item."""
        e = self.entry
        return {
            "account": self.account_id, "instance": self.instance_id, "instance_name": self.instance_name,
            "db_type": self.db_type, "username": self.username, "host": self.host, "privilege": e.privilege,
            "level": e.level, "target": e.target, "grantable": e.grantable, "via": list(e.via),
            "implied_by": e.implied_by, "via_set_role": e.via_set_role,
        }  # fmt: skip


def _id_array(ids) -> str:
    """Ids as one ``bigint[]`` literal (``{1,2,3}``): bound as one text value, where a list
    would become an ``ARRAY[…]`` expression of one node per id to parse and plan."""
    return "{" + ",".join(map(str, ids)) + "}"


def who_can(
    *,
    privilege: str | None,
    parts: tuple[str, ...],
    instance_id: int | None = None,
    db_type: str | None = None,
    environment: str | None = None,
    tags: tuple[str, ...] = (),
    include_set_role: bool = False,
    include_inactive: bool = False,
    include_contained: bool = False,
    visible: QuerySet[Instance] | None = None,
) -> list[WhoCanItem]:
    """Every account holding ``privilege`` (None: any privilege the search knows) on the object
    named by ``parts`` (``accounts.whocan.object_parts``), read per instance's engine; rules in
    ``accounts/whocan.py``. Instances: not deleted, of an engine on which the name names
    something, narrowed by ``instance_id``, ``db_type``, ``environment`` and every one of
    ``tags``, and to ``visible`` (a team scope's instances; None: all). Accounts: active ones
    unless ``include_inactive`` (the PUBLIC pseudo-account is one).
    Sorted by instance name, username, host. Three queries, whatever the number of accounts: the
    instances, the candidate entries (from the index alone), the answering accounts."""
    instances = Instance.objects.filter(deleted_at__isnull=True)
    if instance_id is not None:
        instances = instances.filter(pk=instance_id)
    if db_type is not None:
        instances = instances.filter(db_type_id=db_type)
    if environment is not None:
        instances = instances.filter(environment=environment)
    for tag in tags:
        instances = instances.filter(tags__name=tag)
    if visible is not None:
        instances = instances.filter(pk__in=visible.values("pk"))
    asked_by_type: dict[str, Any] = {}
    chosen: dict[int, tuple[str, str]] = {}
    for pk, name, engine in instances.values_list("pk", "name", "db_type_id").distinct():
        if engine not in asked_by_type:
            asked_by_type[engine] = asked_object(parts, engine)
        if asked_by_type[engine] is not None:
            chosen[pk] = (name, engine)
    if not chosen:
        return []
    wanted = narrowing(privilege=privilege, parts=parts, include_contained=include_contained)
    with collector_paused(), connection.cursor() as cursor:  # some 10,000s of rows and entries: no cycles
        cursor.execute(sql.WHO_CAN_CANDIDATES, {
            **wanted._asdict(), "names": list(wanted.names), "targets": list(wanted.targets),
            "prefixes": list(wanted.prefixes), "suffixes": list(wanted.suffixes), "instance_ids": _id_array(chosen),
            "include_set_role": include_set_role,
        })  # fmt: skip
        by_account: dict[int, tuple[int, list[Entry]]] = {}
        for account_id, instance, *entry in cursor.fetchall():
            entry[5] = tuple(entry[5])  # via
            held = by_account.get(account_id)
            if held is None:
                by_account[account_id] = (instance, [Entry(*entry)])
            else:
                held[1].append(Entry(*entry))
        answers = {}
        for account_id, (instance, entries) in by_account.items():
            answer = account_answer(entries, privilege=privilege, asked=asked_by_type[chosen[instance][1]],
                                    include_set_role=include_set_role, include_contained=include_contained)  # fmt: skip
            if answer is not None:
                answers[account_id] = (instance, answer)
        if not answers:
            return []
        cursor.execute(sql.WHO_CAN_ACCOUNTS, {"ids": _id_array(answers), "include_inactive": include_inactive})
        items = []
        for account_id, username, host in cursor.fetchall():
            instance, answer = answers[account_id]
            name, engine = chosen[instance]
            items.append(WhoCanItem(account_id, instance, name, engine, username, host, answer))
        items.sort(key=lambda item: (item.instance_name, item.username, item.host, item.account_id))
    return items


#: the who-can answer's columns in a CSV export (the API's ?format=csv; keys of WhoCanItem.as_dict)
WHO_CAN_CSV_COLUMNS: CsvColumns = (
    ("account", "account"), ("instance", "instance_name"), ("db_type", "db_type"), ("username", "username"),
    ("host", "host"), ("privilege", "privilege"), ("level", "level"), ("target", "target"),
    ("grantable", "grantable"), ("via", "via"), ("implied_by", "implied_by"), ("via_set_role", "via_set_role"),
)  # fmt: skip

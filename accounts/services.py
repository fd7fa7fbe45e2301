"""Account sync: read the target's logins, then apply inventory, permissions
and change log in one short transaction (seed 003 §1, defects fixed).

Set-based throughout: one read of the stored state, bulk inserts/upserts and
a handful of ``UPDATE … WHERE`` statements, whatever the number of accounts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from accounts.diff import facts_diff, permission_facts
from accounts.models import AccountChangeLog, AccountPermission, ChangeType, InstanceAccount
from instances.adapters.base import AccountFacts
from instances.adapters.registry import get_adapter
from instances.models import Instance
from sync_sessions.models import SyncSession
from sync_sessions.services import RecordOutcome
from whalefall.db.locks import advisory_lock
from whalefall.errors import TargetQueryFailed

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
PERMISSION_FIELDS = ["snapshot", "facts", "is_superuser", "can_grant", "is_locked", "roles", "updated_at"]


def accounts_sync_instance(*, instance: Instance, session: SyncSession | None = None) -> RecordOutcome:
    """Sync the accounts of one instance; returns synced/created/updated/deleted counts.

    Holds an advisory lock per instance (a concurrent sync of the same
    instance raises ConcurrentOperation); reads the remote catalog outside any
    metadata transaction; applies everything in one transaction.
    """
    with advisory_lock("accounts.sync", instance.pk, what=f"Account sync of {instance.name}"):
        accounts = get_adapter(instance).fetch_accounts()
        return accounts_apply(instance=instance, accounts=accounts, session=session)


def _json_native(value: dict) -> dict:
    # what jsonb gives back: tuples become lists, so equal states compare equal
    return json.loads(json.dumps(value, default=str))


def _permission_row(account: InstanceAccount, facts: dict, snapshot: dict, now) -> AccountPermission:
    return AccountPermission(
        instance_account=account,
        snapshot=snapshot,
        facts=facts,
        is_superuser=facts["is_superuser"],
        can_grant=facts["can_grant"],
        is_locked=facts["is_locked"],
        roles=facts["roles"],
        updated_at=now,
    )


def _index_incoming(instance: Instance, accounts: Sequence[AccountFacts]) -> dict[tuple[str, str], AccountFacts]:
    incoming: dict[tuple[str, str], AccountFacts] = {}
    for account in accounts:
        key = (account.username, account.host)
        if key in incoming:
            raise TargetQueryFailed(
                f"{instance.name}: the adapter returned account {account.username!r}@{account.host!r} twice.",
                instance_id=instance.pk,
                instance_name=instance.name,
            )
        incoming[key] = account
    return incoming


@transaction.atomic(durable=True)
def accounts_apply(
    *, instance: Instance, accounts: Sequence[AccountFacts], session: SyncSession | None = None
) -> RecordOutcome:
    """Apply a full account listing of ``instance`` in one transaction.

    New accounts are added, returning ones reactivated, vanished ones
    deactivated (``is_active=false``, ``deactivated_at``), changed permissions
    upserted, and one change-log row written per add/modify/remove/reactivate.
    A listing identical to the stored state only bumps ``last_seen_at``.
    """
    now = timezone.now()
    incoming = _index_incoming(instance, accounts)
    stored = {
        (a.username, a.host): a
        for a in InstanceAccount.objects.filter(instance=instance).select_related("permission")
    }

    def log(change_type, username, host, account=None, diff=None):
        return AccountChangeLog(
            instance=instance, instance_account=account, username=username, host=host,
            change_type=change_type, diff=diff or {}, session=session, changed_at=now,
        )

    new_accounts = InstanceAccount.objects.bulk_create(
        [
            InstanceAccount(instance=instance, username=u, host=h, first_seen_at=now, last_seen_at=now)
            for (u, h) in incoming.keys() - stored.keys()
        ],
        batch_size=BATCH_SIZE,
    )
    permissions, changes, reactivated = [], [], []
    for account in new_accounts:
        facts = permission_facts(incoming[(account.username, account.host)])
        snapshot = _json_native(incoming[(account.username, account.host)].snapshot)
        permissions.append(_permission_row(account, facts, snapshot, now))
        changes.append(log(ChangeType.ADD, account.username, account.host, account, {"facts": facts}))
    modified = 0
    for key, account in stored.items():
        if key not in incoming:
            continue
        facts, snapshot = permission_facts(incoming[key]), _json_native(incoming[key].snapshot)
        permission = getattr(account, "permission", None)
        old_facts = permission.facts if permission else {}
        diff = facts_diff(old_facts, facts)
        if permission is not None and permission.snapshot != snapshot and not diff:
            diff = {"snapshot": {"changed": True}}
        if diff or permission is None:
            permissions.append(_permission_row(account, facts, snapshot, now))
        if not account.is_active:
            reactivated.append(account.pk)
            changes.append(log(ChangeType.REACTIVATE, *key, account, diff))
        elif diff:
            modified += 1
            changes.append(log(ChangeType.MODIFY, *key, account, diff))
    vanished = [a for key, a in stored.items() if key not in incoming and a.is_active]
    for account in vanished:
        last = account.permission.facts if hasattr(account, "permission") else {}
        changes.append(log(ChangeType.REMOVE, account.username, account.host, account, {"last_facts": last}))

    AccountPermission.objects.bulk_create(
        permissions,
        update_conflicts=True,
        unique_fields=["instance_account"],
        update_fields=PERMISSION_FIELDS,
        batch_size=BATCH_SIZE,
    )
    if reactivated:
        InstanceAccount.objects.filter(pk__in=reactivated).update(is_active=True, deactivated_at=None)
    if vanished:
        InstanceAccount.objects.filter(pk__in=[a.pk for a in vanished]).update(is_active=False, deactivated_at=now)
    InstanceAccount.objects.filter(instance=instance, is_active=True).update(last_seen_at=now)
    AccountChangeLog.objects.bulk_create(changes, batch_size=BATCH_SIZE)
    Instance.objects.filter(pk=instance.pk).update(last_connected_at=now)
    return RecordOutcome(
        synced=len(incoming),
        created=len(new_accounts),
        updated=modified + len(reactivated),
        deleted=len(vanished),
        details={"reactivated": len(reactivated), "modified": modified},
    )


def accounts_sync_all(
    *,
    instance_ids: Sequence[int] | None = None,
    sync_type: str,
    created_by=None,
    enqueue: bool = False,
    progress=None,
) -> SyncSession:
    """Sync accounts of the given (default: all active) instances in one session.

    Inline by default (``progress(record)`` after each instance); with
    ``enqueue`` one django-q2 task per instance after commit. One failing
    instance never stops the others; the session always ends completed or
    failed.
    """
    from sync_sessions.runner import batch_start

    instances = instances_select(instance_ids=instance_ids)
    return batch_start(
        sync_category="account",
        sync_type=sync_type,
        instances=instances,
        created_by=created_by,
        enqueue=enqueue,
        progress=progress,
    )


def instances_select(*, instance_ids: Sequence[int] | None) -> list[Instance]:
    """Active instances, or exactly the given ids (unknown ids are an error)."""
    from django.core.exceptions import ValidationError

    if instance_ids is None:
        return list(Instance.objects.active().select_related("db_type").order_by("name"))
    found = list(Instance.objects.filter(pk__in=instance_ids, deleted_at__isnull=True).order_by("name"))
    missing = sorted(set(instance_ids) - {i.pk for i in found})
    if missing:
        raise ValidationError({"instance_ids": [f"Unknown or deleted instance id(s): {missing}"]})
    return found

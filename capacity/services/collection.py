"""Daily collection of database sizes (seed 003 §2 with its defects fixed).

Per instance, under an advisory lock, read the inventory and the sizes from
the target **outside** any metadata transaction, then apply inventory +
``database_size_stats`` + ``database_size_current`` + ``instance_size_stats``
in **one** durable transaction, set-based (``INSERT … SELECT FROM unnest(…)
ON CONFLICT DO UPDATE``). Re-running the same day overwrites that day's rows.
Batches go through the generic fan-out runner (``sync_sessions.runner``),
which retries unreachable/timed-out instances with backoff. All sizes are bytes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from capacity.partitions import partition_errors
from capacity.trends import INSTANCE_DATABASE_FITS, fit_params
from instances.adapters.base import DatabaseSize
from instances.adapters.registry import get_adapter
from instances.models import Instance
from instances.services import instance_contact_record
from sync_sessions.models import SyncCategory, SyncInstanceRecord, SyncSession
from sync_sessions.runner import Unit, batch_start
from sync_sessions.services import RecordOutcome
from whalefall.db.locks import advisory_lock
from whalefall.errors import TargetQueryFailed

logger = logging.getLogger(__name__)

#: how many database names a record's ``sync_details`` lists at most
DETAIL_NAMES_LIMIT = 50


def capacity_collect_instance(*, instance: Instance, session: SyncSession | None = None) -> RecordOutcome:
    """Collect today's database sizes of one instance (bytes) and store them.

    Takes the advisory lock ``capacity.collect``/instance id (a concurrent
    collection of the same instance raises ``ConcurrentOperation``); the two
    remote reads (inventory, sizes) run outside any transaction; everything
    is written by ``capacity_apply`` in one transaction. Remote failures
    propagate as typed errors (the runner retries the transient ones).
    """
    with advisory_lock("capacity.collect", instance.pk, what=f"Capacity collection of {instance.name}"):
        adapter = get_adapter(instance)
        inventory = [d.name for d in adapter.fetch_database_inventory()]
        sizes = adapter.fetch_database_sizes()
        return capacity_apply(
            instance=instance, inventory=inventory, sizes=sizes, server_version=adapter.server_version_seen
        )


def check_unique(instance: Instance, names: Sequence[str], what: str) -> None:
    """TargetQueryFailed when the adapter listed a name twice (the set-based writes need unique keys)."""
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})[:5]
        raise TargetQueryFailed(
            f"{instance.name}: the adapter returned {what} {dupes} more than once.",
            instance_id=instance.pk,
            instance_name=instance.name,
        )


_UPSERT_INVENTORY = """
INSERT INTO instance_databases (instance_id, name, is_active, first_seen_at, last_seen_at, deleted_at)
SELECT %(iid)s, t.name, true, %(now)s, %(now)s, NULL FROM unnest(%(names)s::text[]) AS t(name)
ON CONFLICT (instance_id, name) DO UPDATE
SET is_active = true, last_seen_at = EXCLUDED.last_seen_at, deleted_at = NULL
"""
_DEACTIVATE_INVENTORY = """
UPDATE instance_databases SET is_active = false, deleted_at = %(now)s
WHERE instance_id = %(iid)s AND is_active AND NOT (name = ANY(%(names)s::text[]))
"""
_SIZES = """unnest(%(names)s::text[], %(sizes)s::bigint[], %(data)s::bigint[], %(logs)s::bigint[],
            %(complete)s::boolean[]) AS t(name, size, data, log, complete)"""
_UPSERT_STATS = f"""
INSERT INTO database_size_stats
    (instance_id, database_name, size_bytes, data_bytes, log_bytes, complete, collected_date, collected_at)
SELECT %(iid)s, t.name, t.size, t.data, t.log, t.complete, %(day)s, %(now)s
FROM {_SIZES}
ON CONFLICT (instance_id, database_name, collected_date) DO UPDATE
SET size_bytes = EXCLUDED.size_bytes, data_bytes = EXCLUDED.data_bytes, log_bytes = EXCLUDED.log_bytes,
    complete = EXCLUDED.complete, collected_at = EXCLUDED.collected_at
"""
# a database gone since an earlier run today must not linger in today's rows
_DELETE_STALE_STATS = """
DELETE FROM database_size_stats
WHERE instance_id = %(iid)s AND collected_date = %(day)s AND NOT (database_name = ANY(%(names)s::text[]))
"""
# with each database's forecast line over the window ending today (capacity/trends.py), fitted
# after today's samples are written above: one row version per database, not an update after
_UPSERT_CURRENT = f"""
INSERT INTO database_size_current
    (instance_id, database_name, size_bytes, data_bytes, log_bytes, complete, collected_at,
     forecast_samples, growth_bytes_per_day, forecast_line_bytes)
SELECT %(iid)s, t.name, t.size, t.data, t.log, t.complete, %(now)s, f.samples, f.slope, f.line
FROM {_SIZES} LEFT JOIN ({INSTANCE_DATABASE_FITS}) f ON f.key = t.name
ON CONFLICT (instance_id, database_name) DO UPDATE
SET size_bytes = EXCLUDED.size_bytes, data_bytes = EXCLUDED.data_bytes, log_bytes = EXCLUDED.log_bytes,
    complete = EXCLUDED.complete, collected_at = EXCLUDED.collected_at,
    forecast_samples = EXCLUDED.forecast_samples, growth_bytes_per_day = EXCLUDED.growth_bytes_per_day,
    forecast_line_bytes = EXCLUDED.forecast_line_bytes
"""
_DELETE_STALE_CURRENT = """
DELETE FROM database_size_current WHERE instance_id = %(iid)s AND NOT (database_name = ANY(%(names)s::text[]))
"""
_UPSERT_INSTANCE_STATS = """
INSERT INTO instance_size_stats
    (instance_id, total_size_bytes, database_count, complete, collected_date, collected_at)
VALUES (%(iid)s, %(total)s, %(count)s, %(all_complete)s, %(day)s, %(now)s)
ON CONFLICT (instance_id, collected_date) DO UPDATE
SET total_size_bytes = EXCLUDED.total_size_bytes, database_count = EXCLUDED.database_count,
    complete = EXCLUDED.complete, collected_at = EXCLUDED.collected_at
"""


@transaction.atomic(durable=True)
def capacity_apply(
    *,
    instance: Instance,
    inventory: Sequence[str],
    sizes: Sequence[DatabaseSize],
    now: dt.datetime | None = None,
    server_version: str = "",
) -> RecordOutcome:
    """Store one collection of ``instance`` in one transaction (all sizes in bytes).

    ``collected_date`` is ``now`` in settings.TIME_ZONE. Inventory: present
    databases (inventory ∪ sized) are added or reactivated, vanished ones
    become inactive with ``deleted_at``. Today's ``database_size_stats`` and
    ``database_size_current`` hold exactly the sized databases (rows of
    vanished ones are removed); ``instance_size_stats`` gets the sum. Not
    covered: inventoried databases the size query did not return are kept
    in the inventory but get no size row (listed as ``unsized``). A size the
    adapter marks incomplete is stored with ``complete = false`` (and the
    instance total with it), and listed as ``incomplete``.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    sized = [s.name for s in sizes]
    check_unique(instance, list(inventory), "database")
    check_unique(instance, sized, "a size for database")
    present = sorted(set(inventory) | set(sized))
    stored = dict(instance.databases.values_list("name", "is_active"))
    created = [n for n in present if n not in stored]
    reactivated = [n for n in present if stored.get(n) is False]
    total = sum(s.size_bytes for s in sizes)
    params = {
        "iid": instance.pk,
        "now": now,
        "day": day,
        "names": sized,
        "sizes": [s.size_bytes for s in sizes],
        "data": [s.data_bytes for s in sizes],
        "logs": [s.log_bytes for s in sizes],
        "complete": [s.complete for s in sizes],
        "all_complete": all(s.complete for s in sizes),
        "total": total,
        "count": len(sizes),
    }
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_INVENTORY, {**params, "names": present})
        cursor.execute(_DEACTIVATE_INVENTORY, {**params, "names": present})
        deactivated = cursor.rowcount
        with partition_errors():
            cursor.execute(_UPSERT_STATS, params)
            cursor.execute(_DELETE_STALE_STATS, params)
            cursor.execute(_UPSERT_CURRENT, {**params, **fit_params(today=day)})
            cursor.execute(_DELETE_STALE_CURRENT, params)
            cursor.execute(_UPSERT_INSTANCE_STATS, params)
    instance_contact_record(instance=instance, at=now, version=server_version)
    unsized = sorted(set(present) - set(sized))
    incomplete = sorted(s.name for s in sizes if not s.complete)
    details = {
        "collected_date": day.isoformat(),
        "databases": len(sizes),
        "total_size_bytes": total,
        "reactivated": len(reactivated),
        "unsized": unsized[:DETAIL_NAMES_LIMIT],
    }
    if incomplete:
        details["incomplete"] = incomplete[:DETAIL_NAMES_LIMIT]
        details["note"] = (
            f"{len(incomplete)} database size(s) are incomplete: the monitoring login could read only part "
            "of the catalog (see docs/capacity.md); they are stored with complete = false."
        )
    if not present:
        details["zero_databases"] = True
        details["note"] = "The instance has no user databases: nothing was sized (instance total 0)."
    return RecordOutcome(
        synced=len(sizes), created=len(created), updated=len(reactivated), deleted=deactivated, details=details
    )


def capacity_collect_unit() -> Unit:
    """What a collection batch runs per instance: 3 tries for an unreachable or
    timed-out instance, waiting backoff × 2^(n-1) s (WHALEFALL['CAPACITY_RETRY_BACKOFF_SECONDS'])."""
    return Unit(
        capacity_collect_instance, attempts=3, backoff_seconds=settings.WHALEFALL["CAPACITY_RETRY_BACKOFF_SECONDS"]
    )


def capacity_collect_all(
    *,
    instance_ids: Sequence[int] | None = None,
    scheduled: bool = False,
    created_by=None,
    enqueue: bool = False,
    progress: Callable[[SyncInstanceRecord], None] | None = None,
) -> SyncSession:
    """Collect capacity of the given (default: all active) instances in one session.

    One record (and, with ``enqueue``, one django-q2 task) per instance via
    ``sync_sessions.runner.batch_start``; unreachable/timed-out instances are
    retried (``capacity_collect_unit``), then recorded failed while the others
    go on. Inline by default (``progress(record)`` after each).
    """
    return batch_start(
        unit=capacity_collect_unit(),
        sync_category=SyncCategory.CAPACITY,
        instance_ids=instance_ids,
        scheduled=scheduled,
        created_by=created_by,
        enqueue=enqueue,
        progress=progress,
    )

"""On-demand per-table sizes of one database (seed 002).

``table_sizes_refresh`` reads one database's tables synchronously and replaces
its snapshot (upsert present, delete vanished) in one transaction; on any
failure the previous snapshot is untouched. Only databases in the instance's
inventory (active) are refreshed. All sizes are bytes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from capacity.services.collection import check_unique
from instances.adapters.base import TableSize
from instances.adapters.registry import get_adapter
from instances.models import Instance
from sync_sessions.models import SyncCategory, SyncSession, SyncType
from sync_sessions.services import record_running, session_create
from whalefall.db.locks import advisory_lock
from whalefall.errors import NotFound


@dataclass(frozen=True)
class TableSizesRefresh:
    """Outcome of one table-size refresh (counts of rows; ``elapsed_ms`` wall time)."""

    session: SyncSession
    tables: int
    created: int
    updated: int
    deleted: int
    collected_at: dt.datetime
    elapsed_ms: int


_UPSERT_TABLES = """
INSERT INTO database_table_size_stats
    (instance_id, database_name, schema_name, table_name, size_bytes, data_bytes, index_bytes, row_count, complete,
     collected_at)
SELECT %(iid)s, %(db)s, t.s, t.n, t.size, t.data, t.idx, t.rows_, t.complete, %(now)s
FROM unnest(%(schemas)s::text[], %(tables)s::text[], %(sizes)s::bigint[], %(data)s::bigint[],
            %(idx)s::bigint[], %(rows)s::bigint[], %(complete)s::boolean[]) AS t(s, n, size, data, idx, rows_, complete)
ON CONFLICT (instance_id, database_name, schema_name, table_name) DO UPDATE
SET size_bytes = EXCLUDED.size_bytes, data_bytes = EXCLUDED.data_bytes, index_bytes = EXCLUDED.index_bytes,
    row_count = EXCLUDED.row_count, complete = EXCLUDED.complete, collected_at = EXCLUDED.collected_at
RETURNING (xmax = 0)
"""
_DELETE_VANISHED_TABLES = """
DELETE FROM database_table_size_stats d
WHERE d.instance_id = %(iid)s AND d.database_name = %(db)s AND NOT EXISTS (
    SELECT 1 FROM unnest(%(schemas)s::text[], %(tables)s::text[]) AS t(s, n)
    WHERE t.s = d.schema_name AND t.n = d.table_name)
"""


@transaction.atomic(durable=True)
def table_sizes_apply(
    *, instance: Instance, database: str, tables: Sequence[TableSize], now: dt.datetime | None = None
) -> tuple[int, int, int]:
    """Replace the stored table snapshot of ``instance``/``database`` in one transaction:
    upsert present tables, delete vanished ones. Returns (created, updated, deleted)."""
    now = now or timezone.now()
    check_unique(instance, [f"{t.schema}.{t.table}" for t in tables], "table")
    params = {
        "iid": instance.pk,
        "db": database,
        "now": now,
        "schemas": [t.schema or "" for t in tables],
        "tables": [t.table for t in tables],
        "sizes": [t.size_bytes for t in tables],
        "data": [t.data_bytes for t in tables],
        "idx": [t.index_bytes for t in tables],
        "rows": [t.row_count for t in tables],
        "complete": [t.complete for t in tables],
    }
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_TABLES, params)
        inserted = [row[0] for row in cursor.fetchall()]
        cursor.execute(_DELETE_VANISHED_TABLES, params)
        deleted = cursor.rowcount
    created = sum(1 for flag in inserted if flag)
    return created, len(inserted) - created, deleted


def table_sizes_refresh(*, instance: Instance, database: str, created_by=None) -> TableSizesRefresh:
    """Collect the per-table sizes (bytes) of one database now and store them.

    ``database`` must be active in the instance's inventory (``NotFound``
    otherwise, before anything is recorded or contacted).

    Synchronous, bounded by the instance's statement timeout (the adapter's
    deadline). Recorded as a ``table_size``/``manual_single`` session with one
    record. Holds the advisory lock ``capacity.table_sizes:<database>``/instance.
    Any failure (typed error) is recorded and re-raised; the previous snapshot
    is then untouched.
    """
    if not database:
        raise ValidationError({"database": ["A database name is required."]})
    if not instance.databases.filter(name=database, is_active=True).exists():
        raise NotFound(
            f"Database {database!r} is not in the inventory of instance {instance.name!r}: check the name, "
            "or run a capacity collection first (the inventory lists the databases it found).",
            instance_id=instance.pk,
            instance_name=instance.name,
        )
    session = session_create(
        sync_type=SyncType.MANUAL_SINGLE,
        sync_category=SyncCategory.TABLE_SIZE,
        instances=[instance],
        created_by=created_by,
    )
    record = session.records.select_related("instance").get()
    started = time.monotonic()
    lock = advisory_lock(
        f"capacity.table_sizes:{database}", instance.pk, what=f"Table-size refresh of {instance.name}/{database}"
    )
    with record_running(record=record) as outcome, lock:
        tables = get_adapter(instance).fetch_table_sizes(database)
        now = timezone.now()
        created, updated, deleted = table_sizes_apply(instance=instance, database=database, tables=tables, now=now)
        elapsed_ms = int((time.monotonic() - started) * 1000)
        outcome.synced, outcome.created, outcome.updated, outcome.deleted = len(tables), created, updated, deleted
        outcome.details = {"database": database, "tables": len(tables), "elapsed_ms": elapsed_ms}
    session.refresh_from_db()
    return TableSizesRefresh(session, len(tables), created, updated, deleted, now, elapsed_ms)

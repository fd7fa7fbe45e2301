"""Monthly range partitions of the capacity fact tables (pg_partman-style).

Partitions are pre-created (current month + N ahead) and pruned (older than
the retention) by ``partitions_ensure``, run on ``post_migrate``, by
``manage.py manage_partitions`` and by a daily schedule. There are no
triggers and no default partition: a write for a month without a partition
fails loudly with ``PartitionMissing`` (see ``partition_errors``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from whalefall.db.locks import advisory_lock
from whalefall.errors import PartitionMissing

logger = logging.getLogger(__name__)

#: parent table → partition key column
PARTITIONED_TABLES: dict[str, str] = {
    "database_size_stats": "collected_date",
    "instance_size_stats": "collected_date",
    "database_size_aggregations": "period_start",
    "instance_size_aggregations": "period_start",
}

_BOUND_RE = re.compile(r"FOR VALUES FROM \('(\d{4}-\d{2}-\d{2})'\) TO \('(\d{4}-\d{2}-\d{2})'\)")


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """First day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: dt.date) -> str:
    return f"{table}_p{month:%Y%m}"


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    start: dt.date
    end: dt.date


@dataclass
class PartitionPlan:
    """What ``partitions_ensure`` did (or would do, with ``dry_run``)."""

    created: list[Partition] = field(default_factory=list)
    dropped: list[Partition] = field(default_factory=list)
    kept: list[Partition] = field(default_factory=list)


def partitions_list(*, table: str) -> list[Partition]:
    """Existing range partitions of ``table``, oldest first (one catalog query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname, pg_get_expr(child.relpartbound, child.oid)
            FROM pg_inherits i
            JOIN pg_class parent ON parent.oid = i.inhparent
            JOIN pg_class child ON child.oid = i.inhrelid
            JOIN pg_namespace n ON n.oid = parent.relnamespace
            WHERE parent.relname = %s AND n.nspname = current_schema()
            """,
            [table],
        )
        rows = cursor.fetchall()
    partitions = []
    for name, bound in rows:
        match = _BOUND_RE.search(bound or "")
        if not match:
            raise DatabaseError(f"Partition {name} of {table} has an unexpected bound: {bound!r}")
        start, end = (dt.date.fromisoformat(v) for v in match.groups())
        partitions.append(Partition(table=table, name=name, start=start, end=end))
    return sorted(partitions, key=lambda p: p.start)


def retention_start(*, today: dt.date | None = None, retain_months: int | None = None) -> dt.date:
    """First day of the oldest month kept: partitions of earlier months are dropped."""
    today = today or timezone.localdate()
    retain_months = settings.WHALEFALL["PARTITIONS_RETAIN_MONTHS"] if retain_months is None else retain_months
    return add_months(month_start(today), -retain_months)


def _plan_table(table: str, today: dt.date, ahead: int, retain_months: int) -> PartitionPlan:
    existing = partitions_list(table=table)
    first_kept = retention_start(today=today, retain_months=retain_months)
    wanted = [add_months(month_start(today), i) for i in range(ahead + 1)]
    have = {p.start for p in existing}
    plan = PartitionPlan()
    for month in wanted:
        if month not in have:
            plan.created.append(Partition(table, partition_name(table, month), month, add_months(month, 1)))
    for partition in existing:
        (plan.dropped if partition.end <= first_kept else plan.kept).append(partition)
    return plan


def partitions_ensure(
    *,
    today: dt.date | None = None,
    ahead: int | None = None,
    retain_months: int | None = None,
    dry_run: bool = False,
) -> PartitionPlan:
    """Create missing monthly partitions for the current month and ``ahead``
    months after it, and detach + drop partitions that end on or before the
    first day of the month ``retain_months`` before the current one.

    Each DDL statement runs in its own short transaction; an advisory lock
    keeps two runs (e.g. two hosts) from racing.
    """
    today = today or timezone.localdate()
    ahead = settings.WHALEFALL["PARTITIONS_AHEAD_MONTHS"] if ahead is None else ahead
    retain_months = settings.WHALEFALL["PARTITIONS_RETAIN_MONTHS"] if retain_months is None else retain_months
    if ahead < 0 or retain_months < 1:
        raise ValueError("ahead must be >= 0 and retain_months >= 1")
    result = PartitionPlan()
    with advisory_lock("capacity.partitions", what="Partition maintenance"):
        for table in PARTITIONED_TABLES:
            plan = _plan_table(table, today, ahead, retain_months)
            result.kept.extend(plan.kept)
            for partition in plan.created:
                if not dry_run:
                    _create(partition)
                result.created.append(partition)
            for partition in plan.dropped:
                if not dry_run:
                    _drop(partition)
                result.dropped.append(partition)
    return result


def partitions_cover(*, tables: Sequence[str], start: dt.date, end: dt.date) -> list[Partition]:
    """Create the missing monthly partitions of ``tables`` for every month of
    ``[start, end]``: a backfill writes to past months, which ``partitions_ensure``
    (current month and ahead) never creates. Returns the partitions created.

    Months before ``retention_start()`` are refused (ValueError): maintenance
    would drop them again. Reads the catalog first and takes the partition
    lock only when something is missing, so concurrent callers that find
    everything in place never collide.
    """
    if month_start(start) < retention_start():
        raise ValueError(f"{start} is before the retention start {retention_start()}")
    months, month = [], month_start(start)
    while month <= end:
        months.append(month)
        month = add_months(month, 1)
    missing = [
        Partition(table, partition_name(table, m), m, add_months(m, 1))
        for table in tables
        for m in sorted(set(months) - {p.start for p in partitions_list(table=table)})
    ]
    if missing:
        with advisory_lock("capacity.partitions", what="Partition maintenance"):
            for partition in missing:
                _create(partition)
    return missing


def _create(partition: Partition) -> None:
    qn = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {qn(partition.name)} PARTITION OF {qn(partition.table)} "
            "FOR VALUES FROM (%s) TO (%s)",
            [partition.start, partition.end],
        )
    logger.info("created partition %s [%s, %s)", partition.name, partition.start, partition.end)


def _drop(partition: Partition) -> None:
    qn = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {qn(partition.table)} DETACH PARTITION {qn(partition.name)}")
        cursor.execute(f"DROP TABLE {qn(partition.name)}")
    logger.info("dropped partition %s [%s, %s)", partition.name, partition.start, partition.end)


def partitions_ensure_after_migrate(*, using: str = "default", plan=None, **kwargs) -> None:
    """post_migrate hook: pre-create partitions once the parent tables exist."""
    if connection.alias != using:
        return
    existing = set(connection.introspection.table_names())
    if not set(PARTITIONED_TABLES) <= existing:
        return  # migrating backwards, or capacity not migrated yet
    partitions_ensure()


_NO_PARTITION_RE = re.compile(r'no partition of relation "([^"]+)" found for row')


@contextmanager
def partition_errors() -> Iterator[None]:
    """Turn PostgreSQL's "no partition … found for row" into PartitionMissing.

    Wrap every fact-table write in this, so a missing month is reported with
    the command that fixes it instead of a raw IntegrityError.
    """
    try:
        yield
    except DatabaseError as exc:
        match = _NO_PARTITION_RE.search(str(exc))
        if not match:
            raise
        table = match.group(1)
        detail = str(exc).split("DETAIL:", 1)[-1].strip() if "DETAIL:" in str(exc) else ""
        raise PartitionMissing(
            f"No partition of {table} for this row ({detail or 'date outside the partitioned range'}). "
            "Run `python manage.py manage_partitions` (use --ahead N for dates further ahead)."
        ) from exc

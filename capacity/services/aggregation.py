"""Capacity aggregation: daily/weekly/monthly/quarterly roll-ups of the daily sizes
(seed 003 § 3 with its defects fixed; exact semantics in docs/capacity.md § Aggregation).

Per period type and level, **one** statement: ``INSERT … SELECT … GROUP BY … ON
CONFLICT DO UPDATE`` over the daily rows of the periods asked for plus the one
before them (so ``LAG`` finds each period's predecessor in the same statement),
joined with the stored rows of those periods so that only new or changed rows
are written, and a ``DELETE`` of stored rows whose samples are gone. No Python
loop over rows. A running period (``period_end >= today``) is stored with
``is_complete = false`` and rewritten by every run until it has ended.

A batch (``capacity_aggregate_all``) is one ``aggregation`` session with one
record per instance; each record computes that instance's databases and its
total in one transaction, so a failure fails that record (nothing half
written) and the other instances go on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from capacity.models import AggregationRequest, PeriodType
from capacity.partitions import partition_errors, partitions_cover, retention_start
from capacity.periods import INTERVAL, TRUNC_UNIT, period_end, period_shift, period_starts
from instances.models import Instance
from sync_sessions.models import SyncCategory, SyncInstanceRecord, SyncSession
from sync_sessions.runner import Unit, batch_start
from sync_sessions.services import RecordOutcome
from whalefall.db.locks import advisory_lock
from whalefall.errors import NotFound, unprocessable

logger = logging.getLogger(__name__)

LEVELS = ("database", "instance")
AGGREGATION_TABLES = ("database_size_aggregations", "instance_size_aggregations")

# {level}: the key columns, the daily source and its size column, and what the level adds.
_LEVEL_SQL = {
    "database": {
        "table": "database_size_aggregations",
        "source": "database_size_stats",
        "keys": "instance_id, database_name",
        "size": "size_bytes",
        "extra_samples": "s.data_bytes, s.log_bytes",
        "extra_aggregates": "round(avg(data_bytes))::bigint AS avg_data_bytes, "
        "round(avg(log_bytes))::bigint AS avg_log_bytes",
        "extra_columns": "avg_data_bytes, avg_log_bytes",
    },
    "instance": {
        "table": "instance_size_aggregations",
        "source": "instance_size_stats",
        "keys": "instance_id",
        "size": "total_size_bytes",
        "extra_samples": "s.database_count",
        # the databases of the period's last sampled day
        "extra_aggregates": "(array_agg(database_count ORDER BY collected_date DESC))[1] AS database_count",
        "extra_columns": "database_count",
    },
}
_VALUE_COLUMNS = (
    "period_end, avg_size_bytes, max_size_bytes, min_size_bytes, {extra_columns}, sample_count, size_change_bytes, "
    "size_change_percent, growth_rate_bytes_per_day, is_complete"
)

_AGGREGATE_SQL = """
WITH samples AS (
    SELECT {keys_s}, s.collected_date, s.{size} AS size, {extra_samples},
           {period_start} AS period_start
    FROM {source} s
    WHERE s.collected_date BETWEEN %(read_from)s AND %(read_to)s{instance_filter_s}
), periods AS (
    SELECT {keys}, period_start,
           round(avg(size))::bigint AS avg_size, max(size) AS max_size, min(size) AS min_size,
           count(*) AS sample_count, regr_slope(size, collected_date - period_start) AS slope,
           {extra_aggregates}
    FROM samples GROUP BY {keys}, period_start
), computed AS (
    SELECT p.*, (p.period_start + %(step)s::interval)::date - 1 AS period_end,
           -- the immediately preceding period only (a gap means no predecessor); an average of 0 has no ratio
           NULLIF(CASE WHEN lag(p.period_start) OVER w = (p.period_start - %(step)s::interval)::date
                       THEN lag(p.avg_size) OVER w END, 0) AS previous_avg
    FROM periods p
    WINDOW w AS (PARTITION BY {keys_p} ORDER BY p.period_start)
), results AS (
    SELECT {keys_c}, c.period_start, c.period_end, c.avg_size AS avg_size_bytes, c.max_size AS max_size_bytes,
           c.min_size AS min_size_bytes, {extra_columns_c}, c.sample_count,
           c.avg_size - c.previous_avg AS size_change_bytes,
           round((c.avg_size - c.previous_avg) * 100.0 / c.previous_avg, 4) AS size_change_percent,
           round(c.slope::numeric, 4) AS growth_rate_bytes_per_day, c.period_end < %(today)s AS is_complete
    FROM computed c
    WHERE c.period_start >= %(first)s
), existing AS (
    SELECT a.* FROM {table} a
    WHERE a.period_type = %(period_type)s AND a.period_start BETWEEN %(first)s AND %(last)s{instance_filter_a}
), diff AS (
    -- computed vs stored, row by row: new, changed, gone (its samples were deleted), or the same (left alone)
    SELECT r.*, e.id AS stored_id, e.period_start AS stored_start,
           CASE WHEN r.period_start IS NULL THEN 'removed' WHEN e.id IS NULL THEN 'created'
                WHEN ({value_columns_e}) IS DISTINCT FROM ({value_columns_r}) THEN 'updated' END AS change
    FROM results r FULL JOIN existing e ON {key_match_re} AND e.period_start = r.period_start
), upserted AS (
    INSERT INTO {table} AS a ({keys}, period_type, period_start, {value_columns}, calculated_at)
    SELECT {keys}, %(period_type)s, period_start, {value_columns}, %(now)s FROM diff
    WHERE change IN ('created', 'updated')
    ON CONFLICT ({keys}, period_type, period_start) DO UPDATE
    SET ({value_columns}, calculated_at) = ({value_columns_excluded}, EXCLUDED.calculated_at)
), removed AS (
    DELETE FROM {table} a USING diff d
    WHERE d.change = 'removed' AND a.id = d.stored_id AND a.period_start = d.stored_start
      AND a.period_start BETWEEN %(first)s AND %(last)s
)
SELECT count(*) FILTER (WHERE change IS DISTINCT FROM 'removed'), count(*) FILTER (WHERE change = 'created'),
       count(*) FILTER (WHERE change = 'updated'), count(*) FILTER (WHERE change = 'removed')
FROM diff
"""


def _statement(level: str, *, filtered: bool, daily: bool) -> str:
    """The statement of one level; with ``filtered`` it is limited to ``%(instance_ids)s``. A day is
    its own period: the daily statement groups by the date itself, which the planner can read in
    the unique index's order (no sort)."""
    parts = _LEVEL_SQL[level]
    keys = parts["keys"].split(", ")
    values = _VALUE_COLUMNS.format(extra_columns=parts["extra_columns"]).split(", ")
    return _AGGREGATE_SQL.format(
        **parts,
        keys_s=", ".join(f"s.{k}" for k in keys),
        keys_p=", ".join(f"p.{k}" for k in keys),
        keys_c=", ".join(f"c.{k}" for k in keys),
        extra_columns_c=", ".join(f"c.{c}" for c in parts["extra_columns"].split(", ")),
        key_match_re=" AND ".join(f"r.{k} = e.{k}" for k in keys),
        value_columns=", ".join(values),
        value_columns_e=", ".join(f"e.{c}" for c in values),
        value_columns_r=", ".join(f"r.{c}" for c in values),
        value_columns_excluded=", ".join(f"EXCLUDED.{c}" for c in values),
        period_start="s.collected_date" if daily else "date_trunc(%(unit)s, s.collected_date::timestamp)::date",
        instance_filter_s=" AND s.instance_id = ANY(%(instance_ids)s)" if filtered else "",
        instance_filter_a=" AND a.instance_id = ANY(%(instance_ids)s)" if filtered else "",
    )


@dataclass(frozen=True)
class PeriodPlan:
    """The periods of one type a run writes (``first`` … ``last`` starts) and the daily
    rows it reads: from the preceding period's start (for ``LAG``) to the last period's end."""

    period_type: str
    first: dt.date
    last: dt.date
    read_from: dt.date
    read_to: dt.date


def aggregation_plan(*, period_types: Sequence[str], start: dt.date, end: dt.date) -> list[PeriodPlan]:
    """The periods each type writes for ``[start, end]``: every period containing a day of
    the range, except periods that begin before the partition retention (they would be
    dropped again). Types with no such period are left out."""
    kept_from = retention_start()
    plans = []
    for period_type in period_types:
        starts = [s for s in period_starts(period_type, start, end) if s >= kept_from]
        if starts:
            first, last = starts[0], starts[-1]
            read_from, read_to = period_shift(period_type, first, -1), period_end(period_type, last)
            plans.append(PeriodPlan(period_type, first, last, read_from, read_to))
    return plans


def aggregation_validate(*, period_types: Sequence[str], start: dt.date, end: dt.date) -> list[str]:
    """Check a request (ValidationError, keys ``period_types``/``date_from``/``date_to``);
    returns the period types in canonical order without duplicates."""
    unknown = sorted(set(period_types) - set(PeriodType.values))
    if unknown or not period_types:
        choices = ", ".join(PeriodType.values)
        raise ValidationError({"period_types": [f"Choose from {choices} (got {unknown or 'none'})."]})
    today, kept_from = timezone.localdate(), retention_start()
    if start > end:
        raise unprocessable("date_from", f"The range starts ({start}) after it ends ({end}).")
    if end > today:
        raise unprocessable("date_to", f"{end} is in the future (today is {today}): there are no sizes yet.")
    if start < kept_from:
        raise unprocessable(
            "date_from", f"{start} is before the retention start {kept_from}: older partitions are dropped."
        )
    return [p for p in PeriodType.values if p in period_types]


class PeriodCounts(NamedTuple):
    """Rows of one period type and level: ``computed`` (all of them, now stored), of which
    ``created`` and ``updated`` (values changed) were written; ``deleted``: rows of those
    periods whose samples are gone."""

    computed: int
    created: int
    updated: int
    deleted: int


@dataclass
class AggregationResult:
    """What one ``capacity_aggregate`` did: ``counts[level][period_type]``."""

    start: dt.date
    end: dt.date
    period_types: list[str]
    counts: dict[str, dict[str, PeriodCounts]] = field(default_factory=dict)

    def total(self, what: str) -> int:
        return sum(getattr(c, what) for by_type in self.counts.values() for c in by_type.values())


def capacity_aggregate(
    *,
    period_types: Sequence[str],
    start: dt.date,
    end: dt.date,
    instance_ids: Sequence[int] | None = None,
    session: SyncSession | None = None,
) -> AggregationResult:
    """Compute and store the roll-ups of every period (of each type) that contains a
    day of ``[start, end]`` (inclusive), at database and instance level, for the
    given instances (default: every instance with samples). Sizes in bytes.

    First creates the aggregation partitions those periods need (a backfill of
    months that never had any); then one durable transaction with one
    statement per period type and level. ``session`` only labels the log line.
    Raises ValidationError for a bad request and PartitionMissing if a write
    still finds no partition. Takes no lock: the batch unit locks per instance.
    """
    period_types = aggregation_validate(period_types=period_types, start=start, end=end)
    plans = aggregation_plan(period_types=period_types, start=start, end=end)
    result = AggregationResult(start=start, end=end, period_types=period_types)
    if not plans:
        return result
    partitions_cover(tables=AGGREGATION_TABLES, start=min(p.first for p in plans), end=max(p.last for p in plans))
    filtered = instance_ids is not None
    params = {"today": timezone.localdate(), "now": timezone.now(), "instance_ids": list(instance_ids or [])}
    with transaction.atomic(durable=True), connection.cursor() as cursor, partition_errors():
        for level in LEVELS:
            for plan in plans:
                sql = _statement(level, filtered=filtered, daily=plan.period_type == PeriodType.DAILY)
                cursor.execute(sql, {
                    **params,
                    "period_type": plan.period_type,
                    "unit": TRUNC_UNIT[plan.period_type],
                    "step": INTERVAL[plan.period_type],
                    "first": plan.first,
                    "last": plan.last,
                    "read_from": plan.read_from,
                    "read_to": plan.read_to,
                })  # fmt: skip
                computed, created, updated, deleted = cursor.fetchone()
                result.counts.setdefault(level, {})[plan.period_type] = PeriodCounts(
                    computed, created, updated, deleted
                )
    logger.info(
        "aggregated %s %s..%s for %s (session %s): %d rows, %d created, %d updated, %d deleted",
        ",".join(period_types), start, end, "all instances" if not filtered else f"instances {list(instance_ids)}",
        session.session_id if session else "-", result.total("computed"), result.total("created"),
        result.total("updated"), result.total("deleted"),
    )  # fmt: skip
    return result


# --- the batch ------------------------------------------------------------------------

# batch_start runs an inline batch's units before it returns, i.e. before the request row
# below can be stored; those units read the request from here (same thread). Units run
# by workers read the stored row.
_inline_request: ContextVar[tuple[list[str], dt.date, dt.date] | None] = ContextVar(
    "capacity_inline_aggregation_request", default=None
)


@contextmanager
def _inline(request: tuple[list[str], dt.date, dt.date]) -> Iterator[None]:
    token = _inline_request.set(request)
    try:
        yield
    finally:
        _inline_request.reset(token)


def _session_request(session: SyncSession) -> tuple[list[str], dt.date, dt.date]:
    inline = _inline_request.get()
    if inline is not None:
        return inline
    stored = AggregationRequest.objects.filter(session=session).first()
    if stored is None:
        raise NotFound(f"Session {session.session_id} has no aggregation request: start it with aggregate_capacity.")
    return list(stored.period_types), stored.start_date, stored.end_date


def capacity_aggregate_instance(*, instance: Instance, session: SyncSession) -> RecordOutcome:
    """The unit of an aggregation batch: ``capacity_aggregate`` for one instance (its
    databases and its total in one transaction) under the advisory lock
    ``capacity.aggregate``/instance id (a concurrent aggregation of the same
    instance raises ConcurrentOperation). An instance without samples in the
    periods is completed with nothing written, and its record says so."""
    period_types, start, end = _session_request(session)
    with advisory_lock("capacity.aggregate", instance.pk, what=f"Capacity aggregation of {instance.name}"):
        result = capacity_aggregate(
            period_types=period_types, start=start, end=end, instance_ids=[instance.pk], session=session
        )
    details: dict = {
        "period_types": result.period_types,
        "date_from": start.isoformat(),
        "date_to": end.isoformat(),
        **{level: {p: c._asdict() for p, c in by_type.items()} for level, by_type in result.counts.items()},
    }
    computed = result.total("computed")
    if not computed:
        details["no_samples"] = True
        details["note"] = "No size samples of this instance in these periods: nothing to aggregate."
    return RecordOutcome(
        synced=computed,
        created=result.total("created"),
        updated=result.total("updated"),
        deleted=result.total("deleted"),
        details=details,
    )


#: no remote calls, so nothing transient to retry
AGGREGATION_UNIT = Unit(capacity_aggregate_instance)


def aggregation_window(*, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The day range of a request: both given, or neither — then yesterday and today, so
    every period containing yesterday or today is computed (a period that ended
    yesterday is finalized by the next morning's run)."""
    if (start is None) != (end is None):
        raise unprocessable("date_from", "Give both ends of the range (from and to), or neither.")
    if start is None:
        today = timezone.localdate()
        return today - dt.timedelta(days=1), today
    return start, end


def capacity_aggregate_all(
    *,
    period_types: Sequence[str] = tuple(PeriodType.values),
    start: dt.date | None = None,
    end: dt.date | None = None,
    instance_ids: Sequence[int] | None = None,
    scheduled: bool = False,
    created_by=None,
    enqueue: bool = False,
    progress: Callable[[SyncInstanceRecord], None] | None = None,
) -> SyncSession:
    """Aggregate the given (default: all active) instances in one ``aggregation`` session.

    ``start``/``end`` (inclusive; default yesterday and today, see
    ``aggregation_window``) pick the periods. The request is validated and the
    partitions created here, once, before any record runs. One record per
    instance via ``sync_sessions.runner.batch_start``: inline by default
    (``progress(record)`` after each), or one django-q2 task per instance.
    """
    start, end = aggregation_window(start=start, end=end)
    period_types = aggregation_validate(period_types=period_types, start=start, end=end)
    plans = aggregation_plan(period_types=period_types, start=start, end=end)
    if plans:
        partitions_cover(tables=AGGREGATION_TABLES, start=min(p.first for p in plans), end=max(p.last for p in plans))
    request = (period_types, start, end)
    batch = {
        "unit": AGGREGATION_UNIT,
        "sync_category": SyncCategory.AGGREGATION,
        "instance_ids": instance_ids,
        "scheduled": scheduled,
        "created_by": created_by,
        "progress": progress,
    }
    if enqueue:
        with transaction.atomic(durable=True):  # the workers start on commit and find the request
            session = batch_start(**batch, enqueue=True)
            _request_store(session, request)
        return session
    with _inline(request):
        session = batch_start(**batch, enqueue=False)
    _request_store(session, request)
    return session


def _request_store(session: SyncSession, request: tuple[list[str], dt.date, dt.date]) -> None:
    period_types, start, end = request
    AggregationRequest.objects.create(session=session, period_types=period_types, start_date=start, end_date=end)

"""Capacity aggregation: the weekly/monthly/quarterly roll-ups of the daily sizes
(seed 003 § 3 with its defects fixed; exact semantics in docs/capacity.md § Aggregation).
Daily values are not aggregated: they are read from the daily sizes themselves
(``capacity.selectors.database_size_daily``).

Per level, **one** statement for every period type asked for (``aggregation_sql``): one
read of the daily rows of the periods, each aggregated once into its week × month segment,
the periods rolled up from the segments (``GROUP BY GROUPING SETS``, one set per type), ``LAG`` over the
computed periods for the change (the period before a type's first one comes from its
stored row), a full join with the stored rows of those periods so that only new or
changed rows reach ``INSERT … ON CONFLICT DO UPDATE … WHERE (…) IS DISTINCT FROM (…)``,
and a ``DELETE`` of stored rows whose samples are gone. A re-run over unchanged data
writes nothing. No Python loop over rows. A running period (``period_end >= today``) is
stored with ``is_complete = false`` and rewritten by every run until it has ended.

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

from capacity.models import AggregationRequest, PeriodType, StoredPeriodType
from capacity.partitions import partition_errors, partitions_cover, retention_start
from capacity.periods import INTERVAL, period_end, period_shift, period_starts
from capacity.services.aggregation_sql import aggregation_statement
from instances.models import Instance
from sync_sessions.models import SyncCategory, SyncInstanceRecord, SyncSession
from sync_sessions.runner import Unit, batch_start
from sync_sessions.services import RecordOutcome
from whalefall.db.locks import advisory_xact_lock
from whalefall.errors import NotFound, unprocessable

logger = logging.getLogger(__name__)

LEVELS = ("database", "instance")
AGGREGATION_TABLES = ("database_size_aggregations", "instance_size_aggregations")
#: the aggregation transaction's own settings: the segments and roll-ups hash in memory; and in a
#: batch (``lock``) its commit does not wait for the disk: the synchronous commit that follows it
#: in the WAL (the record's finish when a worker runs it, the batch's ``records_flush`` inline)
#: makes it durable with the record (a server crash in between loses the rows and the record's
#: finish together: the record is reaped, nothing says "completed" of rows that are gone, and
#: the next run computes them again)
TRANSACTION_SETTINGS = {"work_mem": "64MB"}
BATCH_TRANSACTION_SETTINGS = {**TRANSACTION_SETTINGS, "synchronous_commit": "off"}
#: what ``--period daily`` and the API answer: daily values are read, there is nothing to run
DAILY_IS_READ = (
    "Daily roll-ups are not aggregated: they are read from the daily sizes when asked for "
    "(GET /api/v1/capacity/database-aggregations/?period_type=daily, the capacity pages' Daily tab). "
    "Nothing to run."
)

@dataclass(frozen=True)
class PeriodPlan:
    """The periods of one stored type a run writes: ``first`` … ``last`` starts. It reads
    their daily rows (``first`` … the end of ``last``) and the stored row of the period
    before ``first``."""

    period_type: str
    first: dt.date
    last: dt.date

    @property
    def read_to(self) -> dt.date:
        return period_end(self.period_type, self.last)

    @property
    def previous_start(self) -> dt.date:
        return period_shift(self.period_type, self.first, -1)


def aggregation_plan(*, period_types: Sequence[str], start: dt.date, end: dt.date) -> list[PeriodPlan]:
    """The periods each type writes for ``[start, end]``: every period containing a day of
    the range, except periods that begin before the partition retention (they would be
    dropped again). Types with no such period are left out."""
    kept_from = retention_start()
    plans = []
    for period_type in period_types:
        starts = [s for s in period_starts(period_type, start, end) if s >= kept_from]
        if starts:
            plans.append(PeriodPlan(period_type, starts[0], starts[-1]))
    return plans


def aggregation_validate(*, period_types: Sequence[str], start: dt.date, end: dt.date) -> list[str]:
    """Check a request (ValidationError, keys ``period_types``/``date_from``/``date_to``);
    returns the period types in canonical order without duplicates. ``daily`` is refused
    with ``DAILY_IS_READ``: it is never stored."""
    if PeriodType.DAILY in period_types:
        raise ValidationError({"period_types": [DAILY_IS_READ]})
    unknown = sorted(set(period_types) - set(StoredPeriodType.values))
    if unknown or not period_types:
        choices = ", ".join(StoredPeriodType.values)
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
    return [p for p in StoredPeriodType.values if p in period_types]


class PeriodCounts(NamedTuple):
    """Rows of one period type and level: ``computed`` (all of them, now stored), of which
    ``created`` and ``updated`` (values changed) were written; ``deleted``: rows of those
    periods whose samples are gone. A re-run over unchanged data: 0, 0, 0."""

    computed: int
    created: int
    updated: int
    deleted: int

    @property
    def written(self) -> int:
        return self.created + self.updated + self.deleted


@dataclass
class AggregationResult:
    """What one ``capacity_aggregate`` did: ``counts[level][period_type]``."""

    start: dt.date
    end: dt.date
    period_types: list[str]
    counts: dict[str, dict[str, PeriodCounts]] = field(default_factory=dict)

    def total(self, what: str) -> int:
        return sum(getattr(c, what) for by_type in self.counts.values() for c in by_type.values())


def statement_params(*, plans: Sequence[PeriodPlan], instance_ids: Sequence[int] | None) -> dict:
    """The parameters of ``aggregation_sql.aggregation_statement`` for ``plans``."""
    return {
        "today": timezone.localdate(),
        "now": timezone.now(),
        "instance_ids": list(instance_ids or []),
        "types": [p.period_type for p in plans],
        "steps": [INTERVAL[p.period_type] for p in plans],
        "firsts": [p.first for p in plans],
        "lasts": [p.last for p in plans],
        "read_from": min(p.first for p in plans),
        "read_to": max(p.read_to for p in plans),
        "stored_from": min(p.previous_start for p in plans),
        "stored_to": max(p.last for p in plans),
        **{f"stored_from_{p.period_type}": p.previous_start for p in plans},
        **{f"stored_to_{p.period_type}": p.last for p in plans},
        **{
            param: day
            for p in plans
            if p.period_type == StoredPeriodType.WEEKLY
            for param, day in (("week_from", p.first), ("week_to", p.read_to))
        },
    }


def capacity_aggregate(
    *,
    period_types: Sequence[str],
    start: dt.date,
    end: dt.date,
    instance_ids: Sequence[int] | None = None,
    session: SyncSession | None = None,
    partitions_ready: bool = False,
    lock: Instance | None = None,
) -> AggregationResult:
    """Compute and store the roll-ups of every period (of each stored type) that contains
    a day of ``[start, end]`` (inclusive), at database and instance level, for the
    given instances (default: every instance with samples). Sizes in bytes.

    First creates the aggregation partitions those periods need (a backfill of
    months that never had any; skipped with ``partitions_ready``, when the batch
    did it once for every instance); then one durable transaction with one
    statement per level. ``session`` only labels the log line.
    Raises ValidationError for a bad request (``daily`` included: it is read,
    never stored) and PartitionMissing if a write still finds no partition.
    With ``lock`` (the batch unit, ``instance_ids`` = that instance) the transaction first
    takes the advisory lock ``capacity.aggregate``/instance id, held until it ends (a
    concurrent aggregation of the instance raises ConcurrentOperation), in the same
    statement as its ``work_mem`` setting; otherwise it takes no lock.
    """
    period_types = aggregation_validate(period_types=period_types, start=start, end=end)
    plans = aggregation_plan(period_types=period_types, start=start, end=end)
    result = AggregationResult(start=start, end=end, period_types=period_types)
    if not plans:
        return result
    if not partitions_ready:
        partitions_cover(tables=AGGREGATION_TABLES, start=min(p.first for p in plans), end=max(p.last for p in plans))
    filtered = instance_ids is not None
    params = statement_params(plans=plans, instance_ids=instance_ids)
    with transaction.atomic(durable=True), connection.cursor() as cursor, partition_errors():
        if lock is not None:
            advisory_xact_lock("capacity.aggregate", lock.pk, what=f"Capacity aggregation of {lock.name}",
                               local_settings=BATCH_TRANSACTION_SETTINGS)  # fmt: skip
        else:
            cursor.execute("SET LOCAL work_mem = %s", [TRANSACTION_SETTINGS["work_mem"]])
        for level in LEVELS:
            cursor.execute(aggregation_statement(level, period_types=params["types"], filtered=filtered), params)
            by_type = {row[0]: row[1:] for row in cursor.fetchall()}
            result.counts[level] = {
                plan.period_type: PeriodCounts(computed, created, written - created, deleted)
                for plan in plans
                for computed, created, written, deleted in [by_type[plan.period_type]]
            }
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
    # a request stored before daily values were read from the daily sizes may still name daily
    return [p for p in stored.period_types if p != PeriodType.DAILY], stored.start_date, stored.end_date


def capacity_aggregate_instance(*, instance: Instance, session: SyncSession) -> RecordOutcome:
    """The unit of an aggregation batch: ``capacity_aggregate`` for one instance (its
    databases and its total in one transaction) under the advisory lock
    ``capacity.aggregate``/instance id, taken by that transaction (a concurrent
    aggregation of the same instance raises ConcurrentOperation). An instance without samples in the
    periods is completed with nothing written, and its record says so. ``sync_details``
    has ``rows_written`` (created + updated + deleted: 0 for a re-run over unchanged data)
    and the counts per level and period type."""
    period_types, start, end = _session_request(session)
    if not period_types:
        return RecordOutcome(details={"period_types": [], "note": DAILY_IS_READ})
    result = capacity_aggregate(
        period_types=period_types, start=start, end=end, instance_ids=[instance.pk], session=session,
        partitions_ready=True,  # capacity_aggregate_all created them before any record ran
        lock=instance,
    )  # fmt: skip
    details: dict = {
        "period_types": result.period_types,
        "date_from": start.isoformat(),
        "date_to": end.isoformat(),
        "rows_written": result.total("written"),
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
    period_types: Sequence[str] = tuple(StoredPeriodType.values),
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

"""``GET /metrics``: WhaleFall's state in the Prometheus text format (``prometheus_client``).

Everything is read from the metadata database at scrape time by a fixed number of set-based
queries (nine, whatever the number of instances and databases): nothing is kept in process
memory, so every web worker answers the same. Database growth is the forecast line each
collection stores with the sizes (``capacity/trends.py``), so no history is read per scrape;
instance growth is fitted from the daily totals of the forecast window in one query.

Label cardinality is bounded (docs/metrics.md): per instance, the
``WHALEFALL_METRICS_TOP_DATABASES`` largest databases (default 10) are exported one by one and
the others summed into ``database="__other__"``; growth and the forecast's time until the limit
(whole days, in seconds as Prometheus wants) are exported for those databases and for every
instance.

Labels avoid Prometheus' own target labels ``instance`` and ``job``: a monitored server is
``db_instance``, a kind of run is ``category`` (the session category: account, capacity, …).

Access: a client address in ``WHALEFALL_METRICS_ALLOW`` (CIDRs, default loopback only) or
``Authorization: Bearer <WHALEFALL_METRICS_TOKEN>``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
from collections.abc import Iterator

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from capacity.forecast import DEFAULT_WINDOW_DAYS, MIN_SAMPLES, days_until
from capacity.trends import instance_growth_fits
from sync_sessions.models import RecordStatus

OTHER_DATABASES = "__other__"

# Instances that are not deleted (soft-deleted ones are gone from every metric).
_INSTANCES = """
SELECT i.id, i.name, i.db_type, i.environment, i.is_active, i.suspended_at IS NOT NULL, i.size_limit_bytes
FROM instances i WHERE i.deleted_at IS NULL ORDER BY i.id
"""

# Latest size of each database: the top N per instance by size, the rest summed (database NULL),
# with the forecast line the collection stored for each of the top N (capacity/trends.py).
_DATABASE_SIZES = """
SELECT r.instance_id, CASE WHEN r.rank <= %(top)s THEN r.database_name END AS database_name,
       sum(r.size_bytes)::bigint, count(*),
       CASE WHEN r.rank <= %(top)s THEN max(r.growth_bytes_per_day) END,
       CASE WHEN r.rank <= %(top)s THEN max(r.forecast_line_bytes) END
FROM (
    SELECT c.instance_id, c.database_name, c.size_bytes, c.growth_bytes_per_day, c.forecast_line_bytes,
           row_number() OVER (PARTITION BY c.instance_id ORDER BY c.size_bytes DESC, c.database_name) AS rank
    FROM database_size_current c JOIN instances i ON i.id = c.instance_id AND i.deleted_at IS NULL
) r
GROUP BY 1, 2, r.rank <= %(top)s
"""

_DATABASE_LIMITS = """
SELECT d.instance_id, d.name, d.size_limit_bytes FROM instance_databases d
WHERE d.size_limit_bytes IS NOT NULL AND d.deleted_at IS NULL
"""

# Per category and instance: the status and time of the latest finished record, and the time of
# the latest successful (completed or partial) one.
_LAST_RUNS = """
SELECT r.sync_category, r.instance_id, (array_agg(r.status ORDER BY r.completed_at DESC))[1], max(r.completed_at),
       max(r.completed_at) FILTER (WHERE r.status IN ('completed', 'partial'))
FROM sync_instance_records r
WHERE r.completed_at IS NOT NULL AND r.status IN ('completed', 'partial', 'failed')
GROUP BY 1, 2
"""

_RECENT_RECORDS = """
SELECT r.sync_category, r.status, count(*) FROM sync_instance_records r
WHERE r.completed_at >= %(since)s OR r.status IN ('queued', 'running')
GROUP BY 1, 2
"""

_ACCOUNTS = """
SELECT a.instance_id, count(*), count(*) FILTER (WHERE p.is_superuser), count(*) FILTER (WHERE p.can_grant)
FROM instance_accounts a LEFT JOIN account_permissions p ON p.instance_account_id = a.id
WHERE a.is_active GROUP BY 1
"""

_CLASSIFIED = """
SELECT a.instance_id, c.code, c.risk_level, count(*)
FROM account_classification_assignments x
JOIN instance_accounts a ON a.id = x.account_id AND a.is_active
JOIN account_classifications c ON c.id = x.classification_id
GROUP BY 1, 2, 3
"""


def _rows(sql: str, params: dict | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.fetchall()


def _epoch(value: dt.datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


class WhalefallCollector:
    """A ``prometheus_client`` collector reading the metadata database on every ``collect``."""

    def __init__(self, *, top_databases: int, today: dt.date | None = None, now: dt.datetime | None = None):
        self.top = top_databases
        self.now = now or timezone.now()
        self.today = today or timezone.localdate(self.now)

    def collect(self) -> Iterator[Metric]:
        instances = {row[0]: row for row in _rows(_INSTANCES)}
        names = {iid: row[1] for iid, row in instances.items()}
        yield from self._instances(instances)
        yield from self._sizes(instances)
        yield from self._runs(names)
        yield from self._accounts(names)

    def _instances(self, instances: dict) -> Iterator[Metric]:
        info = GaugeMetricFamily("whalefall_instance_info", "A monitored instance (always 1).",
                                 labels=["db_instance", "db_type", "environment"])  # fmt: skip
        active = GaugeMetricFamily("whalefall_instance_active", "1 when the instance is active (scheduled runs "
                                   "contact it), 0 when deactivated.", labels=["db_instance"])  # fmt: skip
        suspended = GaugeMetricFamily("whalefall_instance_suspended", "1 when the circuit breaker suspended the "
                                      "instance's scheduled runs.", labels=["db_instance"])  # fmt: skip
        for _iid, name, db_type, environment, is_active, is_suspended, _limit in instances.values():
            info.add_metric([name, db_type, environment], 1)
            active.add_metric([name], int(is_active))
            suspended.add_metric([name], int(is_suspended))
        yield from (info, active, suspended)

    def _sizes(self, instances: dict) -> Iterator[Metric]:
        """Sizes, and the forecast line the collection stored: growth and time until the limit."""
        top = self.top
        size = GaugeMetricFamily(
            "whalefall_database_size_bytes",
            f"Latest collected size of a database; per instance the {top} largest, the others summed "
            f'into database="{OTHER_DATABASES}".',
            labels=["db_instance", "database"],
        )
        other = GaugeMetricFamily("whalefall_database_others", "How many databases the "
                                  f'database="{OTHER_DATABASES}" series sums.', labels=["db_instance"])  # fmt: skip
        total = GaugeMetricFamily("whalefall_instance_size_bytes", "Sum of the latest sizes of the instance's "
                                  "databases.", labels=["db_instance"])  # fmt: skip
        levels = (("database", ["db_instance", "database"]), ("instance", ["db_instance"]))
        growth = {level: GaugeMetricFamily(
            f"whalefall_{level}_growth_bytes_per_day", f"The {level}'s forecast slope: least squares over the "
            f"last {DEFAULT_WINDOW_DAYS} days after the last step change (at least {MIN_SAMPLES} samples), as on "
            "the console's capacity pages.", labels=labels) for level, labels in levels}  # fmt: skip
        until = {level: GaugeMetricFamily(
            f"whalefall_{level}_time_until_limit_seconds", f"Time until the {level}'s forecast line reaches its "
            "size limit, in whole days × 86400 (0: reached); only with a limit and a growing line.", labels=labels)
            for level, labels in levels}  # fmt: skip
        limits = {(iid, name): limit for iid, name, limit in _rows(_DATABASE_LIMITS)}
        totals: dict[int, int] = {}
        for iid, database, size_bytes, count, slope, line in _rows(_DATABASE_SIZES, {"top": top}):
            instance = instances.get(iid)
            if instance is None:
                continue
            name = instance[1]
            totals[iid] = totals.get(iid, 0) + size_bytes
            if database is None:
                size.add_metric([name, OTHER_DATABASES], size_bytes)
                other.add_metric([name], count)
                continue
            size.add_metric([name, database], size_bytes)
            if slope is not None:
                self._trend(growth["database"], until["database"], [name, database], slope=slope, line=line,
                            last=size_bytes, limit=limits.get((iid, database)))  # fmt: skip
        for iid, size_bytes in totals.items():
            total.add_metric([instances[iid][1]], size_bytes)
        for iid, fit in instance_growth_fits(today=self.today).items():
            instance = instances.get(iid)
            if instance is not None and fit.bytes_per_day is not None:
                self._trend(growth["instance"], until["instance"], [instance[1]], slope=fit.bytes_per_day,
                            line=fit.line_bytes, last=fit.last_bytes, limit=instance[6])  # fmt: skip
        yield from (size, other, total, growth["database"], until["database"], growth["instance"], until["instance"])

    @staticmethod
    def _trend(growth, until, labels, *, slope: float, line: float, last: int, limit: int | None) -> None:
        growth.add_metric(labels, round(slope, 2))
        days = days_until(limit_bytes=limit, last_bytes=last, slope=slope, line_bytes=line)
        if days is not None:
            until.add_metric(labels, days * 86400)

    def _runs(self, names: dict[int, str]) -> Iterator[Metric]:
        labels = ["category", "db_instance"]
        success = GaugeMetricFamily("whalefall_last_success_timestamp_seconds", "When the latest completed or "
                                    "partial run of this category finished on the instance (Unix time; age = "
                                    "time() - value).", labels=labels)  # fmt: skip
        finished = GaugeMetricFamily("whalefall_last_run_timestamp_seconds", "When the latest run of this "
                                     "category finished on the instance, whatever its outcome.",
                                     labels=labels)  # fmt: skip
        failed = GaugeMetricFamily("whalefall_last_run_failed", "1 when the latest run of this category failed "
                                   "on the instance.", labels=labels)  # fmt: skip
        partial = GaugeMetricFamily("whalefall_last_run_partial", "1 when the latest run of this category "
                                    "finished but could not read everything (partial).", labels=labels)  # fmt: skip
        for category, iid, status, finished_at, success_at in _rows(_LAST_RUNS):
            name = names.get(iid)
            if name is None:
                continue
            finished.add_metric([category, name], _epoch(finished_at))
            failed.add_metric([category, name], int(status == RecordStatus.FAILED))
            partial.add_metric([category, name], int(status == RecordStatus.PARTIAL))
            if success_at is not None:
                success.add_metric([category, name], _epoch(success_at))
        records = GaugeMetricFamily("whalefall_records", "Instance records by category and status: finished in "
                                    "the last 24 hours, or unfinished (queued, running).",
                                    labels=["category", "status"])  # fmt: skip
        queued = 0
        for category, status, count in _rows(_RECENT_RECORDS, {"since": self.now - dt.timedelta(hours=24)}):
            records.add_metric([category, status], count)
            queued += count if status == RecordStatus.QUEUED else 0
        depth = GaugeMetricFamily("whalefall_queued_records", "Instance records waiting for a worker (queued).")
        depth.add_metric([], queued)
        yield from (success, finished, failed, partial, records, depth, self._broker_queue())

    def _broker_queue(self) -> Metric:
        from django_q.brokers import get_broker

        family = GaugeMetricFamily("whalefall_task_queue_depth", "Tasks waiting in the django-q2 broker (ORM or "
                                   "Redis) for a qcluster worker.")  # fmt: skip
        family.add_metric([], get_broker().queue_size())
        return family

    def _accounts(self, names: dict[int, str]) -> Iterator[Metric]:
        labels = ["db_instance"]
        accounts = GaugeMetricFamily("whalefall_accounts", "Active accounts on the instance.", labels=labels)
        superusers = GaugeMetricFamily("whalefall_superuser_accounts", "Active accounts that are superusers.",
                                       labels=labels)  # fmt: skip
        grantors = GaugeMetricFamily("whalefall_can_grant_accounts", "Active accounts that can grant privileges.",
                                     labels=labels)  # fmt: skip
        for iid, count, superuser_count, grant_count in _rows(_ACCOUNTS):
            if iid in names:
                accounts.add_metric([names[iid]], count)
                superusers.add_metric([names[iid]], superuser_count)
                grantors.add_metric([names[iid]], grant_count)
        classified = GaugeMetricFamily("whalefall_classified_accounts", "Active accounts per classification "
                                       "(current assignments) and its risk level.",
                                       labels=["db_instance", "classification", "risk_level"])  # fmt: skip
        for iid, code, risk_level, count in _rows(_CLASSIFIED):
            if iid in names:
                classified.add_metric([names[iid], code, risk_level], count)
        yield from (accounts, superusers, grantors, classified)


def metrics_text(*, top_databases: int | None = None, now: dt.datetime | None = None) -> bytes:
    """The exposition text of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    top = settings.WHALEFALL["METRICS_TOP_DATABASES"] if top_databases is None else top_databases
    registry.register(WhalefallCollector(top_databases=top, now=now))
    return generate_latest(registry)


def _allowed(request: HttpRequest) -> bool:
    token = settings.WHALEFALL["METRICS_TOKEN"]
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.WHALEFALL["METRICS_ALLOW"])


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The scrape endpoint (no session or CSRF: Prometheus sends a bearer token or scrapes from an
    allowed address)."""
    if not _allowed(request):
        response = HttpResponse("Forbidden: scrape from an address in WHALEFALL_METRICS_ALLOW or send "
                                "Authorization: Bearer <WHALEFALL_METRICS_TOKEN>.\n", status=403,
                                content_type="text/plain")  # fmt: skip
        if settings.WHALEFALL["METRICS_TOKEN"]:
            response["WWW-Authenticate"] = "Bearer"
        return response
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)

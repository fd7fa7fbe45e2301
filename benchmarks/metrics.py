"""Benchmark: one scrape of GET /metrics with 1,000 instances × 100 databases (target: < 1 s).

    .venv/bin/python benchmarks/metrics.py [--instances 1000] [--databases 100]

Seeds, server-side: per instance 100 databases with 30 days of daily sizes (3 M rows at the
default), their instance totals and current sizes with the forecast lines each instance's collection
stores (the collection's own fit, capacity/trends.py, run per instance), 50 accounts (one superuser) with
classifications, and 30 days of account and capacity records. Then times the full request
(Django test client: URL routing, the collector's queries, the text rendering) against an
independent baseline: the bare reads a minimal exporter would do with the same driver connection
(current sizes per database, latest record per category and instance, accounts per instance),
fetched without any processing. Metadata DB: a throwaway embedded PostgreSQL
(whalefall.settings_test) unless DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whalefall.settings_test")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmarks.support import history_partitions_create  # noqa: E402
from capacity.trends import INSTANCE_DATABASE_FITS, fit_params  # noqa: E402

RUNS = 15

SEED_SQL = """
INSERT INTO credentials (name, username, password_encrypted, created_at, updated_at)
VALUES ('bench-metrics', 'monitor', 'x', now(), now());
INSERT INTO instances (name, db_type, host, port, database_name, credential_id, environment, is_active, description,
                       consecutive_failures, created_at, updated_at, version)
SELECT 'bench-' || i, 'postgresql', 'h' || i, 5432, '', (SELECT id FROM credentials WHERE name = 'bench-metrics'),
       'production', true, '', 0, now(), now(), ''
FROM generate_series(1, %(instances)s) i;
INSERT INTO database_size_stats (instance_id, database_name, size_bytes, collected_date, collected_at)
SELECT i.id, 'db' || n, n * 1000000 + (d::date - %(start)s::date) * n * 1000, d::date, now()
FROM instances i, generate_series(1, %(databases)s) n, generate_series(%(start)s::date, %(today)s::date, '1 day') d
WHERE i.name LIKE 'bench-%%';
INSERT INTO instance_size_stats (instance_id, total_size_bytes, database_count, collected_date, collected_at)
SELECT instance_id, sum(size_bytes), count(*), collected_date, now() FROM database_size_stats GROUP BY 1, 4;
INSERT INTO database_size_current (instance_id, database_name, size_bytes, collected_at, complete)
SELECT instance_id, database_name, size_bytes, now(), true FROM database_size_stats WHERE collected_date = %(today)s;
INSERT INTO instance_accounts (instance_id, username, host, is_active, first_seen_at, last_seen_at)
SELECT i.id, 'user' || n, '', true, now(), now()
FROM instances i, generate_series(1, 50) n WHERE i.name LIKE 'bench-%%';
INSERT INTO account_permissions (instance_account_id, snapshot, facts, is_superuser, can_grant, is_locked, roles,
                                 state_hash, updated_at)
SELECT a.id, '{}', '{}', a.username = 'user1', a.username = 'user1', false, '{}', '', now() FROM instance_accounts a;
INSERT INTO account_classification_assignments (account_id, classification_id, source, assigned_at, why)
SELECT a.id, c.id, 'auto', now(), '[]' FROM instance_accounts a, account_classifications c
WHERE a.username = 'user1' AND c.code = 'superuser';
INSERT INTO sync_sessions (sync_type, sync_category, status, started_at, completed_at, total_instances,
                           successful_instances, created_at, updated_at)
SELECT 'scheduled', c, 'completed', d, d, %(instances)s, %(instances)s, d, d
FROM unnest(ARRAY['account', 'capacity']) c, generate_series(%(start)s::date, %(today)s::date, '1 day') d;
INSERT INTO sync_instance_records (session_id, instance_id, instance_name, sync_category, status, started_at,
                                   completed_at, created_at)
SELECT s.session_id, i.id, i.name, s.sync_category, 'completed', s.started_at, s.completed_at, s.started_at
FROM sync_sessions s, instances i WHERE i.name LIKE 'bench-%%';
ANALYZE;
"""

FITS_UPDATE = f"""
UPDATE database_size_current c SET forecast_samples = f.samples, growth_bytes_per_day = f.slope,
       forecast_line_bytes = f.line
FROM ({INSTANCE_DATABASE_FITS}) f WHERE c.instance_id = %(iid)s AND c.database_name = f.key
"""

BASELINE = (
    "SELECT instance_id, database_name, size_bytes FROM database_size_current",
    "SELECT DISTINCT ON (sync_category, instance_id) sync_category, instance_id, status, completed_at "
    "FROM sync_instance_records ORDER BY sync_category, instance_id, completed_at DESC",
    "SELECT instance_id, count(*) FROM instance_accounts WHERE is_active GROUP BY 1",
)


def timed(fn) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--databases", type=int, default=100)
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    start = today - dt.timedelta(days=29)
    history_partitions_create(start, today)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(SEED_SQL, {"instances": args.instances, "databases": args.databases, "start": start,
                                  "today": today})  # fmt: skip
        # what each instance's collection stores with today's sizes: its databases' forecast lines
        # (the collection's own fit, capacity/trends.py, per instance)
        cursor.execute("SELECT id FROM instances WHERE name LIKE 'bench-%%'")
        for (iid,) in cursor.fetchall():
            cursor.execute(FITS_UPDATE, {**fit_params(today=today), "iid": iid})
        cursor.execute("SELECT count(*) FROM database_size_stats")
        stats_rows = cursor.fetchone()[0]
    print(f"seeded {args.instances} instances × {args.databases} databases, {stats_rows:,} daily sizes "
          f"in {time.perf_counter() - began:.0f} s")  # fmt: skip
    settings.WHALEFALL = {**settings.WHALEFALL, "METRICS_TOKEN": "bench", "METRICS_ALLOW": []}
    client = Client()

    def scrape() -> None:
        response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer bench")
        assert response.status_code == 200, response.status_code
        scrape.size = len(response.content)

    def baseline() -> None:
        with connection.cursor() as cursor:
            for sql in BASELINE:
                cursor.execute(sql)
                cursor.fetchall()

    scrape()  # warm the caches of both the same way
    baseline()
    scrape_s, baseline_s = timed(scrape), timed(baseline)
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer bench").content.decode()
    series = sum(1 for line in response.splitlines() if line and not line.startswith("#"))
    print(f"settings: metadata DB {connection.settings_dict['NAME']} on {connection.settings_dict['HOST']} "
          f"(embedded PostgreSQL 18 unless DATABASE_URL), DEBUG={settings.DEBUG}, "
          "test client (no HTTP server)")  # fmt: skip
    print(f"GET /metrics: median {scrape_s * 1000:.0f} ms over {RUNS} scrapes, {series:,} series, "
          f"{scrape.size / 1024:.0f} KiB (target < 1000 ms)")  # fmt: skip
    print(f"bare reads (baseline): median {baseline_s * 1000:.0f} ms → ratio {scrape_s / baseline_s:.2f}×")
    spent: list[tuple[float, str]] = []

    def timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append((time.perf_counter() - started, " ".join(sql.split())[:90]))

    with connection.execute_wrapper(timer):
        scrape()
    for seconds, sql in spent:
        print(f"  {seconds * 1000:7.0f} ms  {sql}")


if __name__ == "__main__":
    main()

"""Benchmark: the admin pages over 10 M rows of ``database_size_stats`` (target: each under 1 s).

    .venv/bin/python benchmarks/large_tables.py [--rows-millions 10]

Seeds 200 instances × 100 databases × 500 days (10 M daily database sizes in ~17 monthly
partitions, with their 100,000 instance totals and the latest sizes), ANALYZEs, then times
with Django's test client (a logged-in superuser, the whole request: URL routing, middleware,
queries, template rendering):

- the daily-sizes changelist as it opens (last 7 days, the planner's row estimate, no COUNT(*)
  over history), filtered to one instance, and with "All" (every partition);
- the instance capacity page (90 and 730 days of trend, forecast, current sizes).

Each page is compared, in the same run, with an independent baseline: the bare SQL a minimal
script would send for the same content through psycopg (rows + count for a changelist page, the
trend and current sizes for the capacity page), so the ratio is what the console adds.
Metadata DB: a throwaway embedded PostgreSQL 18 with pgserver's defaults (whalefall.settings_test;
shared_buffers 128 MB, where production would give it more) unless DATABASE_URL is set.
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
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmarks.support import history_partitions_create  # noqa: E402
from instances.models import Instance  # noqa: E402

INSTANCES, DAYS, RUNS = 200, 500, 7

SEED_SQL = """
INSERT INTO database_size_stats (instance_id, database_name, size_bytes, collected_date, collected_at)
SELECT i.id, 'db' || n, n * 1000000 + (d::date - %(s)s::date) * (1000 + i.id), d::date, d + interval '3 hours'
FROM instances i, generate_series(1, %(dbs)s) n, generate_series(%(s)s::date, %(e)s::date, '1 day') d
WHERE i.name LIKE 'bench-large-%%';
INSERT INTO instance_size_stats (instance_id, total_size_bytes, database_count, collected_date, collected_at)
SELECT instance_id, sum(size_bytes), count(*), collected_date, max(collected_at) FROM database_size_stats
GROUP BY instance_id, collected_date;
INSERT INTO database_size_current (instance_id, database_name, size_bytes, collected_at)
SELECT instance_id, database_name, size_bytes, collected_at FROM database_size_stats WHERE collected_date = %(e)s;
"""


def seed(databases: int) -> list[int]:
    today = timezone.localdate()
    start = today - dt.timedelta(days=DAYS - 1)
    ids = list(
        Instance.objects.bulk_create(
            [Instance(name=f"bench-large-{n:03d}", db_type_id="postgresql", host="h", port=5432, is_active=False)
             for n in range(INSTANCES)]  # fmt: skip
        )
    )
    history_partitions_create(start, today)
    with connection.cursor() as cursor:
        cursor.execute(SEED_SQL, {"s": start, "e": today, "dbs": databases})
        cursor.execute("ANALYZE database_size_stats; ANALYZE instance_size_stats; ANALYZE database_size_current")
        cursor.execute("SELECT count(*) FROM database_size_stats")
        print(f"database_size_stats: {cursor.fetchone()[0]:,} rows")
    return [inst.pk for inst in ids]


def median_ms(call) -> float:
    call()  # warm-up
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def page(client: Client, url: str):
    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert b"?e=1" not in response.content, url  # the admin refused a lookup

    return get


def bare(*statements: tuple[str, list]):
    def run():
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows-millions", type=float, default=10.0, help="rows of database_size_stats (millions)")
    args = parser.parse_args()
    databases = max(1, round(args.rows_millions * 1_000_000 / (INSTANCES * DAYS)))
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    ids = seed(databases)
    seconds = time.perf_counter() - started
    print(f"seeded {INSTANCES} instances × {databases} databases × {DAYS} days in {seconds:.0f} s")
    user = get_user_model().objects.create_superuser("bench-large", "bench@example.com", "bench-pass")
    client = Client()
    client.force_login(user)
    today = timezone.localdate()
    week = today - dt.timedelta(days=6)
    one = ids[len(ids) // 2]
    list_sql = (
        "SELECT s.*, i.name FROM database_size_stats s JOIN instances i ON i.id = s.instance_id "
        "WHERE s.collected_date >= %s {extra} ORDER BY s.collected_date DESC, s.instance_id LIMIT 100"
    )
    cases = [
        (
            "changelist, as it opens (last 7 days)",
            page(client, "/admin/capacity/databasesizestat/"),
            bare((list_sql.format(extra=""), [week]),
                 ("SELECT count(*) FROM database_size_stats WHERE collected_date >= %s", [week])),
        ),
        (
            "changelist, one instance (last 7 days)",
            page(client, f"/admin/capacity/databasesizestat/?instance__id__exact={one}"),
            bare((list_sql.format(extra="AND s.instance_id = %s"), [week, one]),
                 ("SELECT count(*) FROM database_size_stats WHERE collected_date >= %s AND instance_id = %s",
                  [week, one])),
        ),
        (
            "changelist, All (every partition, estimated count)",
            page(client, "/admin/capacity/databasesizestat/?collected_date__recent=all"),
            bare((list_sql.format(extra=""), [dt.date(1, 1, 1)]),
                 ("SELECT reltuples FROM pg_class WHERE relname LIKE 'database_size_stats_%%'", [])),
        ),
    ]
    for days in (90, 730):
        since = today - dt.timedelta(days=days - 1)
        cases.append(
            (
                f"instance capacity page, {days} days",
                page(client, f"/admin/capacity/databasesizecurrent/instance/{one}/?days={days}"),
                bare(("SELECT collected_date, total_size_bytes FROM instance_size_stats "
                      "WHERE instance_id = %s AND collected_date >= %s ORDER BY collected_date", [one, since]),
                     ("SELECT database_name, size_bytes FROM database_size_current WHERE instance_id = %s "
                      "ORDER BY size_bytes DESC", [one])),
            )
        )  # fmt: skip
    print(f"{'page':52} {'console':>10} {'bare SQL':>10} {'ratio':>7}")
    worst = 0.0
    for label, console, baseline in cases:
        console_ms, baseline_ms = median_ms(console), median_ms(baseline)
        worst = max(worst, console_ms)
        print(f"{label:52} {console_ms:8.0f} ms {baseline_ms:8.1f} ms {console_ms / baseline_ms:6.1f}×")
    print(f"slowest page: {worst:.0f} ms (target < 1000)")


if __name__ == "__main__":
    main()

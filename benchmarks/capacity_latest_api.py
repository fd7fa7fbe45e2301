"""Benchmark: "latest sizes" API time with 30 vs 730 days of history (target: ratio ≤ 1.2, flat),
plus the admin instance capacity page with 2 years × 500 databases (target: well under 1 s).

    .venv/bin/python benchmarks/capacity_latest_api.py

Two instances with 500 databases each: one with 30 days of daily history, one
with 730 days (365,000 rows). ``GET /api/v1/instances/<id>/databases`` reads
``database_size_current`` only, so its time must not grow with history.
Requests are interleaved; the ratio of medians is the headline. Metadata DB:
a throwaway embedded PostgreSQL (whalefall.settings_test) unless DATABASE_URL is set.
"""

from __future__ import annotations

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
from rest_framework.test import APIClient  # noqa: E402

from benchmarks.support import history_partitions_create  # noqa: E402
from instances.models import Instance  # noqa: E402

DATABASES, RUNS = 500, 30

SEED_SQL = """
INSERT INTO database_size_stats (instance_id, database_name, size_bytes, collected_date, collected_at)
SELECT %(i)s, 'db' || n, n * 1000000 + (d::date - %(s)s::date) * 1000, d::date, now()
FROM generate_series(1, %(dbs)s) n, generate_series(%(s)s::date, %(e)s::date, '1 day') d;
INSERT INTO instance_size_stats (instance_id, total_size_bytes, database_count, collected_date, collected_at)
SELECT %(i)s, sum(size_bytes), count(*), collected_date, now() FROM database_size_stats
WHERE instance_id = %(i)s AND collected_date BETWEEN %(s)s AND %(e)s GROUP BY collected_date;
INSERT INTO database_size_current (instance_id, database_name, size_bytes, collected_at)
SELECT %(i)s, database_name, size_bytes, now() FROM database_size_stats
WHERE instance_id = %(i)s AND collected_date = %(e)s;
"""


def seed(name: str, days: int) -> Instance:
    Instance.objects.filter(name=name).delete()
    inst = Instance.objects.create(name=name, db_type_id="postgresql", host="h", port=5432)
    today = timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    history_partitions_create(start, today)
    with connection.cursor() as cursor:
        cursor.execute(SEED_SQL, {"i": inst.pk, "s": start, "e": today, "dbs": DATABASES})
    return inst


def median_ms(client, url: str) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return statistics.median(samples) * 1000


def main() -> None:
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    short, long = seed("bench-30d", 30), seed("bench-730d", 730)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE database_size_stats; ANALYZE instance_size_stats; ANALYZE database_size_current")
    print(f"seeded {DATABASES} databases × (30 + 730) days in {time.perf_counter() - started:.1f}s")
    user = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
        "bench", "bench@example.com", "bench-pass"
    )
    api = APIClient()
    api.force_authenticate(user)
    urls = {inst: f"/api/v1/instances/{inst.pk}/databases?page_size=500" for inst in (short, long)}
    for url in urls.values():
        median_ms(api, url)  # warm-up
    results = {short: [], long: []}
    for _ in range(3):  # interleave
        for inst, url in urls.items():
            results[inst].append(median_ms(api, url))
    t30, t730 = min(results[short]), min(results[long])
    print(f"latest sizes API ({DATABASES} rows/page): 30 days {t30:.1f} ms, 730 days {t730:.1f} ms")
    print(f"ratio 730d/30d = {t730 / t30:.2f} (target <= 1.2)")

    admin = Client()
    admin.force_login(user)
    page = f"/admin/capacity/databasesizecurrent/instance/{long.pk}/?days=730"
    page_ms = median_ms(admin, page)
    print(f"admin capacity page, 730 days × {DATABASES} databases: median {page_ms:.0f} ms (target well under 1000)")


if __name__ == "__main__":
    main()

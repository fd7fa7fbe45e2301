"""Benchmark: capacity aggregation of one year × 5,000 databases (1.8 M daily rows): the stored
weekly, monthly and quarterly roll-ups at both levels against an independent bare ``SELECT …
GROUP BY`` of the same periods over the same rows (targets: full backfill ≤ 1.5×, an unchanged
re-run ≤ 1.2× writing 0 rows, the nightly run ≤ 0.1×); the daily roll-ups API (read from the
daily sizes) and the instance summary API with 730 vs 30 days of history (target ≤ 1.2×); and
the forecast computed in Python over one query vs in SQL (regr_* aggregates).

    .venv/bin/python benchmarks/capacity_aggregate.py [--instances 50] [--databases 100] [--runs 3]

Aggregation is timed the way a user runs it: ``manage.py aggregate_capacity --from <a year
ago> --to <today>`` (inline: one session, one record and one committed transaction per
instance), on empty aggregation tables ("full backfill": every row inserted) and again over
the stored rows ("unchanged re-run": every row recomputed, none written — asserted from the
session's records), then ``manage.py aggregate_capacity`` without a range (the 04:00 nightly
run). The baseline is what a minimal script would do instead: for each stored period type and
level one ``SELECT key, date_trunc(…), round(avg), max, min, count(*) … GROUP BY`` over the same
year, its rows fetched by psycopg — no slope, no change, no write, no session (PostgreSQL runs
each with 2 parallel workers; the same without them is shown too). Beside it, two
floors: the write floor (the same groups inserted server-side into the empty aggregation
tables in one transaction: what storing them costs at least) and the batch floor (the same
batch of per-instance records over a week without samples: what 50 sessions records cost
whatever they compute). Runs are interleaved; each figure is the median of ``--runs``.
Metadata DB: a throwaway embedded PostgreSQL (whalefall.settings_test) unless DATABASE_URL is
set; its settings are PostgreSQL's defaults (work_mem 4 MB, shared_buffers 128 MB) — the
aggregation transaction itself sets work_mem to 64 MB, as it does in production.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whalefall.settings_test")

import django

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from benchmarks.support import history_partitions_create  # noqa: E402
from capacity.forecast import size_forecast  # noqa: E402
from capacity.models import StoredPeriodType  # noqa: E402
from capacity.partitions import partitions_cover  # noqa: E402
from capacity.periods import INTERVAL, TRUNC_UNIT  # noqa: E402
from capacity.selectors import forecast_options  # noqa: E402
from capacity.services.aggregation import AGGREGATION_TABLES, aggregation_plan  # noqa: E402
from instances.models import Instance  # noqa: E402
from sync_sessions.models import SyncInstanceRecord  # noqa: E402

#: what the aggregation stores (daily values are read from the daily sizes, never stored)
STORED = StoredPeriodType.values

PREFIX = "bench-agg-"

# sizes: a per-database base, a per-database daily growth, a weekly wobble and a cleanup on day 200 for 1 in 10
SEED_STATS = """
INSERT INTO database_size_stats (instance_id, database_name, size_bytes, data_bytes, collected_date, collected_at)
SELECT i.id, 'db' || n,
       GREATEST(0, n * 10000000 + (d - %(s)s) * (n %% 17) * 100000 + ((d - %(s)s) %% 7) * 5000
                   - CASE WHEN n %% 10 = 0 AND d - %(s)s >= 200 THEN n * 4000000 ELSE 0 END),
       n * 9000000, d, now()
FROM unnest(%(ids)s::bigint[]) AS i(id), generate_series(1::bigint, %(dbs)s) n,
     LATERAL (SELECT g::date AS d FROM generate_series(%(s)s::date, %(e)s::date, '1 day') g) days
"""
SEED_TOTALS = """
INSERT INTO instance_size_stats (instance_id, total_size_bytes, database_count, collected_date, collected_at)
SELECT instance_id, sum(size_bytes), count(*), collected_date, now() FROM database_size_stats
WHERE instance_id = ANY(%(ids)s) AND collected_date BETWEEN %(s)s AND %(e)s GROUP BY instance_id, collected_date
"""
BASELINE = {
    "database": """SELECT instance_id, database_name, date_trunc(%(unit)s, collected_date::timestamp)::date,
                          round(avg(size_bytes)), max(size_bytes), min(size_bytes), count(*)
                   FROM database_size_stats WHERE collected_date BETWEEN %(s)s AND %(e)s GROUP BY 1, 2, 3""",
    "instance": """SELECT instance_id, date_trunc(%(unit)s, collected_date::timestamp)::date,
                          round(avg(total_size_bytes)), max(total_size_bytes), min(total_size_bytes), count(*)
                   FROM instance_size_stats WHERE collected_date BETWEEN %(s)s AND %(e)s GROUP BY 1, 2""",
}

# The write floor: what any implementation that stores the roll-ups must at least do, server-side
# alone — per period type and level one INSERT … SELECT … GROUP BY of the required columns into the
# (empty) aggregation tables, with their primary key and unique business key; no LAG, no slope, no
# comparison with stored rows, no session, one transaction.
FLOOR = {
    "database": """INSERT INTO database_size_aggregations (instance_id, database_name, period_type, period_start,
                          period_end, avg_size_bytes, max_size_bytes, min_size_bytes, sample_count)
                   SELECT instance_id, database_name, %(ptype)s, p, (p + %(step)s::interval)::date - 1,
                          round(avg(size_bytes)), max(size_bytes), min(size_bytes), count(*)
                   FROM (SELECT *, date_trunc(%(unit)s, collected_date::timestamp)::date AS p
                         FROM database_size_stats WHERE collected_date BETWEEN %(s)s AND %(e)s) x
                   GROUP BY instance_id, database_name, p""",
    "instance": """INSERT INTO instance_size_aggregations (instance_id, period_type, period_start, period_end,
                          avg_size_bytes, max_size_bytes, min_size_bytes, database_count, sample_count)
                   SELECT instance_id, %(ptype)s, p, (p + %(step)s::interval)::date - 1, round(avg(total_size_bytes)),
                          max(total_size_bytes), min(total_size_bytes), max(database_count), count(*)
                   FROM (SELECT *, date_trunc(%(unit)s, collected_date::timestamp)::date AS p
                         FROM instance_size_stats WHERE collected_date BETWEEN %(s)s AND %(e)s) x
                   GROUP BY instance_id, p""",
}

# The forecast in SQL, for the comparison: last ramp (LAG), regr_* over it, the 95 % band at the horizon
# (t quantile by the same expansion) and the back-test — what capacity.forecast does in Python.
FORECAST_SQL = """
WITH s AS (
    SELECT instance_id, database_name, collected_date AS d, size_bytes::float8 AS y,
           lag(size_bytes) OVER (PARTITION BY instance_id, database_name ORDER BY collected_date) AS prev
    FROM database_size_stats WHERE collected_date BETWEEN %(first)s AND %(today)s{filter}
), steps AS (
    SELECT instance_id, database_name,
           max(d) FILTER (WHERE abs(y - prev) > %(fraction)s * prev AND abs(y - prev) >= %(min_bytes)s) AS step
    FROM s GROUP BY 1, 2
), ramp AS (
    SELECT s.instance_id, s.database_name, s.d, s.y, max(s.d) OVER k AS last_d
    FROM s JOIN steps USING (instance_id, database_name) WHERE steps.step IS NULL OR s.d >= steps.step
    WINDOW k AS (PARTITION BY s.instance_id, s.database_name)
), fit AS (
    SELECT instance_id, database_name, last_d, regr_count(y, d - last_d) AS n, regr_slope(y, d - last_d) AS b,
           regr_intercept(y, d - last_d) AS a, regr_sxx(y, d - last_d) AS sxx, regr_avgx(y, d - last_d) AS xbar,
           regr_syy(y, d - last_d) - regr_sxy(y, d - last_d) ^ 2 / NULLIF(regr_sxx(y, d - last_d), 0) AS sse,
           regr_slope(y, d - last_d) FILTER (WHERE d <= last_d - 7) AS tb,
           regr_intercept(y, d - last_d) FILTER (WHERE d <= last_d - 7) AS ta,
           regr_count(y, d - last_d) FILTER (WHERE d <= last_d - 7) AS tn
    FROM ramp GROUP BY 1, 2, 3
), backtest AS (
    SELECT f.instance_id, f.database_name, 100 * avg(abs(r.y - (f.ta + f.tb * (r.d - f.last_d))) / r.y) AS mape
    FROM fit f JOIN ramp r USING (instance_id, database_name)
    WHERE r.d > f.last_d - 7 AND r.y > 0 AND f.tn >= 2 GROUP BY 1, 2
)
SELECT f.instance_id, f.database_name, f.n, f.b,
       f.a + f.b * %(horizon)s - t.q * sqrt(f.sse / (f.n - 2)) * sqrt(1 + 1 / f.n + (%(horizon)s - f.xbar) ^ 2 / f.sxx),
       f.a + f.b * %(horizon)s + t.q * sqrt(f.sse / (f.n - 2)) * sqrt(1 + 1 / f.n + (%(horizon)s - f.xbar) ^ 2 / f.sxx),
       bt.mape
FROM fit f LEFT JOIN backtest bt USING (instance_id, database_name),
     LATERAL (SELECT 1.959963984540054 AS z, (f.n - 2)::float8 AS df) v,
     LATERAL (SELECT v.z + (v.z ^ 3 + v.z) / (4 * v.df) + (5 * v.z ^ 5 + 16 * v.z ^ 3 + 3 * v.z) / (96 * v.df ^ 2)
                     + (3 * v.z ^ 7 + 19 * v.z ^ 5 + 17 * v.z ^ 3 - 15 * v.z) / (384 * v.df ^ 3)
                     + (79 * v.z ^ 9 + 776 * v.z ^ 7 + 1482 * v.z ^ 5 - 1920 * v.z ^ 3 - 945 * v.z) / (92160 * v.df ^ 4)
                     AS q) t
WHERE f.n >= 14
"""
PYTHON_INPUT_SQL = """
SELECT instance_id, database_name, array_agg(collected_date ORDER BY collected_date),
       array_agg(size_bytes ORDER BY collected_date)
FROM database_size_stats WHERE collected_date BETWEEN %(first)s AND %(today)s{filter} GROUP BY 1, 2
"""




def seed(names: list[str], *, databases: int, start: dt.date, end: dt.date) -> list[int]:
    Instance.objects.filter(name__in=names).delete()
    ids = [Instance.objects.create(name=n, db_type_id="postgresql", host="h", port=5432).pk for n in names]
    history_partitions_create(start, end)
    with connection.cursor() as cursor:
        params = {"ids": ids, "dbs": databases, "s": start, "e": end}
        cursor.execute(SEED_STATS, params)
        cursor.execute(SEED_TOTALS, params)
        cursor.execute("ANALYZE database_size_stats; ANALYZE instance_size_stats")
    return ids


def raw_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    return psycopg.connect(**{k: v for k, v in params.items() if k not in ("cursor_factory", "context")},
                           autocommit=True)  # fmt: skip


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def truncate_aggregations() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE database_size_aggregations, instance_size_aggregations")


def rows_written(since_id: int) -> int:
    """Rows the aggregation sessions after record ``since_id`` wrote (their records say so)."""
    details = SyncInstanceRecord.objects.filter(id__gt=since_id, session__sync_category="aggregation")
    return sum((d or {}).get("rows_written", 0) for d in details.values_list("sync_details", flat=True))


def last_record_id() -> int:
    return SyncInstanceRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0


def bench_aggregation(args, start: dt.date, end: dt.date) -> None:
    raw = raw_connection()

    def baseline():
        rows = 0
        for sql in BASELINE.values():
            for period_type in STORED:
                rows += len(raw.execute(sql, {"unit": TRUNC_UNIT[period_type], "s": start, "e": end}).fetchall())
        return rows

    def baseline_one_process():  # the same, without PostgreSQL's parallel workers (the default plan uses 2)
        raw.execute("SET max_parallel_workers_per_gather = 0")
        try:
            return baseline()
        finally:
            raw.execute("RESET max_parallel_workers_per_gather")

    def write_floor():
        truncate_aggregations()
        # the partitions the rows go to, as the command creates them first (not timed here)
        plans = aggregation_plan(period_types=STORED, start=start, end=end)
        partitions_cover(tables=AGGREGATION_TABLES, start=min(p.first for p in plans), end=max(p.last for p in plans))
        started = time.perf_counter()
        with raw.transaction():
            for sql in FLOOR.values():
                for ptype in STORED:
                    raw.execute(sql, {"ptype": ptype, "unit": TRUNC_UNIT[ptype], "step": INTERVAL[ptype], "s": start,
                                      "e": end})  # fmt: skip
        elapsed = time.perf_counter() - started
        truncate_aggregations()
        return elapsed

    def command(*extra):
        call_command("aggregate_capacity", *extra, stdout=io.StringIO())

    def backfill():
        command("--from", start.isoformat(), "--to", end.isoformat())

    # a week a month before the first sample: every record runs its statements and finds nothing
    empty_from, empty_to = start - dt.timedelta(days=35), start - dt.timedelta(days=29)

    def batch_floor():
        command("--period", "weekly", "--from", empty_from.isoformat(), "--to", empty_to.isoformat())

    baseline()  # warm-up: the year in the buffer cache
    samples = {"baseline": [], "baseline, one process": [], "write floor (server-side)": [], "full backfill": [],
               "unchanged re-run": [], "nightly run (default window)": [], "batch floor (no samples)": []}  # fmt: skip
    written = {"full backfill": [], "unchanged re-run": [], "nightly run (default window)": []}
    for _ in range(args.runs):
        samples["baseline"].append(timed(baseline))
        samples["baseline, one process"].append(timed(baseline_one_process))
        samples["write floor (server-side)"].append(write_floor())
        for name, run in (("full backfill", backfill), ("unchanged re-run", backfill),
                          ("nightly run (default window)", command)):  # fmt: skip
            since = last_record_id()
            samples[name].append(timed(run))
            written[name].append(rows_written(since))
        samples["batch floor (no samples)"].append(timed(batch_floor))
    groups = baseline()
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM database_size_aggregations), "
                       "(SELECT count(*) FROM instance_size_aggregations), "
                       "(SELECT count(*) FROM database_size_aggregations WHERE period_type = 'daily')")  # fmt: skip
        stored_database, stored_instance, daily = cursor.fetchone()
    assert stored_database + stored_instance == groups and daily == 0, (stored_database, stored_instance, groups)
    assert set(written["unchanged re-run"]) == {0}, written
    base = statistics.median(samples["baseline"])
    floor = statistics.median(samples["write floor (server-side)"])
    print(f"aggregation rows: {stored_database:,} database + {stored_instance:,} instance = {groups:,} groups of the "
          f"baseline (weekly, monthly, quarterly); no daily row stored")  # fmt: skip
    print(f"{'':30} {'median':>8} {'× base':>7} {'× floor':>8} {'rows written':>13}")
    for name, values in samples.items():
        median = statistics.median(values)
        rows = f"{statistics.median(written[name]):>13,.0f}" if name in written else ""
        print(f"{name:30} {median:7.2f}s {median / base:6.2f}× {median / floor:7.2f}× {rows}   "
              f"runs: {', '.join(f'{v:.2f}' for v in values)}")  # fmt: skip
    raw.close()


def backend_cpu_ms(pid: int) -> float | None:
    """CPU time (user + system) the server process ``pid`` has used, from /proc (None: not on this host)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def bench_cpu_per_instance(ids: list[int], start: dt.date, end: dt.date, instances: int = 10) -> None:
    """Server CPU per instance: an unchanged re-run of its roll-ups vs the three bare GROUP BYs of
    the same instance (CPU, not wall time: a shared machine's load does not move it much)."""
    from capacity.services import capacity_aggregate

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    if backend_cpu_ms(pid) is None:
        print("server CPU per instance: the metadata database runs elsewhere, not measured")
        return
    bare = [sql.replace("GROUP BY", "AND instance_id = %(i)s GROUP BY") for sql in BASELINE.values()]
    chosen = ids[:instances]
    costs = {"its bare GROUP BYs (3 types, 2 levels)": [], "its unchanged re-run (both levels)": []}
    for _ in range(3):
        before = backend_cpu_ms(pid)
        with connection.cursor() as cursor:
            for iid in chosen:
                for sql in bare:
                    for period_type in STORED:
                        cursor.execute(sql, {"unit": TRUNC_UNIT[period_type], "s": start, "e": end, "i": iid})
                        cursor.fetchall()
        costs["its bare GROUP BYs (3 types, 2 levels)"].append((backend_cpu_ms(pid) - before) / len(chosen))
        before = backend_cpu_ms(pid)
        for iid in chosen:
            capacity_aggregate(period_types=STORED, start=start, end=end, instance_ids=[iid], partitions_ready=True)
        costs["its unchanged re-run (both levels)"].append((backend_cpu_ms(pid) - before) / len(chosen))
    print(", ".join(f"{name}: {statistics.median(v):.0f} ms" for name, v in costs.items()),
          f"(server CPU per instance, {len(chosen)} instances, median of 3)")  # fmt: skip


def bench_reads(args) -> None:
    """The daily roll-ups API (read from the daily sizes) and the summary API, 730 vs 30 days of history."""
    today = timezone.localdate()
    short = seed([f"{PREFIX}30d"], databases=args.summary_databases, start=today - dt.timedelta(days=29), end=today)
    long = seed([f"{PREFIX}730d"], databases=args.summary_databases, start=today - dt.timedelta(days=729), end=today)
    user = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
        "bench", "bench@example.com", "bench-pass"
    )
    api = APIClient()
    api.force_authenticate(user)

    def median_ms(url: str, runs: int = 30) -> float:
        values = []
        for _ in range(runs):
            started = time.perf_counter()
            response = api.get(url)
            values.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[:300]
        return statistics.median(values) * 1000

    daily = "/api/v1/capacity/database-aggregations/?period_type=daily&instance={}"
    # one database / the instance total: 30 rows a page, so both histories answer the same rows
    endpoints = {
        "daily roll-ups, one instance (a page of 100 of its databases' days)": daily,
        "daily roll-ups, one database (30 days a page)": daily + "&database=db7&page_size=30",
        "daily roll-ups of the instance total (30 days a page)": (
            "/api/v1/capacity/instance-aggregations/?period_type=daily&instance={}&page_size=30"
        ),
        "summary": "/api/v1/instances/{}/capacity/summary",
    }
    for name, url in endpoints.items():
        urls = {"30 days": url.format(short[0]), "730 days": url.format(long[0])}
        for each in urls.values():
            median_ms(each, 5)  # warm-up
        results = {label: [] for label in urls}
        for _ in range(3):
            for label, each in urls.items():
                results[label].append(median_ms(each))
        t30, t730 = min(results["30 days"]), min(results["730 days"])
        print(f"{name} ({args.summary_databases} databases): 30 days {t30:.1f} ms, 730 days {t730:.1f} ms, "
              f"ratio {t730 / t30:.2f} (target <= 1.2)")  # fmt: skip
    started = time.perf_counter()
    response = api.get(daily.format(long[0]) + "&format=csv")
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    print(f"daily roll-ups CSV of the 730-day instance (default window, a year): {lines - 1:,} rows in "
          f"{time.perf_counter() - started:.2f}s")  # fmt: skip
    top = median_ms("/api/v1/capacity/top-growers?days=30&limit=20", 10)
    print(f"top-growers API over every instance: median {top:.1f} ms")


def bench_forecast(ids: list[int], series: int) -> None:
    """Forecasts of ``series`` databases (the first instances' databases), 30 days: Python vs SQL."""
    today = timezone.localdate()
    params = {"first": today - dt.timedelta(days=29), "today": today, "horizon": 30, **forecast_options()}
    params["fraction"], params["min_bytes"] = params.pop("step_fraction"), params.pop("step_min_bytes")
    per_instance = max(1, series // 100)
    chosen = ids[:per_instance]
    where = " AND instance_id = ANY(%(ids)s)" + (" AND database_name = ANY(%(names)s)" if series < 100 else "")
    params.update({"ids": chosen, "names": [f"db{n}" for n in range(1, series + 1)]})
    raw = raw_connection()

    def python():
        rows = raw.execute(PYTHON_INPUT_SQL.format(filter=where), params).fetchall()
        return {(i, n): size_forecast(list(zip(days, sizes, strict=True)), window_days=30, **forecast_options())
                for i, n, days, sizes in rows}  # fmt: skip

    def sql():
        return {(r[0], r[1]): r for r in raw.execute(FORECAST_SQL.format(filter=where), params).fetchall()}

    by_python, by_sql = python(), sql()
    ok = {k: f for k, f in by_python.items() if f.status == "ok"}
    assert set(ok) == set(by_sql), (len(ok), len(by_sql))
    worst = max(abs(f.bytes_per_day - by_sql[k][3]) / max(abs(f.bytes_per_day), 1) for k, f in ok.items())
    times = {"python": [], "sql": []}
    for _ in range(5):
        times["python"].append(timed(python))
        times["sql"].append(timed(sql))
    tp, ts = statistics.median(times["python"]), statistics.median(times["sql"])
    print(f"forecast of {len(by_python):5} series × 30 days: Python over one query {tp * 1000:7.1f} ms, "
          f"SQL {ts * 1000:7.1f} ms (SQL/Python {ts / tp:.2f}; slopes agree within {worst:.1e})")  # fmt: skip
    raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--databases", type=int, default=100, help="per instance")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--summary-databases", type=int, default=500)
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    start = today - dt.timedelta(days=args.days - 1)
    started = time.perf_counter()
    names = [f"{PREFIX}{i:03d}" for i in range(args.instances)]
    ids = seed(names, databases=args.databases, start=start, end=today)
    rows = args.instances * args.databases * args.days
    print(f"seeded {args.instances} instances × {args.databases} databases × {args.days} days = {rows:,} rows "
          f"in {time.perf_counter() - started:.0f}s")  # fmt: skip
    bench_aggregation(args, start, today)
    bench_cpu_per_instance(ids, start, today)
    for series in (6, 20, args.instances * args.databases):
        bench_forecast(ids, series)
    bench_reads(args)


if __name__ == "__main__":
    main()

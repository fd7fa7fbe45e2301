"""Benchmark: capacity collection of many databases on one live target.

Compares the bare remote read (``fetch_database_inventory`` + ``fetch_database_sizes``)
with the full ``capacity_collect_instance`` (lock + remote read + one
transaction writing inventory, today's stats, current sizes and the instance
total). Target: full ≤ 1.5 × remote read. Runs are interleaved; the ratio of
medians is the headline.

    .venv/bin/python benchmarks/capacity_collect.py                      # MariaDB, 2000 databases
    .venv/bin/python benchmarks/capacity_collect.py --engine postgresql --databases 200

Creates databases ``wf_bench_cap_<n>`` (one small table each) and a login
``wf_bench_cap_mon`` with the documented GRANTs; drops them at the end
(``--keep`` keeps them for the next run). Metadata DB: a throwaway embedded
PostgreSQL (whalefall.settings_test) unless DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
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
import pymysql  # noqa: E402
from django.core.management import call_command  # noqa: E402
from psycopg import sql as pgsql  # noqa: E402

from capacity.services import capacity_collect_instance  # noqa: E402
from instances.adapters.registry import get_adapter  # noqa: E402
from tests.support.factories import make_credential, make_instance  # noqa: E402

PREFIX = "wf_bench_cap_"
USER, PASSWORD = f"{PREFIX}mon", "bench-pass-1"


def mysql_setup(n: int) -> tuple[str, int]:
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s", (PREFIX + "%",))
        have = cur.fetchone()[0]
        for i in range(have, n):
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{PREFIX}{i:05d}`")
            cur.execute(f"CREATE TABLE IF NOT EXISTS `{PREFIX}{i:05d}`.t (id INT PRIMARY KEY, v VARCHAR(50))")
            cur.execute(f"INSERT IGNORE INTO `{PREFIX}{i:05d}`.t VALUES (1, 'x'), (2, 'y')")
        cur.execute(f"CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'")
        cur.execute(f"GRANT SELECT, SHOW DATABASES, SHOW VIEW, PROCESS ON *.* TO '{USER}'@'%'")
    return "mysql", 3306


def mysql_teardown() -> None:
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    with conn.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s", (PREFIX + "%",))
        for (name,) in cur.fetchall():
            cur.execute(f"DROP DATABASE `{name}`")
        cur.execute(f"DROP USER IF EXISTS '{USER}'@'%'")


def pg_setup(n: int) -> tuple[str, int]:
    with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", autocommit=True) as conn:
        have = {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",))}
        for i in range(n):
            name = f"{PREFIX}{i:05d}"
            if name not in have:
                conn.execute(pgsql.SQL("CREATE DATABASE {} TEMPLATE template0").format(pgsql.Identifier(name)))
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (USER,)).fetchone():
            conn.execute(pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(pgsql.Identifier(USER),
                                                                               pgsql.Literal(PASSWORD)))
            conn.execute(pgsql.SQL("GRANT pg_read_all_stats TO {}").format(pgsql.Identifier(USER)))
    return "postgresql", 5432


def pg_teardown() -> None:
    with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", autocommit=True) as conn:
        names = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",)).fetchall()
        for (name,) in names:
            conn.execute(pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(pgsql.Identifier(name)))
        conn.execute(pgsql.SQL("DROP ROLE IF EXISTS {}").format(pgsql.Identifier(USER)))


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("mysql", "postgresql"), default="mysql")
    parser.add_argument("--databases", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the target databases for the next run")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    setup, teardown = (mysql_setup, mysql_teardown) if args.engine == "mysql" else (pg_setup, pg_teardown)
    started = time.perf_counter()
    db_type, port = setup(args.databases)
    print(f"target ready ({args.databases} databases, {time.perf_counter() - started:.1f}s)")
    try:
        instance = make_instance(name=f"bench-{db_type}", db_type=db_type, host="127.0.0.1", port=port,
                                 credential=make_credential(username=USER, password=PASSWORD))
        adapter = get_adapter(instance)

        def remote_read():
            adapter.fetch_database_inventory()
            adapter.fetch_database_sizes()

        def collect():
            outcome = capacity_collect_instance(instance=instance)
            assert outcome.synced >= args.databases, outcome

        collect()  # warm-up; the first run inserts, later runs overwrite today's rows
        reads, collects = [], []
        for _ in range(args.runs):
            reads.append(timed(remote_read))
            collects.append(timed(collect))
        read, full = statistics.median(reads), statistics.median(collects)
        print(f"engine={args.engine} databases={args.databases} runs={args.runs}")
        print(f"remote read   median {read * 1000:8.1f} ms")
        print(f"full collect  median {full * 1000:8.1f} ms")
        print(f"ratio full/read = {full / read:.2f} (target <= 1.5)")
    finally:
        if not args.keep:
            teardown()


if __name__ == "__main__":
    main()

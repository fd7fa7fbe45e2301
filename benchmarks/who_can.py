"""Benchmark: the who-can search over 100 instances × 1,000 accounts × ~20 effective privileges.

    .venv/bin/python benchmarks/who_can.py [--instances 100] [--accounts 1000] [--repeat 21]
                                           [--base-rev REV] [--no-gin] [--no-base]

Measured in one run:

1. **Build** — every instance's listing written by the real write path, ``accounts_apply``
   (one transaction per instance: accounts, permissions, change log, and the who-can index by
   COPY), 40 % MySQL, 40 % PostgreSQL, 10 % SQL Server, 10 % Oracle, in groups of four instances
   that share their databases, plus one database every instance has; then VACUUM ANALYZE of the
   index (what autovacuum does after a bulk insert).
2. **Who can, through the API** — ``GET /api/v1/accounts/who-can/`` with Django's test client
   (an authenticated superuser; the full request: routing, middleware, authentication, query
   validation, both queries, the rules in Python, pagination and JSON rendering), median of
   ``--repeat`` after a warm-up, for several questions. Baseline, in the same run: **the bare
   indexed SQL** a minimal script would send through its own psycopg connection for the same
   question — the distinct accounts with an entry of the privilege (or ALL/CONTROL) on the
   object or a containing target (no MySQL patterns, no DENY, no SET ROLE rules).
3. **The alternative, jsonb + GIN** (``--no-gin`` skips it) — a ``jsonb_path_ops`` GIN index on
   ``account_permissions.facts`` and the same question as one containment test per
   (privilege, containing target), the candidates' facts decoded and decided by the same rules;
   and what each option adds to a first sync of a new 1,000-account instance (the entries'
   COPY, or the GIN index's maintenance).
4. **No-change resync against the branch point** (``--no-base`` skips it) — one 1,000-account
   instance resynced with an unchanged listing (the fingerprint path: ``accounts_sync_instance``
   of the "fake" engine) and applied again with the same listing (``accounts_apply``: the full
   comparison, nothing written), by this code and by the code of ``--base-rev``
   (default: ``git merge-base HEAD main``; exported with ``git archive``, no worktree) in a
   subprocess on the same metadata database (this code in a fresh subprocess too, so neither
   carries this benchmark's heap), seven interleaved rounds of 15 runs: the statements each path
   sends, the median of the rounds' median wall times, the fastest run, and the median Python CPU
   time (the least disturbed by whatever else runs on the machine).

Metadata DB: a throwaway embedded PostgreSQL 18 (whalefall.settings_test) unless DATABASE_URL is
set (then the instances it creates are deleted at the end). Settings that differ from production:
pgserver's defaults (shared_buffers 128 MB), DEBUG off, the test settings' fast password hasher;
Python, the metadata database and whatever else runs share this machine.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whalefall.settings_test")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts import services  # noqa: E402
from accounts.services import accounts_apply  # noqa: E402
from accounts.whocan import account_answer, asked_object, narrowing, object_parts  # noqa: E402
from instances.adapters.base import AccountFacts, Privilege  # noqa: E402
from instances.models import Instance  # noqa: E402
from tests.support.factories import make_fake_instance, make_instance  # noqa: E402

DML = ("SELECT", "INSERT", "UPDATE", "DELETE")
ENGINES = ("mysql",) * 4 + ("postgresql",) * 4 + ("sqlserver", "oracle")
#: instances 4k … 4k+3 form a group that shares its databases (a primary and its replicas, shards)
GROUP_SIZE = 4
SHARED = "shared"  # one database every instance has (the worst case for a search over every instance)
_privilege = functools.cache(Privilege)  # one object per distinct privilege, as the parsers intern them


def databases(k: int) -> tuple[str, ...]:
    """Instance k's 10 databases: 9 of its group (``g07_app3``: an underscore, so on MySQL a
    database-level grant on it is a pattern) and the shared one."""
    return (*(f"g{k // GROUP_SIZE:02d}_app{d}" for d in range(9)), SHARED)


def _table(engine: str, database: str, table: int) -> str:
    if engine == "mysql":
        return f"{database}.t{table:02d}"
    if engine == "oracle":  # a schema (owner) per database name
        return f"{database.upper()}.T{table:02d}"
    return f"{database}.{'dbo' if engine == 'sqlserver' else 'public'}.t{table:02d}"


def listing(k: int, accounts: int) -> list[AccountFacts]:
    """``accounts`` logins of instance ``k``, ~20 effective privileges each: 3 database-level
    (PostgreSQL, Oracle: table-level) and 8 table-level grants, 2 column grants, 6 through one of
    10 roles, 1 engine-specific entry (a schema USAGE, a MySQL database pattern, a SQL Server DENY
    or CONTROL, an Oracle ANY privilege); every 50th account holds its role only after SET ROLE.
    Plus PUBLIC."""
    engine, dbs = ENGINES[k % len(ENGINES)], databases(k)
    result = []
    for i in range(accounts):
        privileges = []
        for j in range(3):
            database = dbs[(i * 3 + j * 7) % 10]
            if engine in ("oracle", "postgresql"):  # no database-level DML there: a table of that database
                privileges.append(_privilege("object", DML[(i + j) % 4], _table(engine, database, 40 + j)))
            else:
                privileges.append(_privilege("database", DML[(i + j) % 4], database))
        for j in range(8):
            table = _table(engine, dbs[(i + j) % 10], (i * 7 + j * 3) % 50)
            privileges.append(_privilege("object", DML[(i + j) % 4], table))
        for j in range(2):
            privileges.append(_privilege("column", "UPDATE", _table(engine, dbs[(i + j) % 10], j) + f".c{i % 5}"))
        role = f"role_{i % 10}"
        for j in range(6):
            privileges.append(_privilege("object", DML[j % 4], _table(engine, dbs[(i % 10 + j) % 10], j * 5),
                                         via=(role,), via_set_role=i % 50 == 0))  # fmt: skip
        group = f"g{k // GROUP_SIZE:02d}"
        if engine == "postgresql":
            privileges.append(_privilege("schema", "USAGE", f"{dbs[i % 10]}.public"))
        elif engine == "mysql":
            privileges.append(_privilege("database", "SELECT", f"{group}\\_app%" if i % 2 else f"{group}%"))
        elif engine == "sqlserver":  # a DENY on one table for a quarter, CONTROL on a database for another
            if i % 4 == 1:
                privileges.append(_privilege("object", "DELETE", _table(engine, dbs[3], 7), state="DENY"))
            elif i % 4 == 2:
                privileges.append(_privilege("database", "CONTROL", dbs[(i // 4) % 10]))
            else:
                privileges.append(_privilege("object", "SELECT", _table(engine, dbs[i % 10], 49)))
        elif i % 25 == 0:
            privileges.append(_privilege("global", "SELECT", implied_by="any_privilege"))
        else:
            privileges.append(_privilege("object", "SELECT", _table(engine, dbs[i % 10], 49)))
        result.append(AccountFacts(username=f"user{i:05d}", host="%" if engine == "mysql" else "",
                                   roles=(role,), privileges=tuple(privileges)))  # fmt: skip
    if engine in ("postgresql", "mysql"):
        connect = "CONNECT" if engine == "postgresql" else "SELECT"
        public = tuple(_privilege("database", connect, d) for d in dbs)
        result.append(AccountFacts(username="PUBLIC", can_login=False, privileges=public))
    return result


def build(instances: int, accounts: int) -> list[Instance]:
    created = []
    started = time.perf_counter()
    for k in range(instances):
        engine = ENGINES[k % len(ENGINES)]
        instance = make_instance(name=f"wc-{os.getpid()}-{engine}-{k:03d}", db_type=engine)
        accounts_apply(instance=instance, accounts=listing(k, accounts))
        created.append(instance)
        if k % 10 == 9:
            print(f"  {k + 1} instances written ({time.perf_counter() - started:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        # what autovacuum does after a bulk insert (its insert threshold): statistics, and the
        # visibility map that lets the search's index-only scans skip the table
        cursor.execute("VACUUM (ANALYZE) account_privilege_entries")
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*), pg_size_pretty(pg_total_relation_size('account_privilege_entries')), "
                       "pg_size_pretty(pg_indexes_size('account_privilege_entries')) FROM account_privilege_entries")
        entries, size, index_size = cursor.fetchone()
    print(f"built {instances} instances × {accounts} accounts through accounts_apply in "
          f"{time.perf_counter() - started:.0f} s: {entries:,} entries, {size} with indexes ({index_size} of them)")
    return created


def median_ms(call, repeat: int) -> float:
    call()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def _connect():
    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"],
                           password=db["PASSWORD"] or None, autocommit=True)  # fmt: skip


BARE_SQL = """
SELECT DISTINCT e.account_id FROM account_privilege_entries e JOIN instance_accounts a ON a.id = e.account_id
WHERE e.privilege = ANY(%s) AND (e.target = ANY(%s) OR (e.target >= %s AND e.target < %s)) AND a.is_active {extra}
"""


def bare(conn, question: dict):
    parts = object_parts(question["object"])
    wanted = narrowing(privilege=question["privilege"], parts=parts, include_contained="include_contained" in question)
    extra, params = "", [list(wanted.names), list(wanted.targets), wanted.inside, wanted.inside_end]
    if "db_type" in question:
        extra = "AND e.instance_id IN (SELECT id FROM instances WHERE db_type = %s)"
        params.append(question["db_type"])
    if "instance" in question:
        extra, params = "AND e.instance_id = %s", [*params, question["instance"]]

    def run():
        return conn.execute(BARE_SQL.format(extra=extra), params).fetchall()

    return run


GIN_SQL = """
SELECT p.instance_account_id, i.db_type, p.facts::text
FROM account_permissions p JOIN instance_accounts a ON a.id = p.instance_account_id
JOIN instances i ON i.id = a.instance_id
WHERE ({containment}) AND a.is_active {extra}
"""


def gin(conn, question: dict):
    """The same question over facts with a GIN index: one containment per (privilege, target),
    the candidates' facts decoded and decided by the same rules (accounts.whocan)."""
    parts = object_parts(question["object"])
    wanted = narrowing(privilege=question["privilege"], parts=parts)
    documents = [json.dumps({"privileges": [{"privilege": n, "target": t}]}) for n in wanted.names
                 for t in wanted.targets]  # fmt: skip
    containment = " OR ".join(["p.facts @> %s::jsonb"] * len(documents))
    extra, params = "", list(documents)
    if "db_type" in question:
        extra, params = "AND i.db_type = %s", [*params, question["db_type"]]
    sql = GIN_SQL.format(containment=containment, extra=extra)

    def run():
        answers = 0
        for _account, db_type, facts in conn.execute(sql, params).fetchall():
            asked = asked_object(parts, db_type)
            entries = [Privilege(e["level"], e["privilege"], e["target"], e["grantable"], e["state"],
                                 tuple(e["via"]), e["via_set_role"], e.get("implied_by"))
                       for e in json.loads(facts)["privileges"]]  # fmt: skip
            if asked is not None and account_answer(entries, privilege=question["privilege"], asked=asked):
                answers += 1
        return answers

    return run


def api(client: APIClient, question: dict):
    def run():
        response = client.get("/api/v1/accounts/who-can/", question)
        assert response.status_code == 200, response.content[:300]
        return response.json()["count"]

    return run


def first_sync_costs(repeat: int) -> dict[str, float]:
    """Median seconds of the first sync of a new 1,000-account PostgreSQL instance: without any
    who-can index, with the entries table (as built), with a GIN index on facts instead."""
    real_copy = services.copy_entries
    results: dict[str, list[float]] = {"no index": [], "entries table (this code)": [], "GIN on facts instead": []}
    accounts = listing(4, 1000)  # a PostgreSQL instance's
    with connection.cursor() as cursor:
        for _ in range(repeat):
            for variant in results:
                gin_index = variant == "GIN on facts instead"
                services.copy_entries = real_copy if variant.startswith("entries") else (lambda *a, **k: None)
                if gin_index:
                    cursor.execute("CREATE INDEX wc_bench_gin ON account_permissions USING gin (facts jsonb_path_ops)")
                instance = make_instance(db_type="postgresql")
                started = time.perf_counter()
                accounts_apply(instance=instance, accounts=accounts)
                results[variant].append(time.perf_counter() - started)
                instance.delete()
                if gin_index:
                    cursor.execute("DROP INDEX wc_bench_gin")
    services.copy_entries = real_copy
    return {variant: statistics.median(values) for variant, values in results.items()}


ROUNDS = 7
BASE_SCRIPT = textwrap.dedent(
    """
    import json, os, pickle, statistics, sys, time
    sys.path.insert(0, os.getcwd())
    os.environ["DJANGO_SETTINGS_MODULE"] = "whalefall.settings_test"
    import django
    django.setup()
    from accounts.services import accounts_apply, accounts_sync_instance
    from instances.models import Instance
    from tests.support.fake_adapter import FAKE_ACCOUNTS
    instance_id, listing_file, repeat = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    instance = Instance.objects.get(pk=instance_id)
    with open(listing_file, "rb") as f:
        FAKE_ACCOUNTS[instance.name] = listing = pickle.load(f)
    accounts_sync_instance(instance=instance)  # stores this code's fingerprint
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    def timed(fn):
        wall, cpu = [], []
        for _ in range(repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            fn()
            wall.append(time.perf_counter() - started); cpu.append(time.process_time() - started_cpu)
        with CaptureQueriesContext(connection) as queries:
            fn()
        return statistics.median(wall), min(wall), statistics.median(cpu), len(queries)
    print(json.dumps({
        "unchanged listing": timed(lambda: accounts_sync_instance(instance=instance)),
        "same listing, full comparison": timed(lambda: accounts_apply(instance=instance, accounts=listing)),
    }))
    """
)


def resync_against_base(base_rev: str, repeat: int) -> tuple[dict, dict]:
    """Median and fastest (s) of the two no-change paths by this code and by ``base_rev``'s, each
    in a fresh subprocess on the same instance and database (so neither carries this benchmark's
    heap), ``ROUNDS`` interleaved rounds of ``repeat`` runs (each round reports its median and
    its fastest run)."""
    instance = make_fake_instance(name=f"wc-{os.getpid()}-resync")
    accounts = [a for a in listing(4, 1000) if a.username != "PUBLIC"]
    base_dir = Path(tempfile.mkdtemp(prefix="whalefall-base-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", base_rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(base_dir)], input=archive, check=True)
    listing_file = base_dir / "listing.pickle"
    listing_file.write_bytes(pickle.dumps(accounts))
    db = connection.settings_dict
    host = db["HOST"].replace("/", "%2F")
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{host}:{db['PORT']}/{db['NAME']}"}
    runs: dict[Path, dict[str, list[float]]] = {ROOT: {}, base_dir: {}}
    try:
        for round_number in range(ROUNDS):
            order = list(runs.items()) if round_number % 2 == 0 else list(reversed(runs.items()))
            for code, results in order:
                command = [sys.executable, "-c", BASE_SCRIPT, str(instance.pk), str(listing_file), str(repeat)]
                out = subprocess.run(command, cwd=code, env=env, check=True, capture_output=True, text=True).stdout
                for name, value in json.loads(out.strip().splitlines()[-1]).items():
                    results.setdefault(name, []).append(value)
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)
    ours, theirs = ({name: (statistics.median(v[0] for v in values), min(v[1] for v in values),
                            statistics.median(v[2] for v in values), values[0][3])
                     for name, values in runs[code].items()} for code in runs)  # fmt: skip
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--base-rev", default=None, help="code to compare the no-change resync with")
    parser.add_argument("--no-gin", action="store_true")
    parser.add_argument("--no-base", action="store_true")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    instances = build(args.instances, args.accounts)
    user = get_user_model().objects.create_superuser(f"bench-whocan-{os.getpid()}", "b@example.com", "bench-pass")
    client = APIClient()
    client.force_authenticate(user)
    one = instances[5]  # PostgreSQL, group 1
    questions = [
        ("DELETE on a PostgreSQL table of one group (4 instances)", {"privilege": "DELETE",
                                                                     "object": "g01_app3.public.t07"}),
        ("same, one instance", {"privilege": "DELETE", "object": "g01_app3.public.t07", "instance": one.pk}),
        ("DELETE on a MySQL table (database patterns)", {"privilege": "DELETE", "object": "g00_app3.t07",
                                                         "db_type": "mysql"}),
        ("DELETE on a SQL Server table (with DENY)", {"privilege": "DELETE", "object": "g02_app3.dbo.t07",
                                                      "db_type": "sqlserver"}),
        ("SELECT on an Oracle table", {"privilege": "SELECT", "object": "G02_APP3.T07", "db_type": "oracle"}),
        ("DELETE anywhere in a PostgreSQL database (contained)", {"privilege": "DELETE", "object": "g01_app3",
                                                                  "include_contained": "true"}),
        ("worst case: a database on all 100 instances, PostgreSQL", {"privilege": "DELETE",
                                                                     "object": f"{SHARED}.public.t07",
                                                                     "db_type": "postgresql"}),
        ("worst case: same, every instance (read per engine)", {"privilege": "DELETE",
                                                                "object": f"{SHARED}.public.t07"}),
    ]  # fmt: skip
    conn = _connect()
    print(f"\n{'question':54} {'accounts':>8} {'API':>9} {'bare SQL':>9} {'ratio':>6}")
    worst = 0.0
    for label, question in questions:
        count = api(client, question)()
        api_ms, bare_ms = median_ms(api(client, question), args.repeat), median_ms(bare(conn, question), args.repeat)
        worst = max(worst, api_ms)
        print(f"{label:54} {count:>8,} {api_ms:7.1f} ms {bare_ms:7.1f} ms {api_ms / bare_ms:5.1f}×")
    print(f"slowest who-can request: {worst:.1f} ms (target ≤ 100 ms median)")
    if not args.no_gin:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("CREATE INDEX wc_bench_gin ON account_permissions USING gin (facts jsonb_path_ops)")
            cursor.execute("ANALYZE account_permissions")
            cursor.execute("SELECT pg_size_pretty(pg_relation_size('wc_bench_gin'))")
            gin_size = cursor.fetchone()[0]
        print(f"\njsonb + GIN instead: index built in {time.perf_counter() - started:.1f} s, {gin_size}")
        for label, question in (questions[0], questions[2], questions[-1]):
            answers = gin(conn, question)()
            print(f"  {label:52} {answers:>8,} accounts {median_ms(gin(conn, question), 5):8.1f} ms "
                  "(query + decoding the candidates' facts + the rules)")
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX wc_bench_gin")
        costs = first_sync_costs(3)
        base = costs["no index"]
        print("first sync of a new 1,000-account PostgreSQL instance (median of 3):")
        for variant, seconds in costs.items():
            print(f"  {variant:28} {seconds * 1000:8.0f} ms {seconds / base:5.2f}×")
    if not args.no_base:
        base_rev = args.base_rev
        if base_rev is None:
            merge_base = ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"]
            base_rev = subprocess.run(merge_base, check=True, capture_output=True, text=True).stdout.strip()
        ours, theirs = resync_against_base(base_rev, 15)
        print(f"\nno-change resync of 1,000 accounts, this code vs {base_rev[:10]} ({ROUNDS} rounds of 15):")
        print(f"  {'path':32} {'statements':>10} {'wall, median':>22} {'wall, fastest':>22} {'Python CPU, median':>22}")
        for name, (median, fastest, cpu, statements) in ours.items():
            b_median, b_fastest, b_cpu, b_statements = theirs[name]
            print(f"  {name:32} {statements:>4} vs {b_statements:<3} "
                  f"{median * 1000:6.1f}/{b_median * 1000:6.1f} ms {median / b_median:4.2f}× "
                  f"{fastest * 1000:6.1f}/{b_fastest * 1000:6.1f} ms {fastest / b_fastest:4.2f}× "
                  f"{cpu * 1000:6.1f}/{b_cpu * 1000:6.1f} ms {cpu / b_cpu:4.2f}×")
        print("  (target ≤ 1.05×; on a shared machine the wall times move by ±20 % from run to run)")
    conn.close()
    if os.environ.get("DATABASE_URL"):
        Instance.objects.filter(name__startswith=f"wc-{os.getpid()}-").delete()  # the resync's instance too


if __name__ == "__main__":
    main()

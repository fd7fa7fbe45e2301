"""Account sync of N accounts (default 10,000) on the local MariaDB and PostgreSQL.

    .venv/bin/python benchmarks/accounts_sync.py [--accounts 10000] [--engine mysql|postgresql|both]
                                                 [--owned-tables 0] [--databases 0 [--closed-databases 0]]

Creates N users (prefix wfbench_) with a role and a grant each on the target
(PostgreSQL, with --owned-tables M: also M tables with the default ACL owned by
a group role every 1,000th user belongs to — what the owner read costs; with
--databases N: also N more databases, each with a schema of 5 tables granted to
every 500th user, a column grant and a default privilege — what reading many
databases costs; --closed-databases K: K of them do not allow connections, so
every read is partial — the same partial read again is an unchanged listing, accounts/unread.py),
then
measures in one run, each the median of 3, as ratios to the LEAN READ:

- lean read: an independent read of the same catalog tables with the driver
  only — no project code, no parsing (MariaDB: mysql.global_priv, db,
  tables_priv, columns_priv, procs_priv, roles_mapping; PostgreSQL: pg_roles,
  pg_auth_members, pg_database, and in every database it may connect to
  pg_namespace, pg_class (every table and sequence, for its owner), pg_proc
  (every function), pg_type (the user schemas' types), pg_language,
  pg_foreign_data_wrapper, pg_foreign_server, pg_attribute, pg_default_acl;
  and once pg_tablespace and pg_parameter_acl), connection included;
- the adapter's own read (``adapter.read_account_rows()``) and its parsing
  (with the garbage collector paused, as the sync does);
- the user-visible sync of one instance, ``accounts_sync_all(instance_ids=[…])``
  inline (session, record, read, apply, the record's synchronous commit):
  first sync into an empty instance, a no-change resync, a resync after 1% of
  the accounts changed;
- what a first sync must write, copied server-side inside the metadata
  database (the floor of the write part).

Drops everything it created at the end. Targets: MariaDB root@127.0.0.1:3306,
PostgreSQL postgres@127.0.0.1:5432 (WF_TEST_MYSQL_PORT / WF_TEST_PG_PORT override).
Settings that differ from production (printed with the results): the metadata
database is the embedded PostgreSQL in var/bench/pgdata unless DATABASE_URL is
set; the monitored login is the targets' superuser (root / postgres), not the
documented monitoring login; targets, metadata database and Python share this
machine; the sync runs inline (no qcluster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# per run: the live servers are shared (another run at the same time must not drop these roles)
PREFIX = f"wfbench{os.getpid()}_"
MYSQL_PORT = int(os.environ.get("WF_TEST_MYSQL_PORT", "3306"))
PG_PORT = int(os.environ.get("WF_TEST_PG_PORT", "5432"))


def chunks(items, size=500):
    for i in range(0, len(items), size):
        yield items[i : i + size]


class MariaDBTarget:
    db_type, port, user, password = "mysql", MYSQL_PORT, "root", ""

    def __init__(self):
        import pymysql

        self.conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="", autocommit=True)

    def run(self, statement):
        with self.conn.cursor() as cur:
            cur.execute(statement)

    def create(self, n):
        self.drop()
        users = [f"'{PREFIX}{i:05d}'@'%'" for i in range(n)]
        self.run(f"CREATE ROLE {PREFIX}role")
        names = []
        for part in chunks(users):
            names.extend(part)
            self.run("CREATE USER " + ", ".join(part))
            self.run(f"GRANT SELECT ON `{PREFIX}db{len(names) % 7}`.* TO " + ", ".join(part))
            self.run(f"GRANT {PREFIX}role TO " + ", ".join(part))

    def lean_read(self):
        """The catalog tables the adapter reads, with PyMySQL alone (tuples, no parsing)."""
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password)
        try:
            with conn.cursor() as cur:
                for statement in (
                    "SELECT Host, User, Priv FROM mysql.global_priv", "SELECT * FROM mysql.db",
                    "SELECT * FROM mysql.tables_priv", "SELECT * FROM mysql.columns_priv",
                    "SELECT * FROM mysql.procs_priv", "SELECT * FROM mysql.roles_mapping",
                ):  # fmt: skip
                    cur.execute(statement)
                    cur.fetchall()
        finally:
            conn.close()

    def change_one_percent(self, n, offset=0):
        part = [f"'{PREFIX}{i:05d}'@'%'" for i in range(offset, n, 100)]
        self.run(f"GRANT INSERT ON `{PREFIX}db1`.* TO " + ", ".join(part))

    def drop(self):
        with self.conn.cursor() as cur:
            cur.execute("SELECT User, Host FROM mysql.user WHERE User LIKE %s AND is_role = 'N'", (PREFIX + "%",))
            names = [f"'{u}'@'{h}'" for u, h in cur.fetchall()]
        for part in chunks(names):
            self.run("DROP USER " + ", ".join(part))
        self.run(f"DROP ROLE IF EXISTS {PREFIX}role")


class PostgreSQLTarget:
    db_type, port, user, password = "postgresql", PG_PORT, "postgres", ""

    def __init__(self, owned_tables=0, databases=0, closed_databases=0):
        import psycopg

        self.conn = psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", autocommit=True)
        self.owned_tables = owned_tables
        self.databases = databases
        self.closed_databases = closed_databases

    def connect(self, dbname):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=dbname, autocommit=True)

    def run(self, statement):
        self.conn.execute(statement)

    def create(self, n):
        self.drop()
        self.run(f"CREATE ROLE {PREFIX}role NOLOGIN")
        self.run(f"CREATE SCHEMA {PREFIX}s")
        self.run(
            f"DO $$ BEGIN FOR i IN 0..{n - 1} LOOP "
            f"EXECUTE format('CREATE ROLE %I LOGIN IN ROLE {PREFIX}role', '{PREFIX}' || lpad(i::text, 5, '0')); "
            "END LOOP; END $$"
        )
        # one table grant per account, spread over 100 tables (ACLs of 100 entries, not one of 10,000)
        for t in range(100):
            users = ", ".join(f'"{PREFIX}{i:05d}"' for i in range(t, n, 100))
            self.run(f"CREATE TABLE {PREFIX}s.t{t} (id int)")
            if users:
                self.run(f"GRANT SELECT ON {PREFIX}s.t{t} TO {users}")
        if self.owned_tables:  # owned by a group role: each of its members holds ALL on each (implied_by owner)
            self.run(f"CREATE ROLE {PREFIX}owner NOLOGIN")
            self.run(f"CREATE SCHEMA {PREFIX}o AUTHORIZATION {PREFIX}owner")
            members = ", ".join(f'"{PREFIX}{i:05d}"' for i in range(0, n, 1000))
            self.run(f"GRANT {PREFIX}owner TO {members}")
            for low in range(1, self.owned_tables + 1, 500):  # a lock per table: keep transactions small
                self.run(
                    f"DO $$ BEGIN FOR i IN {low}..{min(self.owned_tables, low + 499)} LOOP "
                    f"EXECUTE format('CREATE TABLE {PREFIX}o.t%s (id int)', i); "
                    f"EXECUTE format('ALTER TABLE {PREFIX}o.t%s OWNER TO {PREFIX}owner', i); END LOOP; END $$"
                )
        for d in range(self.databases):
            self.create_database(f"{PREFIX}db{d:03d}", d, n)

    def create_database(self, name, d, n):
        """One more database: 5 tables, each granted to every 500th user (from its own offset), a
        column grant and a default privilege, so that each database's object read has schema, table,
        column and default rows. Not to the group role every user belongs to: that would give each of
        the N accounts 6 more entries per database (what a first sync writes, not what this option
        measures)."""
        self.run(f'CREATE DATABASE "{name}"')
        with self.connect(name) as conn:
            conn.execute(f"CREATE SCHEMA {PREFIX}s")
            for t in range(5):
                users = [f'"{PREFIX}{i:05d}"' for i in range((d * 5 + t) % 500, n, 500)]
                conn.execute(f"CREATE TABLE {PREFIX}s.t{t} (id int, v text)")
                if users:
                    conn.execute(f"GRANT SELECT ON {PREFIX}s.t{t} TO " + ", ".join(users))
            user = f'"{PREFIX}{d % n:05d}"'
            conn.execute(f"GRANT UPDATE (v) ON {PREFIX}s.t0 TO {user}")
            conn.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {PREFIX}s GRANT SELECT ON TABLES TO {user}")
        if d < self.closed_databases:  # an unread scope for the adapter; the lean read skips it too
            self.run(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')

    def lean_read(self):
        """The catalogs the adapter reads, with psycopg alone, in every database it may connect to."""
        import psycopg

        connect = self.connect
        with connect("postgres") as conn:
            conn.execute("SELECT * FROM pg_roles").fetchall()
            conn.execute("SELECT * FROM pg_auth_members").fetchall()
            databases = conn.execute(
                "SELECT datname, datacl, datallowconn FROM pg_database WHERE NOT datistemplate"
            ).fetchall()
            conn.execute("SELECT spcname, spcowner, spcacl FROM pg_tablespace").fetchall()
            conn.execute("SELECT parname, paracl FROM pg_parameter_acl").fetchall()  # PG 15+, as the targets here
        for name, _acl, allowed in databases:
            if allowed:
                try:
                    conn = connect(name)
                except psycopg.OperationalError:  # dropped meanwhile by another run on the shared server
                    continue
                with conn:
                    conn.execute("SELECT oid, nspname, nspowner, nspacl FROM pg_namespace").fetchall()
                    conn.execute("SELECT oid, relname, relnamespace, relkind, relowner, relacl FROM pg_class "
                                 "WHERE relkind IN ('r', 'v', 'm', 'f', 'p', 'S')").fetchall()  # fmt: skip
                    # not the thousands of pg_catalog's: the adapter reads the user schemas' only
                    conn.execute("SELECT oid, proname, pronamespace, proargtypes, proowner, proacl FROM pg_proc "
                                 "WHERE pronamespace NOT IN ('pg_catalog'::regnamespace, "
                                 "'information_schema'::regnamespace)").fetchall()  # fmt: skip
                    conn.execute("SELECT oid, typname, typnamespace, typowner, typacl FROM pg_type "
                                 "WHERE typnamespace NOT IN ('pg_catalog'::regnamespace, "
                                 "'information_schema'::regnamespace)").fetchall()  # fmt: skip
                    conn.execute("SELECT lanname, lanowner, lanacl FROM pg_language").fetchall()
                    conn.execute("SELECT fdwname, fdwowner, fdwacl FROM pg_foreign_data_wrapper").fetchall()
                    conn.execute("SELECT srvname, srvowner, srvacl FROM pg_foreign_server").fetchall()
                    conn.execute("SELECT attrelid, attname, attacl FROM pg_attribute "
                                 "WHERE attacl IS NOT NULL").fetchall()  # fmt: skip
                    conn.execute("SELECT * FROM pg_default_acl").fetchall()

    def change_one_percent(self, n, offset=0):
        self.run(
            f"DO $$ BEGIN FOR i IN {offset}..{n - 1} BY 100 LOOP "
            f"EXECUTE format('ALTER ROLE %I CREATEDB', '{PREFIX}' || lpad(i::text, 5, '0')); END LOOP; END $$"
        )

    def drop(self):
        # the extra databases first: a role with privileges in another database cannot be dropped
        databases = self.conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                      (PREFIX + "db%",)).fetchall()  # fmt: skip
        for (name,) in databases:
            self.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        rows = self.conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (PREFIX + "%",)).fetchall()
        self.run(f"DROP SCHEMA IF EXISTS {PREFIX}s CASCADE")
        tables = self.conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (f"{PREFIX}o",)).fetchone()
        for low in range(1, tables[0] + 1, 500):
            self.run(f"DO $$ BEGIN FOR i IN {low}..{low + 499} LOOP "
                     f"EXECUTE format('DROP TABLE IF EXISTS {PREFIX}o.t%s', i); END LOOP; END $$")  # fmt: skip
        self.run(f"DROP SCHEMA IF EXISTS {PREFIX}o CASCADE")
        for part in chunks([r[0] for r in rows]):
            names = ", ".join(f'"{r}"' for r in part)
            self.run(f"DROP OWNED BY {names}")  # also revokes grants on databases
            self.run(f"DROP ROLE {names}")


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


# What a first sync (the instance's baseline) must write, copied server-side
# from an already synced instance (no driver, no Python, no JSON parsing),
# foreign-key checks included: the floor of the write part — accounts,
# permission rows, who-can entries and the one baseline change-log row (no
# "add" rows: docs/architecture.md § Account sync).
_FLOOR_STATEMENTS = (
    "INSERT INTO instance_accounts (instance_id, username, host, is_active, first_seen_at, last_seen_at) "
    "SELECT %(dst)s, username, host, true, now(), now() FROM instance_accounts WHERE instance_id = %(src)s",
    "INSERT INTO account_permissions (instance_account_id, snapshot, facts, state_hash, is_superuser, can_grant, "
    "is_locked, roles, updated_at) SELECT d.id, p.snapshot, p.facts, p.state_hash, p.is_superuser, p.can_grant, "
    "p.is_locked, p.roles, now() FROM instance_accounts d JOIN instance_accounts s ON s.instance_id = %(src)s "
    "AND s.username = d.username AND s.host = d.host JOIN account_permissions p ON p.instance_account_id = s.id "
    "WHERE d.instance_id = %(dst)s",
    "INSERT INTO account_privilege_entries (account_id, ordinal, instance_id, privilege, level, target, grantable, "
    "state, via, via_set_role, implied_by, pattern_prefix, pattern_suffix) SELECT d.id, e.ordinal, %(dst)s, "
    "e.privilege, e.level, e.target, e.grantable, e.state, e.via, e.via_set_role, e.implied_by, e.pattern_prefix, "
    "e.pattern_suffix FROM instance_accounts d JOIN instance_accounts s ON s.instance_id = %(src)s "
    "AND s.username = d.username AND s.host = d.host JOIN account_privilege_entries e ON e.account_id = s.id "
    "WHERE d.instance_id = %(dst)s",
    "INSERT INTO account_change_log (instance_id, instance_account_id, username, host, change_type, diff, "
    "changed_at) SELECT %(dst)s, NULL, '', '', 'baseline', diff, now() FROM account_change_log "
    "WHERE instance_id = %(src)s AND change_type = 'baseline'",
)


def write_floor(source, scratch, *, commit: bool) -> float:
    """Seconds to write ``source``'s accounts, permissions, who-can entries and baseline row for
    ``scratch`` entirely inside the database: rolled back, or (``commit``) committed durably — the
    commit waits for its WAL flush, as the sync's writes are durable once its record says so — and
    then deleted (outside the timing)."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        # fresh rows: keep the joins hashed
        cursor.execute("ANALYZE instance_accounts, account_permissions, account_privilege_entries")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_nestloop = off")
            # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: check them
            # per statement, inside the timing (a rollback would skip them)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            started = time.perf_counter()
            for statement in _FLOOR_STATEMENTS:
                cursor.execute(statement, {"src": source.pk, "dst": scratch.pk})
            elapsed = time.perf_counter() - started
        if not commit:
            transaction.set_rollback(True)
    if commit:
        elapsed = time.perf_counter() - started
        type(scratch).objects.filter(pk=scratch.pk).delete()
    return elapsed


def bench(target, n):
    from accounts import services
    from accounts.services import _collector_paused, accounts_sync_all
    from classification.services import classification_auto_classify
    from instances.adapters.registry import get_adapter
    from instances.models import Instance
    from tests.support.factories import make_credential, make_instance

    extra = getattr(target, "databases", 0)
    # a read that cannot connect to every database is partial: such a sync ends "partial", is never
    # "unchanged" and applies everything (accounts/unread.py)
    closed = getattr(target, "closed_databases", 0)
    print(f"== {target.db_type}: creating {n} accounts{f' and {extra} databases' if extra else ''} …", flush=True)
    target.create(n)
    Instance.objects.filter(name__startswith=f"bench-{target.db_type}").delete()
    from django.db import connection

    with connection.cursor() as cursor:  # what earlier runs deleted: gone, as autovacuum would have it
        cursor.execute("VACUUM ANALYZE instance_accounts, account_permissions, account_privilege_entries, "
                       "account_change_log")  # fmt: skip
    credential = make_credential(username=target.user, password=target.password)

    def fresh_instance(k):
        return make_instance(
            name=f"bench-{target.db_type}-{k}", db_type=target.db_type, host="127.0.0.1", port=target.port,
            credential=credential,
        )  # fmt: skip

    def sync(instance):
        # the sync proper: its follow-up (the instance's classification, its own session) is timed apart
        saved = services._FOLLOWUPS[:]
        services._FOLLOWUPS.clear()
        try:
            session = accounts_sync_all(instance_ids=[instance.pk])
        finally:
            services._FOLLOWUPS[:] = saved
        record = session.records.get()
        assert record.status == ("partial" if closed else "completed"), record.error_message
        return record

    instance = fresh_instance(0)
    adapter = get_adapter(instance)
    leans = [timed(target.lean_read)[0] for _ in range(3)]  # and 3 more at the end: the machine is shared
    read = statistics.median(timed(adapter.read_account_rows)[0] for _ in range(3))
    rows = adapter.read_account_rows()
    with _collector_paused():  # as the sync parses
        parse = statistics.median(timed(lambda: adapter.parse_account_rows(rows))[0] for _ in range(3))
    total = len(adapter.parse_account_rows(rows))
    firsts = []
    for k in range(3):  # first sync into an empty instance, three times
        instance = fresh_instance(k + 1)
        elapsed, record = timed(lambda: sync(instance))  # noqa: B023
        # the live servers are shared: other runs' logins may come and go meanwhile
        assert abs(record.items_created - total) <= total // 100, (record.items_created, total)
        assert record.sync_details.get("baseline"), record.sync_details  # one baseline row, no "add" rows
        firsts.append(elapsed)
    # the same first sync as before the baseline existed (an "add" row per account), for comparison
    # in the same run: the baseline check answers "there is one already"
    baseline_check, services.sql.BASELINE_EXISTS = services.sql.BASELINE_EXISTS, "SELECT 1"
    adds = []
    try:
        for k in range(3):
            elapsed, record = timed(lambda: sync(fresh_instance(20 + k)))  # noqa: B023
            assert not record.sync_details.get("baseline"), record.sync_details
            adds.append(elapsed)
    finally:
        services.sql.BASELINE_EXISTS = baseline_check
    rolled_back, committed = [], []
    for k in range(3):  # alternately, so that both see the same machine
        rolled_back.append(write_floor(instance, fresh_instance(10 + k), commit=False))
        committed.append(write_floor(instance, fresh_instance(13 + k), commit=True))
    floor_rolled_back, floor = statistics.median(rolled_back), statistics.median(committed)
    # the classification a first sync is followed by (default rules, 10,000 accounts), once
    classify, session = timed(lambda: classification_auto_classify(instance_ids=[instance.pk]))
    assert session.status == "completed", session.status
    agains, tries = [], 0
    while len(agains) < 3:  # a login of another run (shared servers) changes the listing: not a no-change resync
        tries += 1
        assert tries <= 20, "the listing kept changing (other runs on the shared servers)"
        elapsed, record = timed(lambda: sync(instance))
        if record.sync_details.get("unchanged_listing"):  # a partial read too: the same one again
            agains.append(elapsed)
    changed_times = []
    for k in range(3):  # a different 1% each time
        target.change_one_percent(n, offset=k)
        elapsed, record = timed(lambda: sync(instance))
        assert record.items_updated >= n // 100, record.items_updated
        changed_times.append(elapsed)
    leans += [timed(target.lean_read)[0] for _ in range(3)]
    lean = statistics.median(leans)
    Instance.objects.filter(name__startswith=f"bench-{target.db_type}").delete()
    target.drop()
    return {
        "engine": target.db_type, "accounts": total, "lean_s": lean, "read": read / lean, "parse": parse / lean,
        "first": statistics.median(firsts) / lean, "floor": floor / lean,
        "floor_rolled_back": floor_rolled_back / lean, "nochange": statistics.median(agains) / lean,
        "changed": statistics.median(changed_times) / lean, "changed_n": record.items_updated,
        "classify": classify / lean, "lean_spread": (min(leans), max(leans)), "adds": statistics.median(adds) / lean,
        # PostgreSQL with --databases: how many databases the adapter read objects in
        "databases_read": len(rows["objects"]) if extra else 0, "closed": closed,
    }  # fmt: skip


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--engine", choices=["mysql", "postgresql", "both"], default="both")
    parser.add_argument("--owned-tables", type=int, default=0, help="PostgreSQL: tables owned by a group role")
    parser.add_argument("--databases", type=int, default=0, help="PostgreSQL: more databases, with grants in each")
    parser.add_argument(
        "--closed-databases", type=int, default=0, help="PostgreSQL: of the --databases, how many allow no connection"
    )
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings_bench"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    targets = {"mysql": [MariaDBTarget], "postgresql": [PostgreSQLTarget]}.get(
        args.engine, [MariaDBTarget, PostgreSQLTarget]
    )
    rows = []
    for cls in targets:
        target = cls(args.owned_tables, args.databases, args.closed_databases) if cls is PostgreSQLTarget else cls()
        try:
            rows.append(bench(target, args.accounts))
            print(rows[-1], flush=True)  # each engine's figures as soon as they exist
        except BaseException:
            target.drop()  # the shared servers keep nothing of a failed run
            raise
    from django.db import connection

    print(f"metadata database: PostgreSQL {connection.pg_version // 10000} "
          f"({'DATABASE_URL' if os.environ.get('DATABASE_URL') else 'embedded, var/bench/pgdata'}); "
          "targets' superuser as the monitored login; inline sync; one machine for all")  # fmt: skip
    print("| engine | accounts | lean read | adapter read | its parsing | first sync (baseline) "
          "| its writes, server-side alone, committed (rolled back) "
          "| target: 1.5 × (committed writes + read) | no-change resync | 1% changed "
          "| its classification (own session) | first sync with an add row per account (before) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        low, high = r["lean_spread"]
        engine_note = f" ({r['databases_read']} databases read)" if r["databases_read"] else ""
        if r["closed"]:
            engine_note += f" ({r['closed']} not allowing connections: a partial read)"
        print(
            f"| {r['engine']}{engine_note} | {r['accounts']} | 1.00 ({r['lean_s']:.3f} s; {low:.3f}–{high:.3f}) "
            f"| {r['read']:.2f}× | {r['parse']:.2f}× | **{r['first']:.2f}×** "
            f"| {r['floor']:.2f}× ({r['floor_rolled_back']:.2f}×) "
            f"| {1.5 * (r['floor'] + 1):.2f}× | **{r['nochange']:.2f}×** "
            f"| {r['changed']:.2f}× ({r['changed_n']} changed) | {r['classify']:.2f}× | {r['adds']:.2f}× |"
        )


if __name__ == "__main__":
    main()

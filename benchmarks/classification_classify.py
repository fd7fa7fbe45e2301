"""Benchmark: auto-classification of 100,000 accounts × 20 rules on one instance.

Measured in one run, each the median of 3:

- **lean read** (independent baseline): the accounts' facts read with psycopg
  and decoded with ``json.loads`` — what any script evaluating rules would
  have to read first; no project code;
- **evaluation alone**: the 20 rules evaluated in memory over the accounts'
  facts already read and decoded (``classification.selectors.subjects_evaluate``,
  each account's privilege index built as a run builds it);
- **first run**: ``classification_auto_classify`` for the instance, the
  user-visible path (session, read, evaluate, one transaction writing every
  assignment, its history and the day's stats; commit included), on a clean
  slate each time;
- **no-change run**: the same right after, which must write nothing (it
  recognises the instance's state digest and evaluates nothing);
- **no-change, full comparison**: the same without the stored digest (as
  after an upgrade of the evaluating code): read, evaluate, compare, write
  nothing.

Target (issue 13): no-change run ≤ 2× evaluation alone.

    .venv/bin/python benchmarks/classification_classify.py [--accounts 100000] [--rules 20]

Metadata DB: a throwaway embedded PostgreSQL (whalefall.settings_test) unless
DATABASE_URL is set. Settings that differ from production: none (the test
settings only change the Django secret key, password hashing and logging).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whalefall.settings_test")

import django

django.setup()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from classification.models import (  # noqa: E402
    AccountClassification,
    AccountClassificationAssignment,
    AccountClassificationHistory,
    ClassificationDailyStat,
    InstanceClassificationState,
)
from classification.selectors import account_subjects, active_rules, rule_set_compile, subjects_evaluate  # noqa: E402
from classification.services import classification_auto_classify, rule_create  # noqa: E402
from tests.support.factories import make_fake_instance  # noqa: E402

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX")


def facts_of(i: int) -> dict:
    """Deterministic, varied facts: a few privileges at database/object level, some via roles."""
    privileges = [
        {"privilege": PRIVILEGES[(i + k) % len(PRIVILEGES)], "level": "database" if k % 2 else "object",
         "target": f"db{(i + k) % 50}" + ("" if k % 2 else f".t{k}"), "grantable": (i + k) % 11 == 0,
         "state": "GRANT", "via": ["app_rw"] if k == 2 else [], "via_set_role": False}
        for k in range(4 + i % 5)
    ]  # fmt: skip
    return {"is_superuser": i % 97 == 0, "can_grant": i % 13 == 0, "is_locked": i % 29 == 0, "can_login": True,
            "roles": ["app_rw"] if i % 3 == 0 else [], "privileges": privileges}  # fmt: skip


def rules(n: int) -> list[dict]:
    """``n`` rules of the kinds the default set has: flags, privileges by level/target, roles, composites."""
    shapes = [
        {"fn": "is_superuser"}, {"fn": "can_grant"},
        {"op": "or", "args": [{"fn": "is_locked"}, {"op": "not", "args": [{"fn": "can_login"}]}]},
        {"fn": "has_role", "role": "app_rw"},
    ]  # fmt: skip
    for k in range(n - len(shapes)):
        name = PRIVILEGES[k % len(PRIVILEGES)]
        leaf = {"fn": "has_privilege", "privilege": name, "target": f"db{k % 50}*"}
        if k % 3 == 0:
            leaf["level"] = "database"
        if k % 4 == 0:
            leaf["grantable"] = True
        shapes.append(leaf if k % 2 else {"op": "and", "args": [leaf, {"op": "not", "args": [{"fn": "is_locked"}]}]})
    return shapes[:n]


def setup(accounts: int, rule_count: int):
    call_command("migrate", verbosity=0)
    instance = make_fake_instance(name=f"bench-classify-{os.getpid()}")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH new AS (
                INSERT INTO instance_accounts (instance_id, username, host, is_active, first_seen_at, last_seen_at)
                SELECT %s, 'user' || lpad(g::text, 6, '0'), '', true, now(), now() FROM generate_series(1, %s) g
                RETURNING id, username
            )
            INSERT INTO account_permissions (instance_account_id, snapshot, facts, is_superuser, can_grant, is_locked,
                                             roles, updated_at, state_hash)
            SELECT new.id, '{}', d.facts, false, false, false, '{}', now(), ''
            FROM new JOIN jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS d(facts, n)
              ON d.n = substr(new.username, 5)::int
            """,
            [instance.pk, accounts, json.dumps([facts_of(i) for i in range(accounts)])],
        )
    classifications = [
        AccountClassification.objects.create(code=f"bench{k:02d}", name=f"Bench {k}", priority=k)
        for k in range(rule_count)
    ]
    for k, (classification, expression) in enumerate(zip(classifications, rules(rule_count), strict=True)):
        rule_create(classification=classification, db_type="fake", name=f"bench rule {k}", expression=expression)
    return instance


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def lean_read(instance_id: int) -> None:
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
                         dbname=settings["NAME"], autocommit=True) as conn:  # fmt: skip
        rows = conn.execute(
            "SELECT a.id, p.facts::text FROM instance_accounts a JOIN account_permissions p "
            "ON p.instance_account_id = a.id WHERE a.instance_id = %s AND a.is_active",
            (instance_id,),
        ).fetchall()
        [json.loads(facts) for _, facts in rows]


def clean_slate() -> None:
    AccountClassificationHistory.objects.all().delete()
    AccountClassificationAssignment.objects.all().delete()
    ClassificationDailyStat.objects.all().delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=20)
    args = parser.parse_args()
    instance = setup(args.accounts, args.rules)
    subjects = account_subjects(instance_id=instance.pk)
    rule_set = rule_set_compile(list(active_rules(db_type="fake")))
    samples: dict[str, list[float]] = {
        "lean read": [], "evaluation alone": [], "first run": [], "no-change run": [], "no-change, full comparison": [],
    }  # fmt: skip
    written = None
    for _ in range(3):
        samples["lean read"].append(timed(lambda: lean_read(instance.pk)))
        fresh = [replace(item, subject=item.subject.fresh()) for item in subjects]  # per-account indexes not built
        samples["evaluation alone"].append(
            timed(lambda fresh=fresh: subjects_evaluate(subjects=fresh, rule_set=rule_set))
        )
        clean_slate()
        samples["first run"].append(timed(lambda: classification_auto_classify(instance_ids=[instance.pk])))
        before = AccountClassificationHistory.objects.count()
        session = None

        def again():
            nonlocal session
            session = classification_auto_classify(instance_ids=[instance.pk])

        samples["no-change run"].append(timed(again))
        record = session.records.get()
        written = (record.items_created, record.items_updated, record.items_deleted,
                   AccountClassificationHistory.objects.count() - before)  # fmt: skip
        InstanceClassificationState.objects.all().delete()  # as after an upgrade of the evaluating code
        samples["no-change, full comparison"].append(timed(again))
        full = session.records.get()
        assert (full.items_created, full.items_updated, full.items_deleted) == (0, 0, 0), full.sync_details
    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["evaluation alone"]
    assignments = AccountClassificationAssignment.objects.count()
    print(f"{args.accounts} accounts × {args.rules} rules on one instance; {assignments} assignments")
    print(f"{'step':<27} {'median':>9}  {'× evaluation':>12}  {'× lean read':>11}")
    for name, value in medians.items():
        print(f"{name:<27} {value:>8.2f}s  {value / base:>11.2f}×  {value / medians['lean read']:>10.2f}×")
    print(f"no-change run wrote (created, updated, deleted, history rows): {written}")
    ratio = medians["no-change run"] / base
    print(f"target no-change run ≤ 2× evaluation: {'met' if ratio <= 2 else 'NOT met'} ({ratio:.2f}×)")


if __name__ == "__main__":
    main()

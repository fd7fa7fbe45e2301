"""The demo set: a few clearly labelled, inactive instances with history, so a first look at the
console shows charts, forecasts, changes, risks and a failed run.

Demo instances are named ``demo-…``, tagged ``demo``, point at ``*.demo.invalid`` hosts and are
inactive, so no schedule or batch over "every active instance" contacts them. Everything else
is written through the apps' own services (accounts, capacity, classification, sessions),
except the days before today of the size history and the classification counts, which are
bulk-inserted as a collection and a classification run would have left them. ``demo_data_remove``
deletes the instances (their accounts, sizes, assignments, stats and records go with them,
by their foreign keys) and the sessions left without records.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.services import accounts_apply
from capacity.models import DatabaseSizeStat, InstanceDatabase, InstanceSizeStat
from capacity.partitions import partitions_cover
from capacity.services import capacity_aggregate, capacity_apply, instance_database_limit_set
from classification.models import ClassificationDailyStat
from classification.services import classification_auto_classify
from instances.adapters.base import AccountFacts, DatabaseSize, Privilege
from instances.models import Instance, Tag
from instances.services import instance_create, instances_purge
from sync_sessions.models import SyncSession, SyncType
from sync_sessions.services import RecordOutcome, record_finish, record_start, session_create
from whalefall.errors import TargetTimeout

DEMO_TAG = "demo"
DEMO_PREFIX = "demo-"
HISTORY_DAYS = 180
STEP_DAYS_AGO = 60  # the day "orders" jumped (a bulk import): the forecast follows the last ramp
GB = 1024**3


@dataclass(frozen=True)
class DemoDatabase:
    name: str
    start_gb: float  # size HISTORY_DAYS ago
    gb_per_day: float
    step_gb: float = 0.0  # added STEP_DAYS_AGO days ago
    limit_gb: float | None = None


@dataclass(frozen=True)
class DemoInstance:
    name: str
    db_type: str
    port: int
    environment: str
    databases: tuple[DemoDatabase, ...]
    accounts_before: tuple[AccountFacts, ...]
    accounts_now: tuple[AccountFacts, ...]


def _p(level: str, privilege: str, target: str = "", *, grantable: bool = False, via: tuple[str, ...] = ()):
    return Privilege(level=level, privilege=privilege, target=target, grantable=grantable, via=via)


_MYSQL_ROOT = AccountFacts("root", "localhost", is_superuser=True, can_grant=True,
                           privileges=(_p("global", "ALL PRIVILEGES", grantable=True),))  # fmt: skip
_MYSQL_APP = AccountFacts("orders_app", "10.%", privileges=tuple(
    _p("database", p, "orders") for p in ("SELECT", "INSERT", "UPDATE", "DELETE")))  # fmt: skip
_MYSQL_REPORT = AccountFacts("report", "%", privileges=(_p("database", "SELECT", "orders"),))
_PG_APP = AccountFacts("billing_app", roles=("billing_rw",), privileges=tuple(
    _p("schema", p, "billing.public", via=("billing_rw",)) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")
))  # fmt: skip

DEMO_INSTANCES = (
    DemoInstance(
        "demo-mysql-orders", "mysql", 3306, "production",
        (DemoDatabase("orders", 40, 0.12, step_gb=12, limit_gb=80), DemoDatabase("customers", 8, 0.02),
         DemoDatabase("audit", 2, 0.0)),
        accounts_before=(_MYSQL_ROOT, _MYSQL_APP, _MYSQL_REPORT,
                         AccountFacts("old_admin", "%", is_locked=True, can_grant=True,
                                      privileges=(_p("global", "ALL PRIVILEGES", grantable=True),))),
        accounts_now=(_MYSQL_ROOT, _MYSQL_APP,
                      AccountFacts("report", "%", privileges=(_p("database", "SELECT", "orders"),
                                                              _p("database", "SELECT", "customers"))),
                      AccountFacts("migration_dba", "%", is_superuser=True, can_grant=True,
                                   privileges=(_p("global", "ALL PRIVILEGES", grantable=True),))),
    ),
    DemoInstance(
        "demo-pg-billing", "postgresql", 5432, "production",
        (DemoDatabase("billing", 25, 0.3, limit_gb=90), DemoDatabase("reporting", 12, 0.05)),
        accounts_before=(AccountFacts("postgres", is_superuser=True, can_grant=True), _PG_APP),
        accounts_now=(AccountFacts("postgres", is_superuser=True, can_grant=True), _PG_APP,
                      AccountFacts("analyst", roles=("pg_read_all_data",),
                                   privileges=(_p("global", "SELECT", via=("pg_read_all_data",)),))),
    ),
    DemoInstance(
        "demo-mssql-erp", "sqlserver", 1433, "staging",
        (DemoDatabase("ERP", 60, 0.1), DemoDatabase("ERP_archive", 120, 0.0)),
        accounts_before=(AccountFacts("sa", is_superuser=True, can_grant=True, is_locked=True),
                         AccountFacts("erp_app", privileges=(_p("database", "CONTROL", "ERP"),))),
        accounts_now=(AccountFacts("sa", is_superuser=True, can_grant=True, is_locked=True),
                      AccountFacts("erp_app", privileges=(_p("database", "CONTROL", "ERP"),))),
    ),
    DemoInstance(
        "demo-oracle-hr", "oracle", 1521, "testing",
        (DemoDatabase("HR", 5, 0.01),),
        accounts_before=(AccountFacts("SYSTEM", roles=("DBA",), is_superuser=True, can_grant=True),
                         AccountFacts("HR", privileges=(_p("global", "CREATE ANY TABLE"),))),
        accounts_now=(AccountFacts("SYSTEM", roles=("DBA",), is_superuser=True, can_grant=True),
                      AccountFacts("HR", privileges=(_p("global", "CREATE ANY TABLE"),))),
    ),
)  # fmt: skip


def demo_instances():
    return Instance.objects.filter(tags__name=DEMO_TAG, name__startswith=DEMO_PREFIX)


def _size(db: DemoDatabase, days_ago: int, noise: random.Random) -> int:
    gb = db.start_gb + db.gb_per_day * (HISTORY_DAYS - 1 - days_ago)
    if days_ago <= STEP_DAYS_AGO:
        gb += db.step_gb
    return max(int(gb * GB * (1 + noise.uniform(-0.002, 0.002))), 0)


def _history(instance: Instance, spec: DemoInstance, today: dt.date, now: dt.datetime) -> None:
    """The size history before today, as daily collections would have stored it."""
    noise = random.Random(spec.name)
    db_rows, totals = [], []
    for days_ago in range(HISTORY_DAYS - 1, 0, -1):
        day = today - dt.timedelta(days=days_ago)
        at = now - dt.timedelta(days=days_ago)
        sizes = [(db.name, _size(db, days_ago, noise)) for db in spec.databases]
        db_rows += [DatabaseSizeStat(instance=instance, database_name=name, size_bytes=size, collected_date=day,
                                     collected_at=at) for name, size in sizes]  # fmt: skip
        totals.append(InstanceSizeStat(instance=instance, total_size_bytes=sum(s for _, s in sizes),
                                       database_count=len(sizes), collected_date=day, collected_at=at))  # fmt: skip
    DatabaseSizeStat.objects.bulk_create(db_rows, batch_size=2000)
    InstanceSizeStat.objects.bulk_create(totals, batch_size=2000)


def _failed_run(instances: list[Instance]) -> SyncSession:
    """A capacity collection in which the Oracle demo instance timed out."""
    session = session_create(sync_type=SyncType.MANUAL_BATCH, sync_category="capacity", instances=instances)
    databases = {spec.name: len(spec.databases) for spec in DEMO_INSTANCES}
    for record in session.records.select_related("instance"):
        record_start(record=record)
        if record.instance.db_type_id == "oracle":
            error = TargetTimeout("Demo: no answer within the 10 s connect timeout.", instance_id=record.instance_id)
            record_finish(record=record, error=error)
        else:
            outcome = RecordOutcome(synced=databases[record.instance_name], details={"demo": True})
            record_finish(record=record, outcome=outcome)
    session.refresh_from_db()
    return session


def _classification_history(instance_ids: list[int], today: dt.date) -> None:
    """Counts of the 29 days before today, from today's (one account fewer before the last week)."""
    today_rows = list(ClassificationDailyStat.objects.filter(date=today, instance_id__in=instance_ids))
    ClassificationDailyStat.objects.bulk_create(
        ClassificationDailyStat(date=today - dt.timedelta(days=d), classification_id=row.classification_id,
                                db_type_id=row.db_type_id, instance_id=row.instance_id,
                                account_count=max(row.account_count - (d > 7), 0))
        for row in today_rows for d in range(1, 30)
    )  # fmt: skip


def _demo_instance(spec: DemoInstance, *, today: dt.date, now: dt.datetime) -> Instance:
    instance = instance_create(
        name=spec.name, db_type=spec.db_type, host=f"{spec.name}.demo.invalid", port=spec.port,
        environment=spec.environment, is_active=False, tags=[DEMO_TAG],
        description="Demo data: not a real server. `manage.py demo_data --remove` deletes it.",
    )  # fmt: skip
    _history(instance, spec, today, now)
    sizes = [DatabaseSize(db.name, _size(db, 0, random.Random(spec.name))) for db in spec.databases]
    capacity_apply(instance=instance, inventory=[db.name for db in spec.databases], sizes=sizes, now=now)
    for db in spec.databases:
        if db.limit_gb:
            database = InstanceDatabase.objects.get(instance=instance, name=db.name)
            instance_database_limit_set(database=database, size_limit_bytes=int(db.limit_gb * GB))
    accounts_apply(instance=instance, accounts=spec.accounts_before)
    accounts_apply(instance=instance, accounts=spec.accounts_now)
    return instance


@dataclass(frozen=True)
class DemoLoad:
    instances: list[Instance]
    created: bool  # False: the demo set was present already, nothing written


def demo_data_load() -> DemoLoad:
    """Add the demo set (unless present): instances, 180 days of sizes with a step change and
    their roll-ups, accounts with a change history, classifications and a failed run."""
    existing = list(demo_instances().order_by("name"))
    if existing:
        return DemoLoad(existing, created=False)
    now = timezone.now()
    today = timezone.localdate(now)
    start = today - dt.timedelta(days=HISTORY_DAYS - 1)
    partitions_cover(tables=["database_size_stats", "instance_size_stats"], start=start, end=today)
    instances: list[Instance] = []
    try:  # each service commits its own (durable) transaction: a failure midway removes the part written
        for spec in DEMO_INSTANCES:
            instances.append(_demo_instance(spec, today=today, now=now))
        ids = [i.pk for i in instances]
        capacity_aggregate(period_types=["daily", "weekly", "monthly", "quarterly"], start=start, end=today,
                           instance_ids=ids)  # fmt: skip
        classification_auto_classify(instance_ids=ids)
        _classification_history(ids, today)
        _failed_run(instances)
    except BaseException:
        demo_data_remove()
        raise
    return DemoLoad(instances, created=True)


@transaction.atomic(durable=True)
def demo_data_remove() -> int:
    """Delete the demo set; returns how many demo instances were deleted."""
    instances = demo_instances()
    ids = list(instances.values_list("pk", flat=True))
    session_ids = set(
        SyncSession.objects.filter(records__instance_id__in=ids).values_list("session_id", flat=True).distinct()
    )
    instances_purge(instance_ids=ids)
    SyncSession.objects.filter(session_id__in=session_ids, records__isnull=True).delete()
    Tag.objects.filter(name=DEMO_TAG, instances__isnull=True).delete()
    return len(ids)

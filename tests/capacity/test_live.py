"""Capacity collection and table sizes end to end against this machine's MariaDB and PostgreSQL.

Databases carry the run prefix (names that need quoting included) and are
dropped afterwards; the monitoring login has exactly the GRANTs documented in
docs/adapters.md. Skipped without the servers, failing under CI.
"""

from __future__ import annotations

import pytest
from psycopg import sql as pgsql

from capacity.models import DatabaseSizeCurrent, DatabaseTableSizeStat, InstanceDatabase, InstanceSizeStat
from capacity.services import capacity_collect_all, table_sizes_refresh
from instances.services import instance_update
from tests.live_targets import RUN_PREFIX, mysql_ident
from tests.support.factories import make_credential, make_instance
from whalefall.errors import NotFound, TargetError

pytestmark = [pytest.mark.django_db, pytest.mark.live]


@pytest.fixture(autouse=True)
def no_backoff(settings):
    settings.WHALEFALL = {**settings.WHALEFALL, "CAPACITY_RETRY_BACKOFF_SECONDS": 0}


def instance_for(params, db_type, **overrides):
    values = {"host": params.host, "port": params.port, **overrides}
    credential = make_credential(username=params.username, password=params.password)
    return make_instance(db_type=db_type, credential=credential, **values)


def collect(*instances):
    session = capacity_collect_all(instance_ids=[i.pk for i in instances])
    return session, {r.instance_name: r for r in session.records.all()}


def current(instance) -> dict[str, int]:
    return dict(DatabaseSizeCurrent.objects.filter(instance=instance).values_list("database_name", "size_bytes"))


def test_mariadb_collect_grow_drop_and_table_sizes(mysql_scratch, mysql_monitor, closed_port):
    quoted, plain = f"{RUN_PREFIX}cap sales-1", f"{RUN_PREFIX}cap_drop"
    for name in (quoted, plain):
        mysql_scratch.later(f"DROP DATABASE IF EXISTS {mysql_ident(name)}")
        mysql_scratch.run(f"CREATE DATABASE {mysql_ident(name)}")
    table = f"{mysql_ident(quoted)}.`orders`"
    mysql_scratch.run(f"CREATE TABLE {table} (id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(200)) ENGINE=InnoDB")
    mysql_scratch.run(f"CREATE TABLE {mysql_ident(quoted)}.`gone` (id INT) ENGINE=Aria")
    mysql_scratch.run(f"INSERT INTO {table} (note) SELECT REPEAT('x', 200) FROM {mysql_ident(quoted)}.seq_1_to_2000")
    mysql_scratch.run(f"ANALYZE TABLE {table}")  # InnoDB sizes in information_schema follow its statistics
    inst = instance_for(mysql_monitor, "mysql")
    down = instance_for(mysql_monitor, "mysql", port=closed_port, connect_timeout=2)

    session, records = collect(inst, down)
    assert records[inst.name].status == "completed", records[inst.name].error_message
    assert records[down.name].status == "failed" and "after 3 attempts" in records[down.name].error_message
    assert session.status == "failed" and session.successful_instances == 1
    first = current(inst)[quoted]
    assert first > 0

    mysql_scratch.run(f"INSERT INTO {table} (note) SELECT REPEAT('y', 200) FROM {mysql_ident(quoted)}.seq_1_to_20000")
    mysql_scratch.run(f"ANALYZE TABLE {table}")
    mysql_scratch.run(f"DROP DATABASE {mysql_ident(plain)}")
    session, records = collect(inst)
    assert session.status == "completed"
    assert current(inst)[quoted] > first
    assert plain not in current(inst)
    dropped = InstanceDatabase.objects.get(instance=inst, name=plain)
    assert not dropped.is_active and dropped.deleted_at
    assert InstanceSizeStat.objects.filter(instance=inst).count() == 1  # same day: overwritten

    result = table_sizes_refresh(instance=inst, database=quoted)
    assert {t.table_name for t in DatabaseTableSizeStat.objects.filter(instance=inst)} == {"orders", "gone"}
    orders = DatabaseTableSizeStat.objects.get(instance=inst, table_name="orders")
    assert orders.size_bytes > 0 and orders.row_count > 0 and result.tables == 2
    mysql_scratch.run(f"DROP TABLE {mysql_ident(quoted)}.`gone`")
    assert table_sizes_refresh(instance=inst, database=quoted).deleted == 1

    instance_update(instance=inst, port=closed_port, connect_timeout=2)
    with pytest.raises(TargetError):
        table_sizes_refresh(instance=inst, database=quoted)
    assert list(DatabaseTableSizeStat.objects.filter(instance=inst).values_list("table_name", flat=True)) == ["orders"]


@pytest.mark.smoke
def test_postgresql_collect_grow_drop_and_table_sizes(pg_scratch, pg_monitor):
    quoted, plain = f'{RUN_PREFIX}cap "Q" db', f"{RUN_PREFIX}cap_drop"
    for name in (quoted, plain):
        ident = pgsql.Identifier(name)
        pg_scratch.later(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        pg_scratch.run(pgsql.SQL("CREATE DATABASE {}").format(ident))
    pg_scratch.run("CREATE TABLE orders (id serial PRIMARY KEY, note text)", database=quoted)
    pg_scratch.run("CREATE TABLE gone (id int)", database=quoted)
    pg_scratch.run("INSERT INTO orders (note) SELECT repeat('x', 200) FROM generate_series(1, 2000)", database=quoted)
    inst = instance_for(pg_monitor, "postgresql")

    session, records = collect(inst)
    assert session.status == "completed", records[inst.name].error_message
    first = current(inst)[quoted]
    assert first > 0 and current(inst)[plain] > 0

    pg_scratch.run("INSERT INTO orders (note) SELECT repeat('y', 200) FROM generate_series(1, 20000)", database=quoted)
    pg_scratch.run(pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(pgsql.Identifier(plain)))
    session, records = collect(inst)
    assert session.status == "completed", records[inst.name].error_message
    assert current(inst)[quoted] > first and plain not in current(inst)
    assert not InstanceDatabase.objects.get(instance=inst, name=plain).is_active
    total = InstanceSizeStat.objects.get(instance=inst)
    assert total.total_size_bytes == sum(current(inst).values()) and total.database_count == len(current(inst))

    pg_scratch.run("ANALYZE orders", database=quoted)
    table_sizes_refresh(instance=inst, database=quoted)
    stored = {t.table_name: t for t in DatabaseTableSizeStat.objects.filter(instance=inst, database_name=quoted)}
    assert set(stored) == {"orders", "gone"} and stored["orders"].size_bytes > 0
    assert stored["orders"].row_count == 22000 and stored["orders"].index_bytes > 0
    pg_scratch.run("DROP TABLE gone", database=quoted)
    assert table_sizes_refresh(instance=inst, database=quoted).deleted == 1
    with pytest.raises(NotFound):  # no such database: an error (404, nothing contacted), the snapshot stays
        table_sizes_refresh(instance=inst, database=f"{RUN_PREFIX}missing")
    assert DatabaseTableSizeStat.objects.filter(instance=inst).count() == 1

"""Capacity test fixtures: the fake engine and partitions for arbitrary days.
(Live MariaDB/PostgreSQL fixtures come from tests/live_targets.py.)"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection

from capacity.partitions import add_months, month_start, partition_name
from instances.adapters import registry
from instances.models import DatabaseType
from tests.capacity.fakes import FakeCapacityAdapter
from tests.support.factories import make_instance


@pytest.fixture
def fake_engine(db, monkeypatch, settings):
    """Register db type "fake" → FakeCapacityAdapter; capacity retries without waiting."""
    DatabaseType.objects.get_or_create(name="fake", defaults={"display_name": "Fake", "default_port": 1})
    monkeypatch.setitem(registry.ADAPTERS, "fake", "tests.capacity.fakes.FakeCapacityAdapter")
    settings.WHALEFALL = {**settings.WHALEFALL, "CAPACITY_RETRY_BACKOFF_SECONDS": 0}
    FakeCapacityAdapter.reset()
    yield FakeCapacityAdapter
    FakeCapacityAdapter.reset()


@pytest.fixture
def fake_instance(fake_engine):
    def make(**overrides):
        return make_instance(db_type="fake", host="fake.invalid", port=1, **overrides)

    return make


def in_inventory(instance, *names: str) -> None:
    """Databases a capacity collection would have found (table sizes refresh only those)."""
    from capacity.models import InstanceDatabase

    InstanceDatabase.objects.bulk_create([InstanceDatabase(instance=instance, name=name) for name in names])


def ensure_partition(table: str, day: dt.date) -> None:
    """The monthly partition of ``table`` holding ``day`` (tests write far back in time)."""
    start = month_start(day)
    name = partition_name(table, start)
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{table}" FOR VALUES FROM (%s) TO (%s)',
            [start, add_months(start, 1)],
        )


def ensure_partitions(table: str, start: dt.date, end: dt.date) -> list[str]:
    """Monthly partitions of ``table`` covering ``[start, end]``; returns their names."""
    names, month = [], month_start(start)
    while month <= end:
        ensure_partition(table, month)
        names.append(partition_name(table, month))
        month = add_months(month, 1)
    return names


def partitions_in_plan(plan: str, table: str) -> set[str]:
    """The partitions of ``table`` an EXPLAIN text names: those the planner kept after pruning."""
    return set(re.findall(rf"\b({table}_p\d{{6}})\b", plan))

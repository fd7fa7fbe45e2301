"""collect_capacity and refresh_table_sizes through call_command."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from capacity.models import DatabaseTableSizeStat, InstanceSizeStat
from instances.adapters.base import DatabaseSize, TableSize
from whalefall.errors import TargetUnreachable

pytestmark = pytest.mark.django_db


def test_collect_capacity_progress_and_summary(fake_instance, fake_engine, capsys):
    one, empty = fake_instance(name="one"), fake_instance(name="empty")
    fake_engine.databases["one"] = [DatabaseSize("app", 100)]
    call_command("collect_capacity")
    out = capsys.readouterr().out
    assert "[1/2] empty: ok" in out and "(zero databases)" in out
    assert "[2/2] one: ok  synced=1 created=1" in out
    assert "completed — 2 succeeded, 0 failed of 2" in out
    assert InstanceSizeStat.objects.filter(instance__in=[one, empty]).count() == 2


def test_collect_capacity_failure_exits_non_zero(fake_instance, fake_engine, capsys):
    down = fake_instance(name="down")
    fake_engine.failures["down"] = [TargetUnreachable("no route") for _ in range(3)]
    with pytest.raises(CommandError, match="1 of 1 instance"):
        call_command("collect_capacity", "--instance", str(down.pk))
    assert "FAILED  target_unreachable" in capsys.readouterr().out


def test_collect_capacity_unknown_instance(fake_engine):
    with pytest.raises(CommandError, match="Unknown instance"):
        call_command("collect_capacity", "--instance", "nope")


def test_refresh_table_sizes_one_and_all(fake_instance, fake_engine, capsys):
    inst = fake_instance(name="tbl")
    fake_engine.databases["tbl"] = [DatabaseSize("a", 1), DatabaseSize("b", 1)]
    fake_engine.tables[("tbl", "a")] = [TableSize("a", "t1", 10)]
    with pytest.raises(CommandError, match="no active databases"):
        call_command("refresh_table_sizes", "--instance", str(inst.pk))
    with pytest.raises(CommandError, match="1 of 1 database"):  # not in the inventory yet
        call_command("refresh_table_sizes", "--instance", "tbl", "--database", "a")
    assert "a: FAILED  not_found: Database 'a' is not in the inventory" in capsys.readouterr().out

    call_command("collect_capacity", "--instance", "tbl")
    call_command("refresh_table_sizes", "--instance", "tbl", "--database", "a")
    assert "a: ok  tables=1 created=1" in capsys.readouterr().out
    with pytest.raises(CommandError, match="1 of 2 database"):  # b: the fake knows no tables for it
        call_command("refresh_table_sizes", "--instance", str(inst.pk))
    out = capsys.readouterr().out
    assert "[1/2] a: ok" in out and "[2/2] b: FAILED  target_query_failed" in out
    assert DatabaseTableSizeStat.objects.filter(instance=inst).count() == 1

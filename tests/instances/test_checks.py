"""The system check that every registered adapter imports (instances/checks.py)."""

from __future__ import annotations

from instances.adapters import registry
from instances.checks import adapters_import


def test_every_registered_adapter_imports():
    assert adapters_import() == []


def test_a_broken_registry_entry_fails_the_check(monkeypatch):
    monkeypatch.setitem(registry.ADAPTERS, "db2", "instances.adapters.db2.adapter.Db2Adapter")
    monkeypatch.setitem(registry.ADAPTERS, "mysql", "instances.adapters.postgresql.adapter.PostgreSQLAdapter")
    problems = {problem.id: problem.msg for problem in adapters_import()}
    assert set(problems) == {"instances.E001", "instances.E002"}
    assert "Adapter for 'db2' cannot be loaded" in problems["instances.E001"]
    assert "PostgreSQLAdapter is not a BaseAdapter for db_type 'mysql'" in problems["instances.E002"]

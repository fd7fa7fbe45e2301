"""Explicit map db_type → adapter class (dotted path, imported lazily)."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from instances.adapters.base import BaseAdapter
from whalefall.errors import AdapterUnavailable

ADAPTERS: dict[str, str] = {
    "mysql": "instances.adapters.mysql.adapter.MySQLAdapter",
    "postgresql": "instances.adapters.postgresql.adapter.PostgreSQLAdapter",
    "sqlserver": "instances.adapters.sqlserver.adapter.SQLServerAdapter",
    "oracle": "instances.adapters.oracle.adapter.OracleAdapter",
}


def adapter_paths() -> dict[str, str]:
    """Every registered db_type → dotted path, with settings.WHALEFALL_TEST_ADAPTERS
    (test/benchmark-only extras: the "fake" engine)."""
    return {**getattr(settings, "WHALEFALL_TEST_ADAPTERS", {}), **ADAPTERS}


def get_adapter_class(db_type: str) -> type[BaseAdapter]:
    try:
        path = adapter_paths()[db_type]
    except KeyError:
        raise AdapterUnavailable(f"No adapter for database type {db_type!r}.") from None
    try:
        return import_string(path)
    except ImportError as exc:
        raise AdapterUnavailable(f"Adapter for {db_type!r} cannot be loaded: {exc}") from exc


def get_adapter(instance) -> BaseAdapter:
    """Adapter for an Instance (decrypts its credential; raises typed errors)."""
    return get_adapter_class(instance.db_type_id).for_instance(instance)

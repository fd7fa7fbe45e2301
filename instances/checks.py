"""System check: every adapter in the registry imports and implements the adapter contract.

A typo in ``registry.ADAPTERS`` or a driver missing from the environment then
fails ``manage.py check`` (and every management command) at start-up, not the
first sync of an instance of that engine at 01:00.
"""

from __future__ import annotations

from django.core import checks

from instances.adapters.base import BaseAdapter
from instances.adapters.registry import adapter_paths, get_adapter_class
from whalefall.errors import AdapterUnavailable


@checks.register()
def adapters_import(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    problems: list[checks.CheckMessage] = []
    for db_type, path in adapter_paths().items():
        try:
            adapter_class = get_adapter_class(db_type)
        except AdapterUnavailable as exc:
            problems.append(checks.Error(exc.message, hint=f"Check {path} and its driver.", id="instances.E001"))
            continue
        if not issubclass(adapter_class, BaseAdapter) or adapter_class.db_type != db_type:
            problems.append(
                checks.Error(
                    f"{path} is not a BaseAdapter for db_type {db_type!r}.",
                    id="instances.E002",
                )
            )
    return problems

"""Shared option handling for the batch commands (sync_accounts, collect_capacity, …)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from instances.models import Instance


def add_instance_arguments(parser) -> None:
    parser.add_argument(
        "--instance", action="append", default=[], metavar="ID|NAME", help="Instance id or name; repeatable."
    )
    parser.add_argument("--all", action="store_true", help="Every active instance (the default without --instance).")
    parser.add_argument("--enqueue", action="store_true", help="Hand the work to the qcluster instead of running here.")


def resolve_instance_ids(values: list[str]) -> list[int] | None:
    """Ids for ``--instance`` values (ids or names); None means all active."""
    if not values:
        return None
    ids, names = [], []
    for value in values:
        (ids if value.isdigit() else names).append(int(value) if value.isdigit() else value)
    by_name = dict(Instance.objects.filter(name__in=names).values_list("name", "pk"))
    unknown = sorted(set(names) - by_name.keys())
    if unknown:
        raise CommandError(f"Unknown instance name(s): {', '.join(unknown)}")
    return ids + list(by_name.values())


def validation_message(exc: ValidationError) -> str:
    return "; ".join(" ".join(m) for m in exc.message_dict.values()) if hasattr(exc, "error_dict") else str(exc)

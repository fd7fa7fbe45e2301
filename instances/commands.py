"""Option handling shared by the management commands that take instances (test_connection,
the batch commands of the apps above, refresh_table_sizes)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from instances.models import Instance
from instances.selectors import instances_for_batch

DEFAULT_ALL_HELP = "Every active instance (the default without --instance)."


def add_instance_arguments(parser, *, help_all: str = DEFAULT_ALL_HELP) -> None:
    parser.add_argument(
        "--instance", action="append", default=[], metavar="ID|NAME", help="Instance id or name; repeatable."
    )
    parser.add_argument("--all", action="store_true", help=help_all)


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


def instances_from_arguments(*, instance: list[str], all: bool) -> list[Instance]:
    """The instances ``--instance``/``--all`` select (every active one by default), by name;
    a conflict, an unknown name or id is a CommandError."""
    if instance and all:
        raise CommandError("Use either --instance or --all.")
    try:
        return instances_for_batch(instance_ids=resolve_instance_ids(instance))
    except ValidationError as exc:
        raise CommandError(validation_message(exc)) from exc

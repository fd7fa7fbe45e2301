"""Named reads of instances."""

from __future__ import annotations

from collections.abc import Sequence

from instances.models import Instance
from whalefall.csv_export import CsvColumns
from whalefall.errors import unprocessable


def instances_for_batch(*, instance_ids: Sequence[int] | None) -> list[Instance]:
    """Instances a batch runs over, ordered by name: every active instance, or
    exactly the given ids (unknown or deleted ids are a ValidationError, so a
    typo never silently shrinks a batch)."""
    instances = Instance.objects.select_related("credential").order_by("name")
    if instance_ids is None:
        return list(instances.active())
    found = list(instances.filter(pk__in=instance_ids, deleted_at__isnull=True))
    missing = sorted(set(instance_ids) - {i.pk for i in found})
    if missing:
        raise unprocessable("instance_ids", f"Unknown or deleted instance id(s): {missing}", code="does_not_exist")
    return found


#: the list's columns in a CSV export (admin "Export as CSV" and the API's ?format=csv)
INSTANCE_CSV_COLUMNS: CsvColumns = (
    ("id", "id"), ("name", "name"), ("db_type", "db_type_id"), ("host", "host"), ("port", "port"),
    ("database", "database_name"), ("environment", "environment"), ("active", "is_active"),
    ("credential", "credential__name"), ("version", "version"), ("last_connected_at", "last_connected_at"),
    ("size_limit_bytes", "size_limit_bytes"), ("deleted_at", "deleted_at"),
)  # fmt: skip

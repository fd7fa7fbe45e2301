"""Named reads of instances."""

from __future__ import annotations

from collections.abc import Sequence

from instances.adapters.privileges import PrivilegeReport, ordered
from instances.adapters.registry import get_adapter
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


def instances_check_privileges(*, instance: Instance) -> PrivilegeReport:
    """Whether ``instance``'s monitoring login can run each collector (account sync, database
    sizes, table sizes; PostgreSQL and SQL Server: CONNECT per database), each failing check
    with the GRANT that fixes it (instances/adapters/privileges.py).

    Reads only, on the target and here (no metadata query beyond the credential, which
    ``instance`` should carry with ``select_related``); bounded by the instance's connect and
    statement timeouts. Failing to connect raises the adapter's typed error (TargetUnreachable,
    TargetAuthFailed, TargetTimeout, CredentialError, AdapterUnavailable, …), never an empty report."""
    checks = get_adapter(instance).check_privileges()
    return PrivilegeReport(instance_id=instance.pk, instance_name=instance.name, checks=ordered(checks))


#: the list's columns in a CSV export (admin "Export as CSV" and the API's ?format=csv)
INSTANCE_CSV_COLUMNS: CsvColumns = (
    ("id", "id"), ("name", "name"), ("db_type", "db_type_id"), ("host", "host"), ("port", "port"),
    ("database", "database_name"), ("environment", "environment"), ("active", "is_active"),
    ("credential", "credential__name"), ("version", "version"), ("last_connected_at", "last_connected_at"),
    ("size_limit_bytes", "size_limit_bytes"), ("deleted_at", "deleted_at"),
)  # fmt: skip

"""Named reads of instances."""

from __future__ import annotations

from collections.abc import Sequence

from instances.models import Instance
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

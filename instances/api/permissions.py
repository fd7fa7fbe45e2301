"""Permission for the action endpoints (test connection, sync accounts, …).

Actions run work against monitored instances; they need the custom
``instances.sync_instance`` permission (given to the ``operator`` and
``admin`` groups; superusers have every permission).
"""

from __future__ import annotations

from instances.models import SYNC_INSTANCE_PERMISSION
from whalefall.api import required_permission

#: authenticated and holding ``instances.sync_instance``
CanSyncInstances = required_permission(
    SYNC_INSTANCE_PERMISSION, "You need the 'Can run syncs and connection tests on instances' permission."
)

#: authenticated and holding ``instances.delete_instance`` (restoring undoes a delete)
DeleteInstances = required_permission("instances.delete_instance", "You need the permission to delete instances.")

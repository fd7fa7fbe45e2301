"""Permission for the action endpoints (test connection, sync accounts, …).

Actions run work against monitored instances; they need the custom
``instances.sync_instance`` permission (given to the ``operator`` and
``admin`` groups; superusers have every permission).
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from instances.models import SYNC_INSTANCE_PERMISSION


class CanSyncInstances(BasePermission):
    """Authenticated and holding ``instances.sync_instance``."""

    message = "You need the 'Can run syncs and connection tests on instances' permission."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(SYNC_INSTANCE_PERMISSION))

"""django-q2 entry points of the audit trail."""

from __future__ import annotations

from audit.services import audit_purge


def audit_purge_scheduled() -> int:
    """Daily: delete the events older than WHALEFALL_AUDIT_RETENTION_DAYS."""
    return audit_purge()

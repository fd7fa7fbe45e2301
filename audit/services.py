"""Writes of the audit trail: one event per call, and the retention purge."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.utils import timezone

from audit.context import current_actor
from audit.models import AuditEvent

logger = logging.getLogger(__name__)

#: detail values are cut to this many characters (a query string, an error message)
DETAIL_MAX_CHARS = 2000


def _bounded(value: Any) -> Any:
    if isinstance(value, str):
        return value[:DETAIL_MAX_CHARS]
    if isinstance(value, dict):
        return {str(k)[:200]: _bounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_bounded(v) for v in value[:100]]
    return value


def audit_record(
    *,
    action: str,
    outcome: str = "success",
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    status_code: int | None = None,
    detail: dict[str, Any] | None = None,
    username: str | None = None,
    user=None,
) -> AuditEvent:
    """Record one event by the current actor (``audit.context``). ``obj`` fills ``object_type``
    (its model label) and ``object_id``; ``user`` (a login) or ``username`` (a failed login: the
    name tried) override the actor's."""
    actor = current_actor()
    if obj is not None:
        object_type, object_id = obj._meta.label_lower, str(obj.pk)
    user_id = actor.user_id
    if user is not None:
        user_id, username = user.pk, user.get_username()
    return AuditEvent.objects.create(
        user_id=user_id,
        username=(actor.username if username is None else username)[:150],
        channel=actor.channel,
        action=action[:200],
        object_type=object_type[:100],
        object_id=str(object_id)[:100],
        outcome=outcome,
        status_code=status_code,
        remote_addr=actor.remote_addr,
        detail=_bounded(detail or {}),
    )


_PURGE_SQL = """
DELETE FROM audit_events WHERE id IN (
    SELECT id FROM audit_events WHERE occurred_at < %s ORDER BY occurred_at LIMIT %s
)
"""


def audit_purge(*, before: dt.datetime | None = None, batch_size: int = 10_000) -> int:
    """Delete the events older than ``before`` (default: now minus WHALEFALL_AUDIT_RETENTION_DAYS;
    0 days keeps everything) in batches of ``batch_size``, each its own transaction, so a big
    purge never holds one long lock. Returns the number deleted."""
    if before is None:
        days = settings.WHALEFALL["AUDIT_RETENTION_DAYS"]
        if days == 0:
            return 0
        before = timezone.now() - dt.timedelta(days=days)
    deleted = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(_PURGE_SQL, [before, batch_size])
            count = cursor.rowcount
        deleted += count
        if count < batch_size:
            break
    if deleted:
        logger.info("audit: deleted %d events before %s", deleted, before.isoformat())
    return deleted

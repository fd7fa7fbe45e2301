"""django-q2 entry points for account sync (ids in, summaries out)."""

from accounts.services import accounts_sync_all


def accounts_sync_scheduled() -> str:
    """Daily: one task per active instance, fanned out to the cluster."""
    session = accounts_sync_all(scheduled=True, enqueue=True)
    return str(session.session_id)

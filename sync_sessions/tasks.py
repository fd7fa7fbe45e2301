"""django-q2 entry points (scheduled by name by ``manage.py setup_schedules``)."""

from sync_sessions.services import sessions_cleanup, sessions_reap


def sessions_maintenance() -> dict:
    """Daily: reap stuck sessions, then delete those past the retention."""
    return {"reaped": sessions_reap(), "deleted": sessions_cleanup()}

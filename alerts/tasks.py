"""django-q2 entry points for alerts (scheduled by name by ``manage.py setup_schedules``)."""

from alerts.services import alerts_run


def alerts_run_scheduled() -> str:
    """Every 5 minutes: detect new conditions, send the immediate channels' alerts."""
    detected, delivered = alerts_run()
    return f"{detected.new} new events; {delivered.sent} sent, {delivered.failed} failed"


def alerts_digest_scheduled() -> str:
    """Daily 07:00: detect, then send each digest channel its events since its last digest."""
    detected, delivered = alerts_run(digest=True)
    return f"{detected.new} new events; digests: {delivered.sent} events sent, {delivered.failed} failed"

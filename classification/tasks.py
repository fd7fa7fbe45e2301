"""django-q2 entry points for classification (scheduled by name by ``manage.py setup_schedules``)."""

from classification.services import classification_auto_classify


def classification_classify_scheduled() -> str:
    """Daily 02:00: one classification session over every active instance, one task per instance."""
    session = classification_auto_classify(scheduled=True, enqueue=True)
    return str(session.session_id)

"""django-q2 entry points for capacity (scheduled by name by ``manage.py setup_schedules``)."""

from capacity.partitions import partitions_ensure


def partitions_maintain() -> dict:
    """Daily: create partitions ahead and drop those past the retention."""
    plan = partitions_ensure()
    return {"created": [p.name for p in plan.created], "dropped": [p.name for p in plan.dropped]}


def capacity_collect_scheduled() -> str:
    """Daily 03:00: one collection session over every active instance, one task per instance."""
    from capacity.services import capacity_collect_all

    session = capacity_collect_all(scheduled=True, enqueue=True)
    return str(session.session_id)


def capacity_aggregate_scheduled() -> str:
    """Daily 04:00 (after the 03:00 collection): every period containing yesterday or
    today, one aggregation session over every active instance, one task per instance."""
    from capacity.services import capacity_aggregate_all

    session = capacity_aggregate_all(scheduled=True, enqueue=True)
    return str(session.session_id)

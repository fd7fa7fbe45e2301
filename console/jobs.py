"""What every django-q2 schedule runs: one job by name, once at a time."""

from __future__ import annotations

import logging

from django.utils.module_loading import import_string

from console.schedules import JOBS
from whalefall.db.locks import advisory_lock
from whalefall.errors import ConcurrentOperation

logger = logging.getLogger(__name__)


def job_run(name: str):
    """Run the scheduled job ``name`` under an advisory lock per job: a second start while it
    runs (another cluster, "run now") is skipped, not run twice. Returns the job's result."""
    job = JOBS[name]
    try:
        with advisory_lock(f"console.job:{name}", what=f"Scheduled job {name}"):
            return import_string(job.func)()
    except ConcurrentOperation as exc:
        logger.info("%s skipped: %s", name, exc.message)
        return {"skipped": exc.message}

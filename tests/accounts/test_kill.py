"""kill -9 of a worker in the middle of a sync: nothing half-written, and the
reaper finishes the session (DESIGN.md, Quality bars: reliability)."""

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import InstanceAccount
from accounts.services import ACCOUNT_SYNC_UNIT
from sync_sessions.models import SyncInstanceRecord, SyncSession
from sync_sessions.services import session_create, sessions_reap
from tests.support.factories import make_fake_instance
from tests.support.processes import database_url, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_kill_9_mid_sync_leaves_nothing_half_written_and_reaper_finishes_session():
    instance = make_fake_instance("accounts=50,delay_ms=30000")
    session = session_create(
        sync_type="manual_single", sync_category="account", instances=[instance], unit=ACCOUNT_SYNC_UNIT
    )
    record = SyncInstanceRecord.objects.get(session=session)
    code = (
        "import django; django.setup()\n"
        "from sync_sessions.runner import record_execute\n"
        f"record_execute(record_id={record.pk})\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "whalefall.settings_test", "DATABASE_URL": database_url()}
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)
    try:
        assert wait_for(lambda: SyncInstanceRecord.objects.get(pk=record.pk).status == "running"), "never started"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL
    # the killed worker left its record and session running, and wrote nothing else
    assert SyncInstanceRecord.objects.get(pk=record.pk).status == "running"
    assert SyncSession.objects.get(pk=session.pk).status == "running"
    assert not InstanceAccount.objects.filter(instance=instance).exists()

    SyncSession.objects.filter(pk=session.pk).update(started_at=timezone.now() - dt.timedelta(hours=3))
    assert sessions_reap(older_than=dt.timedelta(hours=2)) == 1
    session.refresh_from_db()
    record.refresh_from_db()
    assert (session.status, session.failed_instances, session.successful_instances) == ("failed", 1, 0)
    assert (record.status, record.error_code) == ("failed", "reaped")

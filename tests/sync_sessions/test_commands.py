"""The batch commands run inline with no worker needed: afterwards no session is left
``queued`` or ``running`` (an account sync's re-classification runs in the same command and is
reported there), unless the command said it queued the work for a ``qcluster``."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from sync_sessions.models import SESSION_UNFINISHED, SessionStatus, SyncSession
from tests.support.factories import make_fake_instance

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def unfinished() -> list[tuple[str, str]]:
    return list(SyncSession.objects.filter(status__in=SESSION_UNFINISHED).values_list("sync_category", "status"))


@pytest.mark.parametrize(
    "command", ["sync_accounts", "collect_capacity", "aggregate_capacity", "classify_accounts"]
)
def test_inline_commands_leave_no_session_queued_or_running(command):
    """The test settings never run on_commit callbacks (no worker): what an inline command left
    to the cluster would stay queued here."""
    make_fake_instance("accounts=3,databases=2", name="one")
    make_fake_instance("accounts=2,databases=1", name="two")
    run(command, "--all")
    assert unfinished() == []
    assert SyncSession.objects.exists()


def test_an_inline_account_sync_reports_the_reclassification_it_ran():
    make_fake_instance("accounts=3", name="one")
    out = run("sync_accounts", "--instance", "one")
    classified = SyncSession.objects.get(sync_category="classification")
    assert classified.status == SessionStatus.COMPLETED
    assert f"[1/1] one: ok  synced=3 created=3 updated=0 deleted=0  (re-classified: completed, session " \
           f"{str(classified.session_id)[:8]})" in out  # fmt: skip
    assert unfinished() == []


@pytest.mark.parametrize(
    "command", ["sync_accounts", "collect_capacity", "aggregate_capacity", "classify_accounts"]
)
def test_enqueue_says_what_it_queued_and_that_a_qcluster_must_run(command):
    make_fake_instance("accounts=3", name="one")
    make_fake_instance("accounts=3", name="two")
    out = run(command, "--all", "--enqueue")
    session = SyncSession.objects.get()
    assert (session.status, session.enqueued) == (SessionStatus.QUEUED, True)
    assert out.startswith(f"queued session {session.session_id}: {session.get_sync_category_display().lower()} "
                          "of 2 instance(s), one task each for the task cluster.")  # fmt: skip
    assert "a `manage.py qcluster` must be running" in out
    assert unfinished() == [(session.sync_category, "queued")]

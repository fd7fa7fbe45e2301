import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import InstanceAccount
from sync_sessions.models import SyncSession
from tests.support.factories import make_fake_instance

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("sync_accounts", *args, stdout=out)
    return out.getvalue()


def test_inline_sync_prints_progress_and_summary():
    a = make_fake_instance("accounts=4", name="alpha")
    make_fake_instance("accounts=2", name="beta")
    out = run("--instance", "alpha", "--instance", "beta")
    assert "[1/2] alpha: ok  synced=4 created=4" in out
    assert "[2/2] beta: ok  synced=2 created=2" in out
    assert ": completed — 2 succeeded, 0 failed of 2" in out
    assert InstanceAccount.objects.filter(instance=a).count() == 4
    assert SyncSession.objects.get(sync_category="account").sync_type == "manual_batch"


def test_single_instance_by_id_is_manual_single():
    instance = make_fake_instance("accounts=1")
    run("--instance", str(instance.pk))
    assert SyncSession.objects.get(sync_category="account").sync_type == "manual_single"


def test_failure_exits_non_zero_after_summary():
    make_fake_instance("accounts=1", name="good")
    make_fake_instance("fail=target_auth_failed", name="locked-out")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 instance"):
        call_command("sync_accounts", "--all", stdout=out)
    text = out.getvalue()
    assert "locked-out: FAILED  target_auth_failed: Instance 'locked-out': injected target_auth_failed" in text
    assert "good" in text and "failed of 2" in text


def test_unknown_instance_name_is_an_error():
    with pytest.raises(CommandError, match="Unknown instance name"):
        run("--instance", "nope")


def test_enqueue_hands_over_to_the_cluster(django_capture_on_commit_callbacks):
    make_fake_instance("accounts=3")
    with django_capture_on_commit_callbacks(execute=True):
        out = run("--all", "--enqueue")
    assert "queued session " in out and "a `manage.py qcluster` must be running" in out
    session = SyncSession.objects.get(sync_category="account")
    assert session.status == "completed"  # django-q2 sync mode in tests runs the task at once


def test_a_resync_of_an_unchanged_catalog_says_so():
    make_fake_instance("accounts=3", name="steady")
    assert "unchanged" not in run("--instance", "steady")
    out = run("--instance", "steady")
    assert "[1/1] steady: ok  synced=3 created=0 updated=0 deleted=0  (catalog unchanged since the last sync)" in out

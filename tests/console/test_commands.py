"""The console floor's commands: quickstart (safe to run again, whatever happened to
the metadata instance since) and setup_schedules."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import Schedule

from console.schedules import JOBS
from instances.models import Credential, Instance
from sync_sessions.models import SESSION_UNFINISHED, SyncSession

pytestmark = pytest.mark.django_db


def run(*args, **kwargs):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


@pytest.fixture(autouse=True)
def admin_password(monkeypatch):
    """quickstart reads the admin password from an environment variable (--password-env)."""
    monkeypatch.setenv("WF_TEST_ADMIN_PASSWORD", "first-pass")


def test_quickstart_is_idempotent_and_registers_metadata_postgres():
    out = run("quickstart", "--password-env", "WF_TEST_ADMIN_PASSWORD")
    assert "admin login: admin (the password you gave)" in out and "first-pass" not in out
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.check_password("first-pass")
    metadata = Instance.objects.get(name="whalefall-metadata")
    assert metadata.db_type_id == "postgresql"
    assert set(Group.objects.values_list("name", flat=True)) >= {"viewer", "operator", "admin"}
    assert Schedule.objects.filter(name__startswith="whalefall.").count() >= 4
    # the console has real data at once: the metadata PostgreSQL was synced, classified and sized, all
    # here: nothing waits for a worker
    assert "account sync of whalefall-metadata" in out and "capacity collection of whalefall-metadata" in out
    assert "; accounts classified (completed)" in out
    assert not SyncSession.objects.filter(status__in=SESSION_UNFINISHED).exists()
    from accounts.models import InstanceAccount
    from capacity.models import DatabaseSizeCurrent

    assert InstanceAccount.objects.filter(instance=metadata, username="postgres", is_active=True).exists()
    assert DatabaseSizeCurrent.objects.filter(instance=metadata, size_bytes__gt=0).exists()

    out = run("quickstart")
    assert "password unchanged" in out
    assert Instance.objects.filter(name="whalefall-metadata").count() == 1
    assert get_user_model().objects.get(username="admin").check_password("first-pass")


def test_quickstart_generates_password_when_not_given():
    out = run("quickstart", "--username", "ops")  # no terminal (pytest): generated, shown once
    password = out.split("admin login: ops / ")[1].split()[0]
    assert get_user_model().objects.get(username="ops").check_password(password)


def test_quickstart_never_takes_a_password_from_the_command_line():
    with pytest.raises(CommandError, match="--password is not accepted") as refused:
        run("quickstart", "--password", "on-the-command-line")
    assert "on-the-command-line" not in str(refused.value)
    with pytest.raises(CommandError, match="unrecognized arguments: --passw"):
        run("quickstart", "--passw", "abbreviated")  # not an abbreviation of --password-env
    with pytest.raises(CommandError, match="--password-env WF_UNSET: the environment variable is not set"):
        run("quickstart", "--password-env", "WF_UNSET")
    assert not get_user_model().objects.exists()


def test_quickstart_asks_on_a_terminal_and_not_with_no_input(monkeypatch):
    answers = iter(["typed-1", "typed-2", "typed-pass", "typed-pass"])  # a mismatch first, then twice the same
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("console.management.commands.quickstart.getpass.getpass", lambda prompt: next(answers))
    out = run("quickstart", "--username", "asked")
    assert "admin login: asked (the password you gave)" in out
    assert get_user_model().objects.get(username="asked").check_password("typed-pass")
    out = run("quickstart", "--username", "scripted", "--no-input")
    password = out.split("admin login: scripted / ")[1].split()[0]
    assert get_user_model().objects.get(username="scripted").check_password(password)


def test_setup_schedules_upserts_by_name():
    run("setup_schedules")
    run("setup_schedules")
    names = list(Schedule.objects.values_list("name", flat=True))
    assert sorted(names) == sorted(set(names))
    partitions = Schedule.objects.get(name="whalefall.partitions")
    # cron schedules run their job through console.jobs.job_run (one at a time per job)
    assert (partitions.func, partitions.args) == ("console.jobs.job_run", "('whalefall.partitions',)")
    assert JOBS["whalefall.partitions"].func == "capacity.tasks.partitions_maintain"
    assert (partitions.schedule_type, partitions.cron) == (Schedule.CRON, "30 0 * * *")  # daily at 00:30


def test_quickstart_again_after_the_metadata_instance_was_renamed():
    run("quickstart", "--password-env", "WF_TEST_ADMIN_PASSWORD")
    metadata = Instance.objects.get(name="whalefall-metadata")
    metadata.name = "our-metadata-db"
    metadata.save()
    out = run("quickstart")
    assert f"reusing instance our-metadata-db (id {metadata.pk}) for the metadata PostgreSQL" in out
    assert f"reusing credential whalefall-metadata (id {metadata.credential_id})" in out
    assert Instance.objects.count() == 1 and Credential.objects.count() == 1
    assert "account sync of our-metadata-db" in out


def test_quickstart_again_after_the_metadata_instance_was_deleted():
    run("quickstart", "--password-env", "WF_TEST_ADMIN_PASSWORD")
    first = Instance.objects.get(name="whalefall-metadata")
    credential_id = first.credential_id
    first.delete()  # the credential stays behind, under the name quickstart wants
    out = run("quickstart")
    again = Instance.objects.get(name="whalefall-metadata")
    assert f"reusing credential whalefall-metadata (id {credential_id})" in out
    assert f"registered instance whalefall-metadata (id {again.pk})" in out
    assert again.credential_id == credential_id and Credential.objects.count() == 1


def test_quickstart_again_after_the_metadata_instance_was_soft_deleted():
    run("quickstart", "--password-env", "WF_TEST_ADMIN_PASSWORD")
    Instance.objects.filter(name="whalefall-metadata").update(deleted_at=timezone.now(), is_active=False)
    out = run("quickstart")
    metadata = Instance.objects.get(name="whalefall-metadata")
    assert f"restoring deleted instance whalefall-metadata (id {metadata.pk})" in out
    assert metadata.deleted_at is None and metadata.is_active and Instance.objects.count() == 1


def test_quickstart_keeps_a_credential_other_instances_share():
    run("quickstart", "--password-env", "WF_TEST_ADMIN_PASSWORD")
    metadata = Instance.objects.get(name="whalefall-metadata")
    shared = metadata.credential
    other = Instance.objects.create(name="other", db_type_id="mysql", host="h", port=3306, credential=shared)
    before = shared.password_encrypted
    out = run("quickstart")
    assert f"keeping credential whalefall-metadata (id {shared.pk}): other instances use it" in out
    shared.refresh_from_db()
    assert shared.password_encrypted == before and other.credential_id == shared.pk

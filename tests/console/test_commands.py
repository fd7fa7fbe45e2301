"""The console floor's commands: quickstart (safe to run again, whatever happened to
the metadata instance since) and setup_schedules."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from console.schedules import JOBS
from instances.models import Credential, Instance

pytestmark = pytest.mark.django_db


def run(*args, **kwargs):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


def test_quickstart_is_idempotent_and_registers_metadata_postgres():
    out = run("quickstart", "--password", "first-pass")
    assert "admin login: admin / first-pass" in out
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.check_password("first-pass")
    metadata = Instance.objects.get(name="whalefall-metadata")
    assert metadata.db_type_id == "postgresql"
    assert set(Group.objects.values_list("name", flat=True)) >= {"viewer", "operator", "admin"}
    assert Schedule.objects.filter(name__startswith="whalefall.").count() >= 4
    # the console has real data at once: the metadata PostgreSQL was synced and sized
    assert "account sync of whalefall-metadata" in out and "capacity collection of whalefall-metadata" in out
    from accounts.models import InstanceAccount
    from capacity.models import DatabaseSizeCurrent

    assert InstanceAccount.objects.filter(instance=metadata, username="postgres", is_active=True).exists()
    assert DatabaseSizeCurrent.objects.filter(instance=metadata, size_bytes__gt=0).exists()

    out = run("quickstart")
    assert "password unchanged" in out
    assert Instance.objects.filter(name="whalefall-metadata").count() == 1
    assert get_user_model().objects.get(username="admin").check_password("first-pass")


def test_quickstart_generates_password_when_not_given():
    out = run("quickstart", "--username", "ops")
    password = out.split("admin login: ops / ")[1].split()[0]
    assert get_user_model().objects.get(username="ops").check_password(password)


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
    run("quickstart", "--password", "first-pass")
    metadata = Instance.objects.get(name="whalefall-metadata")
    metadata.name = "our-metadata-db"
    metadata.save()
    out = run("quickstart")
    assert f"reusing instance our-metadata-db (id {metadata.pk}) for the metadata PostgreSQL" in out
    assert f"reusing credential whalefall-metadata (id {metadata.credential_id})" in out
    assert Instance.objects.count() == 1 and Credential.objects.count() == 1
    assert "account sync of our-metadata-db" in out


def test_quickstart_again_after_the_metadata_instance_was_deleted():
    run("quickstart", "--password", "first-pass")
    first = Instance.objects.get(name="whalefall-metadata")
    credential_id = first.credential_id
    first.delete()  # the credential stays behind, under the name quickstart wants
    out = run("quickstart")
    again = Instance.objects.get(name="whalefall-metadata")
    assert f"reusing credential whalefall-metadata (id {credential_id})" in out
    assert f"registered instance whalefall-metadata (id {again.pk})" in out
    assert again.credential_id == credential_id and Credential.objects.count() == 1


def test_quickstart_again_after_the_metadata_instance_was_soft_deleted():
    run("quickstart", "--password", "first-pass")
    Instance.objects.filter(name="whalefall-metadata").update(deleted_at=timezone.now(), is_active=False)
    out = run("quickstart")
    metadata = Instance.objects.get(name="whalefall-metadata")
    assert f"restoring deleted instance whalefall-metadata (id {metadata.pk})" in out
    assert metadata.deleted_at is None and metadata.is_active and Instance.objects.count() == 1


def test_quickstart_keeps_a_credential_other_instances_share():
    run("quickstart", "--password", "first-pass")
    metadata = Instance.objects.get(name="whalefall-metadata")
    shared = metadata.credential
    other = Instance.objects.create(name="other", db_type_id="mysql", host="h", port=3306, credential=shared)
    before = shared.password_encrypted
    out = run("quickstart")
    assert f"keeping credential whalefall-metadata (id {shared.pk}): other instances use it" in out
    shared.refresh_from_db()
    assert shared.password_encrypted == before and other.credential_id == shared.pk

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from instances.models import Instance

pytestmark = pytest.mark.django_db


def run(*args, **kwargs):
    out = io.StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_add_instance_reads_password_from_env(monkeypatch):
    monkeypatch.setenv("WF_TEST_PW", "p@ss-from-env")
    out = run(
        "add_instance", "--name", "db1", "--db-type", "mysql", "--host", "db1.example", "--port", "3306",
        "--username", "monitor", "--password-env", "WF_TEST_PW", "--tag", "prod", "--tag", "eu",
    )
    assert "registered instance db1" in out and "p@ss-from-env" not in out
    instance = Instance.objects.get(name="db1")
    assert instance.credential.get_password() == "p@ss-from-env"
    assert instance.credential.username == "monitor"
    assert sorted(instance.tags.values_list("name", flat=True)) == ["eu", "prod"]


def test_add_instance_has_no_password_argument_not_even_by_prefix():
    with pytest.raises(CommandError) as excinfo:
        call_command("add_instance", "--name", "x", "--db-type", "mysql", "--host", "h", "--port", "1",
                     "--username", "u", "--password", "secret")
    assert "unrecognized arguments" in str(excinfo.value)
    assert "secret" not in str(excinfo.value).replace("--password secret", "")


def test_add_instance_missing_env_var_is_an_error(monkeypatch):
    monkeypatch.delenv("WF_NOT_SET", raising=False)
    with pytest.raises(CommandError, match="WF_NOT_SET is not set"):
        run("add_instance", "--name", "x", "--db-type", "mysql", "--host", "h", "--port", "1",
            "--username", "u", "--password-env", "WF_NOT_SET")
    assert not Instance.objects.exists()


def test_add_instance_without_tty_or_env_refuses_to_prompt(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(CommandError, match="--password-env"):
        run("add_instance", "--name", "x", "--db-type", "mysql", "--host", "h", "--port", "1", "--username", "u")


@pytest.mark.parametrize(
    ("db_type", "port", "message"),
    [("nosuchdb", "3306", "db_type"), ("mysql", "70000", "port")],
)
def test_add_instance_invalid_values_leave_nothing_behind(db_type, port, message):
    with pytest.raises(CommandError, match=message):
        run("add_instance", "--name", "x", "--db-type", db_type, "--host", "h", "--port", port,
            "--username", "u", "--no-password")
    assert not Instance.objects.exists()
    from instances.models import Credential

    assert not Credential.objects.exists()


def test_add_instance_duplicate_name_is_an_error(instance):
    with pytest.raises(CommandError, match="already exists"):
        run("add_instance", "--name", instance.name, "--db-type", "mysql", "--host", "h", "--port", "1",
            "--username", "u", "--no-password")


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
    assert partitions.func == "capacity.tasks.partitions_maintain" and partitions.schedule_type == Schedule.DAILY


def test_reap_sessions_command(instance):
    import datetime as dt

    from django.utils import timezone

    from sync_sessions.models import SyncSession
    from sync_sessions.services import session_create

    session = session_create(sync_type="scheduled", sync_category="capacity", instances=[instance])
    SyncSession.objects.filter(pk=session.pk).update(started_at=timezone.now() - dt.timedelta(days=1))
    out = run("reap_sessions", "--older-than-minutes", "60", "--cleanup")
    assert "reaped 1 stuck session(s)" in out
    session.refresh_from_db()
    assert session.status == "failed"

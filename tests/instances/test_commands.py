import io

import pytest
from django.core.management import CommandError, call_command

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

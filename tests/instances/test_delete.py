"""One delete semantics: the admin's and the API's delete is a soft delete (history kept,
restorable); a purge (an admin action with typed names, or ``manage.py purge_instance``) is the
only way to remove an instance with its history."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountChangeLog, InstanceAccount
from audit.models import AuditEvent
from instances.models import Instance
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:instances_instance_changelist"


def _with_history(name: str) -> Instance:
    instance = make_instance(name=name)
    account = InstanceAccount.objects.create(instance=instance, username=f"{name}-user")
    AccountChangeLog.objects.create(instance=instance, instance_account=account, username=account.username,
                                    change_type="add")  # fmt: skip
    return instance


def _history(instance: Instance) -> tuple[int, int]:
    return InstanceAccount.objects.filter(instance_id=instance.pk).count(), AccountChangeLog.objects.filter(
        instance_id=instance.pk
    ).count()


def _role(role: str) -> Client:
    user = User.objects.create_user(role, password=f"pw-{role}-1", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def test_a_superuser_deletes_an_instance_softly_and_restores_it(admin_client_logged_in):
    instance = _with_history("to-delete")
    delete_url = reverse("admin:instances_instance_delete", args=[instance.pk])
    response = admin_client_logged_in.get(delete_url)
    page = response.content.decode()
    assert "history" in page and not response.context["perms_lacking"]  # never "no permission to delete … record"
    response = admin_client_logged_in.post(delete_url, {"post": "yes"})
    assert response.status_code == 302 and response.url == reverse(CHANGELIST)
    instance.refresh_from_db()
    assert instance.deleted_at is not None and not instance.is_active and _history(instance) == (1, 1)
    # out of the list, listed on request, restorable from there
    def listed(query: str = "") -> list[str]:
        return [i.name for i in admin_client_logged_in.get(reverse(CHANGELIST) + query).context["cl"].result_list]

    assert listed() == [] and listed("?deleted=yes") == listed("?deleted=all") == ["to-delete"]
    restore = {"action": "restore_action", "_selected_action": [instance.pk], "index": 0}
    admin_client_logged_in.post(reverse(CHANGELIST) + "?deleted=yes", restore)
    instance.refresh_from_db()
    assert instance.deleted_at is None and instance.is_active and _history(instance) == (1, 1)


def test_delete_selected_is_soft_too(admin_client_logged_in):
    first, second = _with_history("first"), _with_history("second")
    data = {"action": "delete_selected", "_selected_action": [first.pk, second.pk]}
    page = admin_client_logged_in.post(reverse(CHANGELIST), {**data, "index": 0}).content.decode()
    assert "Delete 2 instances" in page and "history" in page
    admin_client_logged_in.post(reverse(CHANGELIST), {**data, "post": "yes"})
    assert Instance.objects.filter(deleted_at__isnull=False).count() == 2
    assert _history(first) == (1, 1) and _history(second) == (1, 1)


def test_purge_asks_for_the_typed_names_then_removes_the_history(admin_client_logged_in):
    doomed, kept = _with_history("doomed"), _with_history("kept")
    url = reverse(CHANGELIST) + "?deleted=all"
    data = {"action": "purge_action", "_selected_action": [doomed.pk]}
    page = admin_client_logged_in.post(url, {**data, "index": 0}).content.decode()
    assert 'name="confirm_names"' in page and "cannot be undone" in page
    page = admin_client_logged_in.post(url, {**data, "post": "yes", "confirm_names": "kept"}).content.decode()
    assert "do not match" in page and Instance.objects.filter(pk=doomed.pk).exists()
    admin_client_logged_in.post(url, {**data, "post": "yes", "confirm_names": " doomed \n"})
    assert not Instance.objects.filter(pk=doomed.pk).exists() and _history(doomed) == (0, 0)
    assert _history(kept) == (1, 1)
    event = AuditEvent.objects.get(action="instances.instance.purged")
    assert event.object_id == str(doomed.pk) and event.detail == {"name": "doomed"}


def test_only_admins_delete_or_purge():
    instance = _with_history("guarded")
    operator = _role("operator")
    response = operator.get(reverse(CHANGELIST))
    actions = response.context["cl"].model_admin.get_actions(response.wsgi_request)
    assert "purge_action" not in actions and "delete_selected" not in actions and "restore_action" not in actions
    delete = reverse("admin:instances_instance_delete", args=[instance.pk])
    assert operator.post(delete, {"post": "yes"}).status_code == 403
    response = _role("admin").get(reverse(CHANGELIST))
    actions = response.context["cl"].model_admin.get_actions(response.wsgi_request)
    assert {"purge_action", "delete_selected", "restore_action"} <= set(actions)
    instance.refresh_from_db()
    assert instance.deleted_at is None


def test_deactivating_several_instances_asks_first(admin_client_logged_in):
    ids = [make_instance(name=f"batch-{i}").pk for i in range(3)]
    data = {"action": "deactivate_action", "_selected_action": ids}
    page = admin_client_logged_in.post(reverse(CHANGELIST), {**data, "index": 0}).content.decode()
    assert "Deactivate 3 instance(s)" in page and Instance.objects.filter(is_active=True).count() == 3
    admin_client_logged_in.post(reverse(CHANGELIST) + "?deleted=all", {**data, "post": "yes"})
    assert Instance.objects.filter(pk__in=ids, is_active=False).count() == 3


def test_purge_instance_command(monkeypatch):
    first, second = _with_history("cmd-first"), _with_history("cmd-second")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal: --yes is required
    with pytest.raises(CommandError, match="--yes"):
        call_command("purge_instance", "--instance", "cmd-first", stdout=io.StringIO())
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "cmd-second")
    with pytest.raises(CommandError, match="is not 'cmd-first'"):
        call_command("purge_instance", "--instance", "cmd-first", stdout=io.StringIO())
    assert Instance.objects.filter(pk=first.pk).exists()
    monkeypatch.setattr("builtins.input", lambda prompt: "cmd-first")
    out = io.StringIO()
    call_command("purge_instance", "--instance", "cmd-first", stdout=out)
    assert "Purged 1 instance(s): cmd-first." in out.getvalue() and _history(first) == (0, 0)
    call_command("purge_instance", "--instance", str(second.pk), "--yes", stdout=io.StringIO())
    assert not Instance.objects.exists()
    with pytest.raises(CommandError, match="Unknown instance name"):
        call_command("purge_instance", "--instance", "nobody", "--yes")


def test_a_deleted_instance_page_offers_restore_and_purge(admin_client_logged_in):
    instance = _with_history("page-deleted")
    Instance.objects.filter(pk=instance.pk).update(deleted_at=timezone.now(), is_active=False)
    page_url = reverse("admin:instances_instance_change", args=[instance.pk])
    body = admin_client_logged_in.get(page_url).content.decode()
    assert "Deleted on" in body and 'value="restore_action"' in body and 'value="purge_action"' in body
    assert 'value="sync_accounts_action"' not in body  # nothing runs on a deleted instance
    run = "admin:instances_instance_run"
    confirm = admin_client_logged_in.post(reverse(run, args=[instance.pk, "purge_action"])).content.decode()
    assert 'name="confirm_names"' in confirm and "?deleted=all" in confirm  # posts where the row is listed
    admin_client_logged_in.post(reverse(run, args=[instance.pk, "restore_action"]))
    instance.refresh_from_db()
    assert instance.deleted_at is None and instance.is_active

"""Account sync against the deterministic fake engine (live engines: test_live_sync.py)."""

import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AccountChangeLog, AccountPermission, InstanceAccount
from accounts.services import accounts_apply, accounts_sync_all, accounts_sync_instance
from instances.adapters.base import AccountFacts, PasswordPolicy, Privilege
from instances.adapters.parsing import SharedSnapshot
from sync_sessions.models import SyncInstanceRecord, SyncSession
from tests.support.factories import make_fake_instance
from tests.support.fake_adapter import FAKE_ACCOUNTS, generated_accounts
from whalefall.errors import ConcurrentOperation, TargetQueryFailed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_fake_accounts():
    FAKE_ACCOUNTS.clear()
    yield
    FAKE_ACCOUNTS.clear()


def facts(name, **kw):
    return AccountFacts(username=name, host=kw.pop("host", ""), **kw)


def changes(instance):
    return sorted(AccountChangeLog.objects.filter(instance=instance).values_list("change_type", "username"))


@pytest.mark.smoke
def test_first_sync_is_the_baseline_accounts_and_permissions_but_no_add_rows():
    instance = make_fake_instance("accounts=20")
    session = SyncSession.objects.create(sync_category="account", sync_type="manual_single")
    outcome = accounts_sync_instance(instance=instance, session=session)
    assert (outcome.synced, outcome.created, outcome.updated, outcome.deleted) == (20, 20, 0, 0)
    assert outcome.details["baseline"] is True
    assert InstanceAccount.objects.filter(instance=instance, is_active=True).count() == 20
    assert AccountPermission.objects.filter(instance_account__instance=instance).count() == 20
    superuser = AccountPermission.objects.get(instance_account__username="user00007")
    assert superuser.is_superuser and superuser.facts["is_superuser"] is True
    assert AccountPermission.objects.get(instance_account__username="user00005").roles == ["app_rw"]
    # nothing was added: WhaleFall looked for the first time — one row for the instance
    assert changes(instance) == [("baseline", "")]
    baseline = AccountChangeLog.objects.get(instance=instance)
    assert baseline.instance_account_id is None and baseline.session_id == session.session_id
    superusers = sorted(f"{u}@{h}" if h else u for u, h in AccountPermission.objects.filter(
        instance_account__instance=instance, is_superuser=True).values_list(
            "instance_account__username", "instance_account__host"))  # fmt: skip
    grantors = AccountPermission.objects.filter(instance_account__instance=instance, can_grant=True).count()
    summary = baseline.diff["baseline"]
    assert summary["account_count"] == 20
    assert (summary["superusers"], summary["superusers_accounts"]) == (len(superusers), superusers)
    assert summary["can_grant"] == grantors and len(summary["can_grant_accounts"]) == grantors
    first_seen = set(InstanceAccount.objects.filter(instance=instance).values_list("first_seen_at", flat=True))
    assert first_seen == {baseline.changed_at}  # "present at baseline" reads this
    instance.refresh_from_db()
    assert instance.last_connected_at is not None


def test_accounts_after_the_baseline_are_added_and_the_baseline_is_written_once():
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = [facts("old"), facts("gone")]
    accounts_sync_instance(instance=instance)
    FAKE_ACCOUNTS[instance.name] = [facts("old", is_superuser=True), facts("new", can_grant=True)]
    outcome = accounts_sync_instance(instance=instance)
    assert "baseline" not in outcome.details
    assert changes(instance) == [("add", "new"), ("baseline", ""), ("modify", "old"), ("remove", "gone")]
    added = AccountChangeLog.objects.get(instance=instance, change_type="add")
    assert added.diff["facts"]["can_grant"] is True and added.instance_account.username == "new"


def test_a_first_sync_that_finds_no_account_is_still_the_baseline():
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = []
    accounts_sync_instance(instance=instance)
    assert changes(instance) == [("baseline", "")]
    assert AccountChangeLog.objects.get(instance=instance).diff["baseline"]["account_count"] == 0
    FAKE_ACCOUNTS[instance.name] = [facts("later")]
    accounts_sync_instance(instance=instance)
    assert changes(instance) == [("add", "later"), ("baseline", "")]


def test_the_baseline_costs_one_read_only_when_nothing_is_stored():
    """The "is this the first sync?" question is one indexed read, asked only when the instance
    has no stored account: a later sync with changes asks nothing more than before."""
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = [facts("a")]
    with CaptureQueriesContext(connection) as first:
        accounts_apply(instance=instance, accounts=FAKE_ACCOUNTS[instance.name])
    FAKE_ACCOUNTS[instance.name] = [facts("a", can_grant=True), facts("b")]
    with CaptureQueriesContext(connection) as later:
        accounts_apply(instance=instance, accounts=FAKE_ACCOUNTS[instance.name])
    assert sum("change_type = 'baseline'" in q["sql"] for q in first.captured_queries) == 1
    assert not any("change_type = 'baseline'" in q["sql"] for q in later.captured_queries)


def test_no_change_resync_only_bumps_last_seen():
    instance = make_fake_instance("accounts=30")
    accounts_sync_instance(instance=instance)
    before_perm = dict(AccountPermission.objects.values_list("pk", "updated_at"))
    before_seen = dict(InstanceAccount.objects.values_list("pk", "last_seen_at"))
    before_log = AccountChangeLog.objects.count()

    outcome = accounts_sync_instance(instance=instance)

    assert (outcome.created, outcome.updated, outcome.deleted) == (0, 0, 0)
    assert dict(AccountPermission.objects.values_list("pk", "updated_at")) == before_perm
    assert AccountChangeLog.objects.count() == before_log
    after_seen = dict(InstanceAccount.objects.values_list("pk", "last_seen_at"))
    assert after_seen.keys() == before_seen.keys()
    assert all(after_seen[pk] > before_seen[pk] for pk in before_seen)


def test_modify_writes_field_level_diff():
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = [facts("app", privileges=(Privilege("database", "SELECT", "shop"),))]
    accounts_sync_instance(instance=instance)
    FAKE_ACCOUNTS[instance.name] = [
        facts("app", can_grant=True, roles=("admin",), privileges=(Privilege("database", "INSERT", "shop"),))
    ]
    outcome = accounts_sync_instance(instance=instance)
    assert outcome.updated == 1
    log = AccountChangeLog.objects.get(instance=instance, change_type="modify")
    assert log.diff == {
        "can_grant": {"old": False, "new": True},
        "roles": {"added": ["admin"], "removed": []},
        "privileges": {"added": ["INSERT on shop.*"], "removed": ["SELECT on shop.*"]},
    }
    permission = AccountPermission.objects.get(instance_account__instance=instance)
    assert permission.can_grant and permission.roles == ["admin"]


def test_the_password_policy_fact_appearing_for_every_account_logs_nothing_a_change_of_it_does():
    """An upgrade that starts reporting ``password_policy`` changes every account's stored facts once:
    no modify row for that (nor a "snapshot changed" one); a real change of it later is logged, and
    so is a snapshot change that comes with the field's first appearance."""
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = [facts("a", snapshot={"x": 1}), facts("b", snapshot={"x": 1})]
    accounts_sync_instance(instance=instance)
    policy = PasswordPolicy(False, "CHECK_POLICY OFF")
    FAKE_ACCOUNTS[instance.name] = [facts("a", snapshot={"x": 1}, password_policy=policy),
                                    facts("b", snapshot={"x": 2}, password_policy=policy)]  # fmt: skip
    outcome = accounts_sync_instance(instance=instance)
    assert [(c.username, c.diff) for c in AccountChangeLog.objects.filter(change_type="modify")] == [
        ("b", {"snapshot": {"changed": True}})]  # fmt: skip
    assert outcome.updated == 1
    stored = AccountPermission.objects.get(instance_account__username="a").facts
    assert stored["password_policy"] == {"enforced": False, "reason": "CHECK_POLICY OFF"}
    FAKE_ACCOUNTS[instance.name] = [facts("a", snapshot={"x": 1}, password_policy=PasswordPolicy(True, "ON")),
                                    facts("b", snapshot={"x": 2}, password_policy=policy)]  # fmt: skip
    accounts_sync_instance(instance=instance)
    change = AccountChangeLog.objects.get(change_type="modify", username="a")
    assert change.diff == {"password_policy": {"old": {"enforced": False, "reason": "CHECK_POLICY OFF"},
                                               "new": {"enforced": True, "reason": "ON"}}}  # fmt: skip


def test_remove_then_return_logs_remove_and_reactivate():
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = [facts("keep"), facts("gone", is_superuser=True)]
    accounts_sync_instance(instance=instance)
    FAKE_ACCOUNTS[instance.name] = [facts("keep")]
    outcome = accounts_sync_instance(instance=instance)
    assert outcome.deleted == 1
    gone = InstanceAccount.objects.get(instance=instance, username="gone")
    assert not gone.is_active and gone.deactivated_at is not None
    removal = AccountChangeLog.objects.get(instance=instance, change_type="remove")
    assert removal.diff["last_facts"]["is_superuser"] is True

    FAKE_ACCOUNTS[instance.name] = [facts("keep"), facts("gone")]
    outcome = accounts_sync_instance(instance=instance)
    assert (outcome.created, outcome.updated, outcome.deleted) == (0, 1, 0)
    gone.refresh_from_db()
    assert gone.is_active and gone.deactivated_at is None
    reactivation = AccountChangeLog.objects.get(instance=instance, change_type="reactivate")
    assert reactivation.diff == {"is_superuser": {"old": True, "new": False}}
    assert changes(instance) == [
        ("baseline", ""),
        ("reactivate", "gone"),
        ("remove", "gone"),
    ]
    # the same account row throughout: history stays attached
    assert InstanceAccount.objects.filter(instance=instance, username="gone").count() == 1


def test_mysql_style_user_at_host_are_distinct_accounts():
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = [facts("app", host="%"), facts("app", host="localhost")]
    assert accounts_sync_instance(instance=instance).created == 2


def test_duplicate_account_from_adapter_is_an_error_and_writes_nothing():
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = [facts("dup"), facts("dup")]
    with pytest.raises(TargetQueryFailed, match="twice"):
        accounts_sync_instance(instance=instance)
    assert not InstanceAccount.objects.filter(instance=instance).exists()


def test_failure_mid_write_leaves_no_partial_rows_and_a_failed_record():
    instance = make_fake_instance()
    accounts = generated_accounts(50)
    # jsonb rejects NUL characters: the account rows insert, then the permission upsert fails
    accounts[-1] = AccountFacts(username="bad", snapshot={"comment": "nul\x00byte"})
    FAKE_ACCOUNTS[instance.name] = accounts
    session = accounts_sync_all(instance_ids=[instance.pk])
    record = SyncInstanceRecord.objects.get(session=session)
    assert record.status == "failed" and record.error_code == "internal_error"
    assert session.status == "failed"
    assert not InstanceAccount.objects.filter(instance=instance).exists()
    assert not AccountChangeLog.objects.filter(instance=instance).exists()


def test_writes_are_set_based_query_count_independent_of_account_count():
    counts = []
    for n in (10, 400):
        instance = make_fake_instance(f"accounts={n}")
        with CaptureQueriesContext(connection) as first:
            accounts_sync_instance(instance=instance)
        FAKE_ACCOUNTS[instance.name] = generated_accounts(n)[: n - 3]  # a few removals
        FAKE_ACCOUNTS[instance.name][0] = facts("user00000", is_locked=True)  # one modification
        with CaptureQueriesContext(connection) as second:
            accounts_sync_instance(instance=instance)
        counts.append((len(first), len(second)))
    assert counts[0] == counts[1], counts


@pytest.mark.smoke
def test_sync_all_one_failure_does_not_stop_the_others():
    ok1, bad, ok2 = (make_fake_instance("accounts=2", name=n) for n in ("a-ok", "b-bad", "c-ok"))
    SyncSession.objects.all().delete()
    bad.database_name = "fail=target_unreachable"
    bad.save()
    session = accounts_sync_all()
    assert (session.status, session.total_instances, session.successful_instances, session.failed_instances) == (
        "failed",
        3,
        2,
        1,
    )
    statuses = dict(session.records.values_list("instance_name", "status"))
    assert statuses == {"a-ok": "completed", "b-bad": "failed", "c-ok": "completed"}
    failed = session.records.get(instance_name="b-bad")
    assert failed.error_code == "target_unreachable" and "injected" in failed.error_message
    assert InstanceAccount.objects.filter(instance__in=[ok1, ok2]).count() == 4


def test_sync_all_enqueued_runs_one_task_per_instance(django_capture_on_commit_callbacks):
    instances = [make_fake_instance("accounts=2") for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        session = accounts_sync_all(instance_ids=[i.pk for i in instances], enqueue=True)
    session.refresh_from_db()
    assert (session.status, session.successful_instances) == ("completed", 3)
    assert InstanceAccount.objects.count() == 6


def test_unknown_instance_ids_are_rejected():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        accounts_sync_all(instance_ids=[999999])
    assert not SyncSession.objects.exists()


def test_apply_directly_with_empty_listing_deactivates_everything():
    instance = make_fake_instance("accounts=3")
    accounts_sync_instance(instance=instance)
    outcome = accounts_apply(instance=instance, accounts=[])
    assert outcome.deleted == 3
    assert not InstanceAccount.objects.filter(instance=instance, is_active=True).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_sync_of_one_instance_fails_fast_with_concurrent_operation():
    instance = make_fake_instance("accounts=5,delay_ms=800")
    results = {}

    def sync(name):
        try:
            results[name] = accounts_sync_instance(instance=instance)
        except ConcurrentOperation as exc:
            results[name] = exc
        finally:
            connection.close()

    first = threading.Thread(target=sync, args=("first",))
    first.start()
    time.sleep(0.3)  # the first holds the lock while it waits for the slow target
    started = time.monotonic()
    sync("second")
    assert time.monotonic() - started < 0.5, "the second sync must fail fast, not wait"
    first.join()
    assert isinstance(results["second"], ConcurrentOperation)
    assert results["first"].created == 5
    assert InstanceAccount.objects.filter(instance=instance).count() == 5
    assert list(AccountChangeLog.objects.filter(instance=instance).values_list("change_type", flat=True)) == [
        "baseline"
    ]


def test_role_names_with_array_syntax_survive_the_copy():
    instance = make_fake_instance()
    odd = ['a"b', "c\\d", "e,f", "{g}", "NULL", " sp ", "tab\there", "line\nbreak", "ünï"]
    FAKE_ACCOUNTS[instance.name] = [facts("seed")]
    accounts_sync_instance(instance=instance)  # the baseline: the next account is added (its row streamed)
    FAKE_ACCOUNTS[instance.name] = [facts("seed"), facts("app", roles=tuple(odd))]
    accounts_sync_instance(instance=instance)
    permission = AccountPermission.objects.get(instance_account__instance=instance, instance_account__username="app")
    assert permission.roles == sorted(odd) == permission.facts["roles"]
    assert AccountChangeLog.objects.get(instance=instance, change_type="add").diff["facts"]["roles"] == sorted(odd)


def test_a_first_sync_streams_roles_and_snapshots_with_their_escapes():
    """The baseline's permission rows go by COPY's text format (encoding.permission_lines)."""
    instance = make_fake_instance()
    odd = ['a"b', "c\\d", "e,f", "{g}", "NULL", '""', "tab\there", "line\nbreak", "É"]
    snapshot = {"note": 'a "quote", a \\ backslash, a\ttab, a\nnewline, \u00e9'}
    shared = SharedSnapshot(snapshot)  # as the parsers give logins alike: escaped once
    FAKE_ACCOUNTS[instance.name] = [facts("app", roles=tuple(odd), snapshot=shared, is_superuser=True),
                                    facts("other", snapshot=shared, is_locked=True),
                                    facts("third", snapshot=dict(snapshot))]  # fmt: skip
    accounts_sync_instance(instance=instance)
    app, other = (AccountPermission.objects.get(instance_account__instance=instance, instance_account__username=name)
                  for name in ("app", "other"))  # fmt: skip
    assert app.roles == sorted(odd) == app.facts["roles"] and app.snapshot == snapshot == other.snapshot
    assert (app.is_superuser, app.can_grant, app.is_locked) == (True, False, False)
    assert (other.is_superuser, other.is_locked, other.roles) == (False, True, [])
    third = AccountPermission.objects.get(instance_account__instance=instance, instance_account__username="third")
    assert third.snapshot == snapshot


def test_account_returning_unchanged_is_reactivated_with_an_empty_diff():
    instance = make_fake_instance()
    app = facts("app", privileges=(Privilege("database", "SELECT", "shop"),))
    FAKE_ACCOUNTS[instance.name] = [app, facts("other")]
    accounts_sync_instance(instance=instance)
    FAKE_ACCOUNTS[instance.name] = [facts("other")]
    assert accounts_sync_instance(instance=instance).deleted == 1
    FAKE_ACCOUNTS[instance.name] = [app, facts("other")]

    outcome = accounts_sync_instance(instance=instance)

    assert (outcome.updated, outcome.details["reactivated"], outcome.details["modified"]) == (1, 1, 0)
    assert AccountChangeLog.objects.get(instance=instance, change_type="reactivate").diff == {}
    removed = AccountChangeLog.objects.get(instance=instance, change_type="remove").diff
    assert removed["last_facts"]["privileges"][0]["target"] == "shop"


def test_copy_streams_keep_escapes_in_names_and_json():
    instance = make_fake_instance()
    username, host = "we\tird\\name\nx ü", "10.0.%"
    snapshot = {"comment": 'a "quote", a \\ backslash, a\ttab, a\nnewline, \u00e9', "n": [1, None, True]}
    FAKE_ACCOUNTS[instance.name] = [facts("seed")]
    accounts_sync_instance(instance=instance)  # the baseline: the next account is added (its row streamed)
    FAKE_ACCOUNTS[instance.name] = [facts("seed"), AccountFacts(username=username, host=host, snapshot=snapshot)]
    accounts_sync_instance(instance=instance)
    account = InstanceAccount.objects.get(instance=instance, host=host)
    assert (account.username, account.host, account.permission.snapshot) == (username, host, snapshot)
    assert account.permission.updated_at == account.first_seen_at  # the sync's time, through COPY's text
    permission = account.permission
    assert (permission.is_superuser, permission.can_grant, permission.roles) == (False, False, [])
    assert AccountChangeLog.objects.get(instance=instance, change_type="add").username == username
    assert accounts_sync_instance(instance=instance).details["unchanged_listing"] is True


def test_a_failing_follow_up_makes_the_sync_record_partial_with_its_traceback_logged(monkeypatch, caplog):
    from accounts import services

    def broken_followup(*, instance, session, inline):
        raise KeyError("privileges")

    monkeypatch.setattr(services, "_FOLLOWUPS", [broken_followup])
    instance = make_fake_instance("accounts=3")
    with caplog.at_level("ERROR", logger="accounts.services"):
        session = accounts_sync_all(instance_ids=[instance.pk])
    record = session.records.get()
    assert (record.status, record.items_synced, record.error_code) == ("partial", 3, "partial")
    assert "a follow-up failed" in record.error_message and "KeyError" in record.error_message
    (followup_error,) = record.sync_details["followup_errors"]
    assert followup_error.endswith("broken_followup: KeyError: 'privileges'")
    session.refresh_from_db()
    assert (session.status, session.successful_instances, session.partial_instances) == ("completed", 1, 1)
    assert InstanceAccount.objects.filter(instance=instance).count() == 3  # the accounts were synced
    (logged,) = [r for r in caplog.records if "follow-up" in r.getMessage()]
    assert logged.exc_info is not None and logged.exc_info[0] is KeyError


def test_changed_permissions_go_in_as_many_documents_as_their_size_needs(monkeypatch):
    # PostgreSQL refuses a jsonb array over 256 MB: large changes are split (accounts.encoding.DOC_LIMIT)
    instance = make_fake_instance()
    names = [f"u{i}" for i in range(6)]
    FAKE_ACCOUNTS[instance.name] = [facts(name) for name in names]
    accounts_sync_instance(instance=instance)
    granted = (Privilege("database", "SELECT", "shop"),)
    FAKE_ACCOUNTS[instance.name] = [facts(name, can_grant=True, privileges=granted) for name in names]
    monkeypatch.setattr("accounts.encoding.DOC_LIMIT", 500)  # about two accounts per document
    with CaptureQueriesContext(connection) as captured:
        outcome = accounts_sync_instance(instance=instance)
    upserts = [q for q in captured if "INSERT INTO account_permissions" in q["sql"]]
    assert outcome.updated == 6 and 2 < len(upserts) <= 6
    stored = AccountPermission.objects.filter(instance_account__instance=instance)
    assert sorted((p.instance_account.username, p.can_grant, len(p.facts["privileges"])) for p in stored) == [
        (name, True, 1) for name in names
    ]
    assert AccountChangeLog.objects.filter(instance=instance, change_type="modify").count() == 6


def test_change_rows_are_streamed_with_their_escapes():
    instance = make_fake_instance()
    odd = "we\tird\\name\nx ü"
    FAKE_ACCOUNTS[instance.name] = [facts("seed"), facts(odd, roles=('r "1"\\',))]
    accounts_sync_instance(instance=instance)
    FAKE_ACCOUNTS[instance.name] = [facts("seed")]
    accounts_sync_instance(instance=instance)
    removed = AccountChangeLog.objects.get(instance=instance, change_type="remove")
    assert (removed.username, removed.diff["last_facts"]["roles"]) == (odd, ['r "1"\\'])
    assert AccountChangeLog.objects.get(instance=instance, change_type="baseline").instance_account_id is None

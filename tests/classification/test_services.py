"""Auto-classification and manual assignments (classification/services.py) on the fake engine:
only changed auto assignments are written, manual ones never touched, history per change,
stats from the assignments, nothing written when nothing changed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import InstanceAccount
from accounts.services import accounts_sync_all
from classification.models import (
    AccountClassification,
    AccountClassificationAssignment,
    AccountClassificationHistory,
    ClassificationDailyStat,
    ClassificationRule,
    InstanceClassificationState,
)
from classification.services import (
    classification_assign,
    classification_auto_classify,
    classification_auto_classify_instance,
    classification_unassign,
    rule_create,
    rule_update,
)
from instances.adapters.base import AccountFacts, Privilege
from sync_sessions.models import SESSION_UNFINISHED, SyncSession
from tests.support.factories import make_fake_instance
from tests.support.fake_adapter import FAKE_ACCOUNTS
from whalefall.errors import ConcurrentOperation

pytestmark = pytest.mark.django_db

DELETE_ON_PROD = {"fn": "has_privilege", "privilege": "DELETE", "target": "prod*"}


def account(name, *privileges, superuser=False):
    return AccountFacts(username=name, is_superuser=superuser, privileges=tuple(Privilege(*p) for p in privileges))


@pytest.fixture
def setup():
    """An instance of the fake engine with a superuser, a deleter, a reader, and two rules."""
    instance = make_fake_instance(name="shop")
    FAKE_ACCOUNTS["shop"] = [
        account("root", superuser=True),
        account("writer", ("database", "DELETE", "prod_orders")),
        account("reader", ("database", "SELECT", "prod_orders")),
    ]
    accounts_sync_all(instance_ids=[instance.pk])
    superuser = AccountClassification.objects.create(code="su", name="Superuser", priority=100)
    deleter = AccountClassification.objects.create(code="del", name="Deletes on prod", priority=50)
    rule_create(classification=superuser, db_type="fake", name="su", expression={"fn": "is_superuser"})
    rule = rule_create(classification=deleter, db_type="fake", name="del", expression=DELETE_ON_PROD)
    yield {"instance": instance, "su": superuser, "del": deleter, "rule": rule,
           "ids": dict(InstanceAccount.objects.values_list("username", "pk"))}  # fmt: skip
    FAKE_ACCOUNTS.pop("shop", None)


def assigned(instance=None):
    rows = AccountClassificationAssignment.objects.select_related("account", "classification")
    return {(a.account.username, a.classification.code): (a.source, a.why) for a in rows}


def test_first_run_assigns_with_why_history_and_stats(setup):
    session = classification_auto_classify(instance_ids=[setup["instance"].pk])
    assert session.status == "completed" and session.sync_category == "classification"
    assert assigned() == {
        ("root", "su"): ("auto", ["is_superuser"]),
        ("writer", "del"): ("auto", ["DELETE on prod_orders (database) (direct)"]),
    }
    record = session.records.get()
    assert (record.items_synced, record.items_created, record.items_deleted) == (3, 2, 0)
    assert record.sync_details == {"rules": 2, "matched": 2, "kept_manual": 0, "attempts": 1}
    history = AccountClassificationHistory.objects.all()
    assert {(h.action, h.source, h.batch_id, h.session_id) for h in history} == {
        ("add", "auto", session.session_id, session.session_id)
    }
    assert {h.rule_id for h in history} == {setup["rule"].pk, ClassificationRule.objects.get(name="su").pk}
    stats = {(s.classification.code, s.account_count, s.db_type_id) for s in ClassificationDailyStat.objects.all()}
    assert stats == {("su", 1, "fake"), ("del", 1, "fake")}


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]


def test_a_second_run_with_nothing_changed_writes_nothing(setup):
    """Recognised from the state digest: nothing evaluated, nothing written."""
    instance = setup["instance"]
    classification_auto_classify(instance_ids=[instance.pk])
    with CaptureQueriesContext(connection) as queries:
        outcome = classification_auto_classify_instance(instance=instance)
    assert _writes(queries) == [] and outcome.details == {"rules": 2, "unchanged": True}
    assert not any("FROM instance_accounts a\nJOIN instances" in q["sql"] for q in queries)  # no subjects read
    assert AccountClassificationHistory.objects.count() == 2


def test_the_full_comparison_also_writes_nothing_when_nothing_changed(setup):
    """Without the state digest (e.g. after an upgrade) the rules run again and still write nothing."""
    instance = setup["instance"]
    classification_auto_classify(instance_ids=[instance.pk])
    InstanceClassificationState.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        outcome = classification_auto_classify_instance(instance=instance)
    assert [w.split()[2] for w in _writes(queries)] == ["classification_instance_states"]  # only the digest
    assert (outcome.synced, outcome.created, outcome.updated, outcome.deleted) == (3, 0, 0, 0)


@pytest.mark.parametrize("change", ["facts", "manual", "rule", "tag"])
def test_any_change_a_run_depends_on_makes_it_look_again(setup, admin_user, change, django_capture_on_commit_callbacks):
    instance, ids = setup["instance"], setup["ids"]
    classification_auto_classify(instance_ids=[instance.pk])
    if change == "facts":  # the sync re-classifies by itself (its follow-up); a run after it has nothing to do
        FAKE_ACCOUNTS["shop"][2] = account("reader", ("database", "DELETE", "prod_x"))
        with django_capture_on_commit_callbacks(execute=True):
            accounts_sync_all(instance_ids=[instance.pk])
        assert ("reader", "del") in assigned()
        InstanceClassificationState.objects.all().delete()
    elif change == "manual":  # removing an auto assignment by hand: the rule still matches, it comes back
        classification_unassign(account_ids=[ids["root"]], classification=setup["su"], user=admin_user)
    elif change == "rule":
        rule_update(rule=setup["rule"], expression={"fn": "has_privilege", "privilege": "SELECT"})
    else:
        from instances.services import instance_update

        instance_update(instance=instance, tags=["prod"])
    outcome = classification_auto_classify_instance(instance=instance)
    assert "unchanged" not in outcome.details
    expected = {"facts": ("reader", "del"), "manual": ("root", "su"), "rule": ("reader", "del"), "tag": None}
    if expected[change]:
        assert expected[change] in assigned()


def test_query_budget_does_not_depend_on_the_number_of_accounts(setup, django_assert_max_num_queries):
    instance = setup["instance"]
    FAKE_ACCOUNTS["shop"] = [account(f"u{i}", ("database", "DELETE", "prod")) for i in range(300)]
    accounts_sync_all(instance_ids=[instance.pk])
    AccountClassificationAssignment.objects.all().delete()  # undo the sync's own follow-up classification
    InstanceClassificationState.objects.all().delete()
    # lock, rules, tags, state digest, stored state, accounts+facts, [savepoint], current auto, insert,
    # which additions describe the baseline, history, stats exist/delete/insert, state digest, store state,
    # [release], unlock
    with django_assert_max_num_queries(17):
        outcome = classification_auto_classify_instance(instance=instance)
    assert (outcome.synced, outcome.created, outcome.deleted) == (300, 300, 0)


def test_manual_assignments_survive_auto_runs(setup, admin_user):
    ids, instance = setup["ids"], setup["instance"]
    change = classification_assign(account_ids=[ids["reader"], ids["writer"]], classification=setup["su"],
                                   user=admin_user)  # fmt: skip
    assert (change.changed, change.unchanged) == (2, 0)
    session = classification_auto_classify(instance_ids=[instance.pk])
    assert assigned()[("reader", "su")] == ("manual", []) and assigned()[("writer", "su")] == ("manual", [])
    # the rule matches root only; the manual ones are not auto, so nothing removes them
    assert session.records.get().items_deleted == 0
    manual = AccountClassificationHistory.objects.filter(source="manual")
    assert {(h.action, h.changed_by_id) for h in manual} == {("add", admin_user.pk)}


def test_a_manual_assignment_takes_over_an_auto_one_and_wins_later_runs(setup, admin_user):
    ids, instance = setup["ids"], setup["instance"]
    classification_auto_classify(instance_ids=[instance.pk])
    classification_assign(account_ids=[ids["root"]], classification=setup["su"], user=admin_user)
    assert assigned()[("root", "su")] == ("manual", [])
    record = classification_auto_classify(instance_ids=[instance.pk]).records.get()
    assert assigned()[("root", "su")] == ("manual", []) and record.items_created == 0


def test_narrowing_a_rule_removes_exactly_the_stale_auto_assignments(setup):
    instance = setup["instance"]
    FAKE_ACCOUNTS["shop"].append(account("dev", ("database", "DELETE", "prod_dev")))
    accounts_sync_all(instance_ids=[instance.pk])
    classification_auto_classify(instance_ids=[instance.pk])
    assert {u for (u, c) in assigned() if c == "del"} == {"writer", "dev"}
    rule_update(rule=setup["rule"], expression={**DELETE_ON_PROD, "target": "prod_orders"})
    assert setup["rule"].version == 2
    session = classification_auto_classify(instance_ids=[instance.pk])
    assert {u for (u, c) in assigned() if c == "del"} == {"writer"}
    removed = AccountClassificationHistory.objects.get(action="remove")
    assert (removed.account.username, removed.session_id, removed.rule_id) == ("dev", session.session_id,
                                                                                setup["rule"].pk)  # fmt: skip
    assert session.records.get().items_deleted == 1


def test_unassign_by_hand_is_logged_with_the_user(setup, admin_user):
    ids, instance = setup["ids"], setup["instance"]
    classification_auto_classify(instance_ids=[instance.pk])
    change = classification_unassign(account_ids=[ids["root"], ids["reader"]], classification=setup["su"],
                                     user=admin_user)  # fmt: skip
    assert (change.changed, change.unchanged) == (1, 1)
    row = AccountClassificationHistory.objects.get(action="remove")
    assert (row.source, row.changed_by_id, row.why) == ("auto", admin_user.pk, ["removed by hand"])
    assert not ClassificationDailyStat.objects.filter(classification=setup["su"]).exists()


def test_stats_equal_a_count_over_the_assignments(setup, admin_user):
    ids, instance = setup["ids"], setup["instance"]
    classification_auto_classify(instance_ids=[instance.pk])
    classification_assign(account_ids=[ids["reader"]], classification=setup["del"], user=admin_user)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT classification_id, count(*) FROM account_classification_assignments GROUP BY 1 ORDER BY 1"
        )
        counted = cursor.fetchall()
    stats = sorted(ClassificationDailyStat.objects.values_list("classification_id", "account_count"))
    assert stats == counted == sorted([(setup["su"].pk, 1), (setup["del"].pk, 2)])


def test_an_engine_without_rules_is_reported_not_skipped():
    instance = make_fake_instance(name="lonely")
    record = classification_auto_classify(instance_ids=[instance.pk]).records.get()
    assert record.status == "completed"
    assert record.sync_details["no_rules"] is True
    assert record.sync_details["note"] == "No active rule for database type 'fake': nothing was classified."


def test_a_broken_stored_rule_is_reported_and_freezes_its_classification(setup):
    instance = setup["instance"]
    classification_auto_classify(instance_ids=[instance.pk])
    # an expression stored without validation (a raw UPDATE bypasses clean())
    ClassificationRule.objects.filter(pk=setup["rule"].pk).update(expression={"fn": "has_privilege"})
    FAKE_ACCOUNTS["shop"] = FAKE_ACCOUNTS["shop"][:1]  # writer and reader vanish
    accounts_sync_all(instance_ids=[instance.pk])
    record = classification_auto_classify(instance_ids=[instance.pk]).records.get()
    (error,) = record.sync_details["rule_errors"]
    assert error["rule_id"] == setup["rule"].pk and "privilege: required" in error["error"]
    assert ("writer", "del") in assigned()  # not removed on the strength of a rule that cannot run


def test_rules_are_validated_on_save():
    from django.core.exceptions import ValidationError

    classification = AccountClassification.objects.create(code="x", name="X")
    with pytest.raises(ValidationError) as caught:
        rule_create(classification=classification, db_type="mysql", name="bad",
                    expression={"op": "or", "args": [{"fn": "nope"}]})  # fmt: skip
    assert caught.value.message_dict == {"expression": ["args/0/fn: unknown function 'nope'"]}


def test_an_inline_account_sync_that_changes_accounts_reclassifies_the_instance_inline(setup):
    """Registered by ClassificationConfig: its own classification session, run in the same process
    as the inline sync (no worker needed), named on the sync's record with its status."""
    instance = setup["instance"]
    FAKE_ACCOUNTS["shop"].append(account("ops", superuser=True))
    session = accounts_sync_all(instance_ids=[instance.pk])  # on_commit callbacks never run here
    details = session.records.get().sync_details
    classified = SyncSession.objects.get(session_id=details["classification_session"])
    assert (classified.sync_category, classified.sync_type, classified.status, classified.enqueued) == (
        "classification", "manual_single", "completed", False,
    )  # fmt: skip
    assert details["classification_status"] == "completed"
    assert ("ops", "su") in assigned()
    assert not SyncSession.objects.filter(status__in=SESSION_UNFINISHED).exists()
    unchanged = accounts_sync_all(instance_ids=[instance.pk]).records.get().sync_details
    assert unchanged["unchanged_listing"] is True and "classification_session" not in unchanged


def test_a_sync_in_a_worker_hands_the_reclassification_to_the_cluster(setup, django_capture_on_commit_callbacks):
    instance = setup["instance"]
    FAKE_ACCOUNTS["shop"].append(account("ops", superuser=True))
    with django_capture_on_commit_callbacks(execute=True):  # django-q2 sync mode: tasks run on commit
        session = accounts_sync_all(instance_ids=[instance.pk], enqueue=True)
    details = session.records.get().sync_details
    classified = SyncSession.objects.get(session_id=details["classification_session"])
    assert details["classification_status"] == "queued"  # when the sync's record finished
    assert (classified.enqueued, classified.status) == (True, "completed")
    assert ("ops", "su") in assigned()


def test_a_failed_inline_reclassification_makes_the_sync_record_partial(setup, monkeypatch):
    def busy(*, instance, session):
        raise ConcurrentOperation(f"Classification of {instance.name} is running")

    # the classification session's records import their unit by its dotted path
    monkeypatch.setattr("classification.services.classification_auto_classify_instance", busy)
    FAKE_ACCOUNTS["shop"].append(account("ops", superuser=True))
    session = accounts_sync_all(instance_ids=[setup["instance"].pk])
    record = session.records.get()
    assert (record.status, record.error_code) == ("partial", "partial")
    assert "re-classifying them failed (concurrent_operation: Classification of shop is running" in (
        record.error_message)  # fmt: skip
    assert record.sync_details["classification_status"] == "failed"
    session.refresh_from_db()
    assert (session.status, session.partial_instances) == ("completed", 1)


def test_the_first_classification_after_the_baseline_is_not_an_addition_later_ones_are():
    """The baseline's classification writes its history as usual, marked ``at_baseline``: the
    dashboard's (and the alerts') high-risk additions leave it out. A later change of a baseline
    account, or an account added later, is an addition again."""
    from django.utils import timezone

    from classification.selectors import high_risk_additions

    instance = make_fake_instance(name="onboarded")
    superuser = AccountClassification.objects.create(code="su", name="Superuser", priority=100, risk_level="critical")
    rule_create(classification=superuser, db_type="fake", name="su", expression={"fn": "is_superuser"})
    start = timezone.now()
    try:
        FAKE_ACCOUNTS["onboarded"] = [account("root", superuser=True), account("app")]
        accounts_sync_all(instance_ids=[instance.pk])  # the baseline; classified inline by its follow-up
        history = list(AccountClassificationHistory.objects.values_list("account__username", "action", "at_baseline"))
        assert history == [("root", "add", True)]
        assert not high_risk_additions(since=start).exists()

        FAKE_ACCOUNTS["onboarded"] = [account("root", superuser=True), account("app", superuser=True),
                                      account("new", superuser=True)]  # fmt: skip
        accounts_sync_all(instance_ids=[instance.pk])
    finally:
        FAKE_ACCOUNTS.pop("onboarded", None)
    later = AccountClassificationHistory.objects.filter(at_baseline=False)
    assert sorted(later.values_list("account__username", flat=True)) == ["app", "new"]
    assert sorted(h.account.username for h in high_risk_additions(since=start)) == ["app", "new"]


def test_after_the_first_classification_run_an_addition_is_real_even_with_a_broken_rule():
    """The baseline's additions are those of the first classification run after it, whatever its
    rules: with a broken rule stored (the run stores no state then), a rule added later that
    matches a baseline account is a real addition, shown and alerted."""
    from django.utils import timezone

    from classification.selectors import high_risk_additions

    instance = make_fake_instance(name="onboarded-broken")
    broken_home = AccountClassification.objects.create(code="b", name="Broken", priority=1, risk_level="low")
    broken = rule_create(classification=broken_home, db_type="fake", name="b", expression={"fn": "is_superuser"})
    ClassificationRule.objects.filter(pk=broken.pk).update(expression={"fn": "has_privilege"})  # raw: unvalidated
    start = timezone.now()
    try:
        FAKE_ACCOUNTS["onboarded-broken"] = [account("root", superuser=True)]
        accounts_sync_all(instance_ids=[instance.pk])  # the baseline, classified inline (the broken rule reported)
        superuser = AccountClassification.objects.create(code="su", name="Superuser", priority=100,
                                                         risk_level="critical")  # fmt: skip
        rule_create(classification=superuser, db_type="fake", name="su", expression={"fn": "is_superuser"})
        record = classification_auto_classify(instance_ids=[instance.pk]).records.get()
        assert record.sync_details["rule_errors"]
    finally:
        FAKE_ACCOUNTS.pop("onboarded-broken", None)
    (added,) = AccountClassificationHistory.objects.filter(classification=superuser)
    assert (added.account.username, added.at_baseline) == ("root", False)
    assert [h.account.username for h in high_risk_additions(since=start)] == ["root"]

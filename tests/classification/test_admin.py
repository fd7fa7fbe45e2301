"""Admin of classifications, rules, assignments, history and daily stats."""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from accounts.models import InstanceAccount
from classification.models import (
    AccountClassification,
    AccountClassificationAssignment,
    AccountClassificationHistory,
    ClassificationDailyStat,
    ClassificationRule,
)
from instances.models import Instance

pytestmark = pytest.mark.django_db

APP_MODELS = sorted(
    (m for m in admin.site._registry if m._meta.app_label == "classification"), key=lambda m: m._meta.label
)
EDITABLE = {AccountClassification, ClassificationRule}
EXPRESSION = {"op": "or", "args": [{"fn": "is_superuser"}, {"fn": "can_grant"}]}


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def classified(admin_user):
    """3 classifications with rules; 200 accounts, each assigned, with history and daily stats (set-based).
    The default classifications (migration 0004) are removed first: these three are the whole set."""
    AccountClassification.objects.all().delete()
    instances = Instance.objects.bulk_create(
        [Instance(name=f"cls-inst-{i:02d}", db_type_id="mysql", host="h", port=3306) for i in range(10)]
    )
    accounts = InstanceAccount.objects.bulk_create(
        [InstanceAccount(instance=instances[i % 10], username=f"acct{i:03d}") for i in range(200)]
    )
    classifications = AccountClassification.objects.bulk_create(
        [
            AccountClassification(
                code="superuser", name="Superuser", risk_level="critical", priority=100, is_system=True
            ),
            AccountClassification(code="grant", name="Can grant", risk_level="high", priority=50),
            AccountClassification(code="readonly", name="Read only", risk_level="low", priority=0),
        ]
    )
    rules = ClassificationRule.objects.bulk_create(
        [
            ClassificationRule(classification=c, db_type_id=db, name=f"{c.code}-{db}", expression=EXPRESSION)
            for c in classifications
            for db in ("mysql", "postgresql")
        ]
    )
    AccountClassificationAssignment.objects.bulk_create(
        [
            AccountClassificationAssignment(
                account=a, classification=classifications[i % 3], source="auto", rule=rules[(i % 3) * 2]
            )
            for i, a in enumerate(accounts)
        ]
    )
    batch = uuid.uuid4()
    AccountClassificationHistory.objects.bulk_create(
        [
            AccountClassificationHistory(
                account=a,
                classification=classifications[i % 3],
                action="add",
                source="auto",
                rule=rules[(i % 3) * 2],
                batch_id=batch,
                changed_by=admin_user,
            )
            for i, a in enumerate(accounts)
        ]
    )
    today = timezone.localdate()
    ClassificationDailyStat.objects.bulk_create(
        [
            ClassificationDailyStat(
                date=today - timezone.timedelta(days=d),
                classification=c,
                db_type_id="mysql",
                instance=inst,
                account_count=5,
            )
            for d in range(10)
            for c in classifications
            for inst in instances
        ]
    )
    from classification.models import InstanceClassificationState

    InstanceClassificationState.objects.bulk_create(
        [InstanceClassificationState(instance=i, fingerprint="0" * 32, classified_at=timezone.now()) for i in instances]
    )
    return classifications


@pytest.mark.parametrize("model", APP_MODELS, ids=lambda m: m._meta.label)
def test_changelist_add_and_change_views(admin_client_logged_in, classified, model, django_assert_max_num_queries):
    url = _url(model, "changelist")
    for query in ("", "?all="):  # 200 rows render with a bounded number of queries
        with django_assert_max_num_queries(12):
            assert admin_client_logged_in.get(url + query).status_code == 200, query
    assert admin_client_logged_in.get(url + "?q=acct01").status_code == 200
    add = admin_client_logged_in.get(_url(model, "add"))
    assert add.status_code == (200 if model in EDITABLE else 403)
    obj = model.objects.order_by("pk").first()
    assert admin_client_logged_in.get(_url(model, "change", obj.pk)).status_code == 200


def test_classification_counts(admin_client_logged_in, classified):
    response = admin_client_logged_in.get(_url(AccountClassification, "changelist"))
    rows = {c.code: (c._rule_count, c._account_count) for c in response.context["cl"].result_list}
    assert rows == {"superuser": (2, 67), "grant": (2, 67), "readonly": (2, 66)}


def test_system_classification_cannot_be_deleted(admin_client_logged_in, classified):
    system = AccountClassification.objects.get(code="superuser")
    assert admin_client_logged_in.get(_url(AccountClassification, "delete", system.pk)).status_code == 403
    other = AccountClassification.objects.get(code="readonly")
    assert admin_client_logged_in.get(_url(AccountClassification, "delete", other.pk)).status_code == 200


def test_rule_add_with_json_expression(admin_client_logged_in, classified):
    classification = classified[1]
    response = admin_client_logged_in.post(
        _url(ClassificationRule, "add"),
        {
            "name": "grant on pg",
            "classification": classification.pk,
            "db_type": "postgresql",
            "is_active": "on",
            "expression": json.dumps(EXPRESSION),
        },
    )
    assert response.status_code == 302, response.content[:3000]
    rule = ClassificationRule.objects.get(name="grant on pg")
    assert rule.expression == EXPRESSION
    page = admin_client_logged_in.get(_url(ClassificationRule, "change", rule.pk)).content.decode()
    assert "&quot;op&quot;: &quot;or&quot;" in page  # indented JSON in the textarea


def test_rule_rejects_invalid_json(admin_client_logged_in, classified):
    response = admin_client_logged_in.post(
        _url(ClassificationRule, "add"),
        {"name": "bad", "classification": classified[0].pk, "db_type": "mysql", "expression": "{not json"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["expression"]
    assert not ClassificationRule.objects.filter(name="bad").exists()


def test_daily_stats_default_window(admin_client_logged_in, classified):
    url = _url(ClassificationDailyStat, "changelist")
    assert admin_client_logged_in.get(url).context["cl"].result_count == 300  # 10 days, all within 30
    assert admin_client_logged_in.get(url + "?date__recent=1").context["cl"].result_count == 30


# --- the rule editor: inline validation, preview without saving, saves through the services ---------------------------
@pytest.fixture
def engine_accounts():
    from accounts.services import accounts_sync_all
    from instances.adapters.base import AccountFacts, Privilege
    from tests.support.factories import make_fake_instance
    from tests.support.fake_adapter import FAKE_ACCOUNTS

    instance = make_fake_instance(name="shop")
    FAKE_ACCOUNTS["shop"] = [
        AccountFacts(username="root", is_superuser=True),
        AccountFacts(username="writer", privileges=(Privilege("database", "DELETE", "prod"),)),
    ]
    accounts_sync_all(instance_ids=[instance.pk])
    classification = AccountClassification.objects.create(code="w", name="Writers")
    yield classification
    FAKE_ACCOUNTS.pop("shop", None)


def _rule_form(classification, expression, **extra):
    return {"name": "w-fake", "classification": classification.pk, "db_type": "fake", "is_active": "on",
            "expression": json.dumps(expression), **extra}  # fmt: skip


def test_rule_editor_shows_dsl_errors_inline(admin_client_logged_in, engine_accounts):
    bad = {"op": "and", "args": [{"fn": "has_role"}]}
    response = admin_client_logged_in.post(_url(ClassificationRule, "add"), _rule_form(engine_accounts, bad))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["expression"] == ["args/0/role: required: a role name "
                                                                       "(non-empty string)"]  # fmt: skip
    assert not ClassificationRule.objects.filter(name="w-fake").exists()


def test_rule_preview_lists_adds_with_why_and_saves_nothing(admin_client_logged_in, engine_accounts):
    draft = {"fn": "has_privilege", "privilege": "DELETE"}
    response = admin_client_logged_in.post(
        _url(ClassificationRule, "add"), _rule_form(engine_accounts, draft, _preview="Preview")
    )
    assert response.status_code == 200
    preview = response.context["preview"]
    assert [(a.username, a.why) for a in preview.adds] == [("writer", ["DELETE on prod (database) (direct)"])]
    body = response.content.decode()
    assert "Would add (1)" in body and "DELETE on prod (database) (direct)" in body
    assert ">writer</a>" in body and ">shop</a>" in body  # the account and its instance, by name
    # above the Save buttons (they sit in the page's footer, after the form)
    assert body.index('id="rule-preview"') < body.index('name="_save"')
    assert not ClassificationRule.objects.filter(name="w-fake").exists()


def test_classification_form_code_priority_and_palette(admin_client_logged_in):
    from whalefall.charts import PALETTE

    form = {"name": "Write on prod", "code": "", "description": "", "risk_level": "high", "color": PALETTE[1][0],
            "priority": "85", "is_active": "on"}  # fmt: skip
    assert admin_client_logged_in.post(_url(AccountClassification, "add"), form).status_code == 302
    created = AccountClassification.objects.get(name="Write on prod")
    assert created.code == "write_on_prod" and created.color == PALETTE[1][0]  # underscores, like the built-in codes
    for field, value, message in (("code", "write-on-prod", "underscores"), ("priority", "101", "100"),
                                  ("color", "#123456", "valid choice")):  # fmt: skip
        response = admin_client_logged_in.post(_url(AccountClassification, "add"), {**form, "name": "x", field: value})
        assert message in response.context["adminform"].form.errors[field][0], field
    page = admin_client_logged_in.get(_url(AccountClassification, "add")).content.decode()
    assert "higher wins" in page and 'name="color"' in page and "DatabaseDefault" not in page


def test_built_in_classifications_have_distinct_colours_and_readable_rule_names():
    from whalefall.charts import PALETTE

    colours = dict(AccountClassification.objects.filter(is_system=True).values_list("code", "color"))
    assert len(set(colours.values())) == len(colours) and set(colours.values()) <= {c for c, _ in PALETTE}
    names = set(ClassificationRule.objects.filter(classification__code="superuser").values_list("name", flat=True))
    assert "Superuser (MySQL / MariaDB)" in names and not any(name.endswith("(mysql)") for name in names)


def test_rule_saves_through_the_services_and_bumps_the_version(admin_client_logged_in, engine_accounts):
    response = admin_client_logged_in.post(_url(ClassificationRule, "add"), _rule_form(engine_accounts, EXPRESSION))
    assert response.status_code == 302
    rule = ClassificationRule.objects.get(name="w-fake")
    assert rule.version == 1
    response = admin_client_logged_in.post(
        _url(ClassificationRule, "change", rule.pk), _rule_form(engine_accounts, {"fn": "can_grant"})
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.expression, rule.version) == ({"fn": "can_grant"}, 2)
    same = _rule_form(engine_accounts, {"fn": "can_grant"})
    admin_client_logged_in.post(_url(ClassificationRule, "change", rule.pk), same)
    rule.refresh_from_db()
    assert rule.version == 2  # nothing decisive changed


# --- on the account pages: primary classification, bulk and single manual assignments -----------------------------
@pytest.fixture
def staff(client):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    def login(role: str):
        user = get_user_model().objects.create_user(f"{role}-staff", password="pw", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        return user

    return login


def test_account_list_shows_the_primary_classification_without_n_plus_one(
    admin_client_logged_in, classified, django_assert_max_num_queries
):
    url = reverse("admin:accounts_instanceaccount_changelist") + "?all="
    with django_assert_max_num_queries(12):
        response = admin_client_logged_in.get(url)
    body = response.content.decode()
    assert "Primary classification" in body and "Superuser" in body and "Read only" in body


def test_bulk_assign_and_unassign_from_the_account_list(client, staff, classified):
    operator = staff("operator")
    grant = classified[1]
    accounts = list(InstanceAccount.objects.order_by("pk").values_list("pk", flat=True)[:3])
    url = reverse("admin:accounts_instanceaccount_changelist")
    response = client.post(url, {"action": "assign_classification_action", "_selected_action": accounts, "index": 0,
                                 "classification": grant.pk}, follow=True)  # fmt: skip
    assert "Can grant: assigned 3 account(s), 0 left as they were." in response.content.decode()  # auto → manual
    rows = AccountClassificationAssignment.objects.filter(account_id__in=accounts, classification=grant)
    assert {(r.source, r.assigned_by_id) for r in rows if r.source == "manual"} == {("manual", operator.pk)}
    response = client.post(url, {"action": "unassign_classification_action", "_selected_action": accounts, "index": 0,
                                 "classification": grant.pk}, follow=True)  # fmt: skip
    assert "unassigned 3 account(s)" in response.content.decode()


def test_viewers_get_no_assign_actions(client, staff, classified):
    staff("viewer")
    response = client.get(reverse("admin:accounts_instanceaccount_changelist"))
    form = response.context["action_form"]
    assert form is None or "assign_classification_action" not in dict(form.fields["action"].choices)


def test_assign_and_unassign_on_the_account_page(client, staff, classified):
    staff("operator")
    account = InstanceAccount.objects.order_by("pk").first()
    page = client.get(reverse("admin:accounts_instanceaccount_change", args=[account.pk])).content.decode()
    assert "Assign by hand:" in page
    readonly = classified[2]
    client.post(reverse("admin:classification_assign", args=[account.pk]), {"classification": readonly.pk})
    assert AccountClassificationAssignment.objects.get(account=account, classification=readonly).source == "manual"
    response = client.post(reverse("admin:classification_unassign", args=[account.pk, readonly.pk]), follow=True)
    assert f"Read only unassigned for {account.username}." in response.content.decode()
    assert not AccountClassificationAssignment.objects.filter(account=account, classification=readonly).exists()


def test_daily_stats_chart_of_counts_over_time(admin_client_logged_in, classified, django_assert_max_num_queries):
    url = _url(ClassificationDailyStat, "changelist")
    with django_assert_max_num_queries(12):
        response = admin_client_logged_in.get(url)
    chart = response.context["counts_chart"]
    # one line per classification, priority order, each in the classification's colour,
    # last value = 5 accounts on each of the fixture's instances
    instances = len({s.instance_id for s in ClassificationDailyStat.objects.all()})
    expected = [(c.name, c.color, str(5 * instances)) for c in AccountClassification.objects.all()]
    assert [(s["name"], s["color"], s["last"]) for s in chart["series"]] == expected
    assert all(len(s["points"].split()) == 10 for s in chart["series"])  # 10 days of stats
    page = response.content.decode()
    assert page.count("<polyline") == 3 and 'aria-label="Accounts per classification over time"' in page

    one = classified[0]
    some_instance = ClassificationDailyStat.objects.order_by("instance_id").first().instance
    filtered = admin_client_logged_in.get(
        url + f"?classification__id__exact={one.pk}&instance__id__exact={some_instance.pk}"
    )
    assert [(s["name"], s["last"]) for s in filtered.context["counts_chart"]["series"]] == [(one.name, "5")]
    assert f"on {some_instance}" in filtered.content.decode()

    ClassificationDailyStat.objects.all().delete()
    empty = admin_client_logged_in.get(url).content.decode()
    assert "No daily statistics in this window yet" in empty and "<polyline" not in empty

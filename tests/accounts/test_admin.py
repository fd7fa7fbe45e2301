"""Admin of accounts, permissions and the account change log (read-only, bounded queries)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    AccountChangeLog,
    AccountListing,
    AccountPermission,
    AccountUnreadScope,
    ChangeType,
    InstanceAccount,
)
from classification.models import AccountClassification, AccountClassificationAssignment
from instances.models import Instance
from sync_sessions.models import SyncSession

pytestmark = pytest.mark.django_db

APP_MODELS = sorted((m for m in admin.site._registry if m._meta.app_label == "accounts"), key=lambda m: m._meta.label)


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def accounts_200(db):
    """200 accounts over 20 instances, each with permissions and one change-log row (set-based)."""
    instances = Instance.objects.bulk_create(
        [Instance(name=f"acct-inst-{i:02d}", db_type_id="mysql", host="h", port=3306) for i in range(20)]
    )
    accounts = InstanceAccount.objects.bulk_create(
        [InstanceAccount(instance=instances[i % 20], username=f"user{i:03d}", host="%") for i in range(200)]
    )
    AccountPermission.objects.bulk_create(
        [
            AccountPermission(
                instance_account=a,
                is_superuser=i % 7 == 0,
                can_grant=i % 5 == 0,
                roles=["r1"],
                snapshot={"global": ["SELECT"]},
                facts={"privileges": ["SELECT"]},
            )
            for i, a in enumerate(accounts)
        ]
    )
    AccountListing.objects.bulk_create(
        [AccountListing(instance=i, fingerprint="f" * 32, account_count=10) for i in instances]
    )
    session = SyncSession.objects.create(sync_type="manual_batch", sync_category="account")
    now = timezone.now()
    AccountUnreadScope.objects.create(
        instance=instances[0], name="database app", level="database", target="app",
        reason="the monitoring login has no CONNECT privilege on it", covers=["schema", "object", "column"],
        last_unread_at=now,
    )  # fmt: skip
    AccountChangeLog.objects.bulk_create(
        [
            AccountChangeLog(
                instance=a.instance,
                instance_account=a,
                username=a.username,
                host=a.host,
                change_type=ChangeType.ADD,
                diff={"added": ["SELECT"]},
                session=session,
                changed_at=now - dt.timedelta(days=i % 30),
            )
            for i, a in enumerate(accounts)
        ]
    )
    return accounts


@pytest.mark.parametrize("model", APP_MODELS, ids=lambda m: m._meta.label)
def test_changelist_views(admin_client_logged_in, accounts_200, model):
    model_admin = admin.site._registry[model]
    for query in ("", "?q=user0", "?all="):
        assert admin_client_logged_in.get(_url(model, "changelist") + query).status_code == 200
    # these tables are written by syncs only
    assert model_admin.has_add_permission(None) is False
    assert admin_client_logged_in.get(_url(model, "add")).status_code == 403
    obj = model.objects.first()
    assert admin_client_logged_in.get(_url(model, "change", obj.pk)).status_code == 200


def test_accounts_changelist_query_budget(admin_client_logged_in, accounts_200, django_assert_max_num_queries):
    url = _url(InstanceAccount, "changelist")
    for query in ("", "?all=", "?permission__is_superuser__exact=1", "?q=user1", "?o=5"):
        with django_assert_max_num_queries(10):
            response = admin_client_logged_in.get(url + query)
        assert response.status_code == 200, query


def test_change_log_changelist_query_budget(admin_client_logged_in, accounts_200, django_assert_max_num_queries):
    url = _url(AccountChangeLog, "changelist")
    for query in ("", "?all=", "?change_type__exact=add", "?changed_at__recent=7", "?q=user1"):
        with django_assert_max_num_queries(10):
            response = admin_client_logged_in.get(url + query)
        assert response.status_code == 200, query


def test_change_log_unfiltered_does_not_count_the_table(admin_client_logged_in, accounts_200):
    with CaptureQueriesContext(connection) as ctx:
        response = admin_client_logged_in.get(_url(AccountChangeLog, "changelist"))
    assert response.status_code == 200
    full_counts = [
        q["sql"]
        for q in ctx.captured_queries
        if re.match(r'SELECT COUNT\(\*\) AS "__count" FROM "account_change_log"$', q["sql"])
    ]
    assert full_counts == []
    assert any("pg_inherits" in q["sql"] for q in ctx.captured_queries)
    # stale statistics never hide rows: the capped count sees all 200
    assert response.context["cl"].result_count == 200


def test_change_log_date_window(admin_client_logged_in, accounts_200):
    url = _url(AccountChangeLog, "changelist")
    assert admin_client_logged_in.get(url).context["cl"].result_count == 200  # default: all
    week = admin_client_logged_in.get(url + "?changed_at__recent=7").context["cl"].result_count
    assert 0 < week < 200


def test_account_change_view_shows_permissions_and_history(
    admin_client_logged_in, accounts_200, django_assert_max_num_queries
):
    account = accounts_200[0]
    classification = AccountClassification.objects.create(code="su", name="Superuser")
    AccountClassificationAssignment.objects.create(account=account, classification=classification, source="auto")
    AccountChangeLog.objects.bulk_create(
        [
            AccountChangeLog(
                instance=account.instance,
                instance_account=account,
                username=account.username,
                change_type=ChangeType.MODIFY,
                diff={
                    "privileges": {"added": [f"SELECT on app{i}.*"], "removed": []},
                    "is_locked": {"old": False, "new": True},
                },  # fmt: skip
            )
            for i in range(80)
        ]
    )
    with django_assert_max_num_queries(15):
        response = admin_client_logged_in.get(_url(InstanceAccount, "change", account.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Superuser" in body  # classification inline
    assert "&quot;global&quot;" in body or '"global"' in body  # snapshot
    history = next(f for f in response.context["inline_admin_formsets"] if f.opts.model is AccountChangeLog)
    assert len(history.formset.forms) == 50  # newest 50 of 81
    assert "All changes of this account" in body
    # each change as +/- lines, its JSON collapsed below them
    assert re.search(r"<code>\+</code> SELECT on app\d+\.\*</div>", body) and "<code>+</code> is locked</div>" in body
    assert body.count("<details><summary>JSON</summary>") >= 50
    # people's labels, never internal ones: no "permissions of account 32", "32 → 4", "modify user000"
    assert f"account {account.pk}" not in body and f"{account.pk} → " not in body and "modify user000" not in body
    # "Assign by hand" starts on no classification
    manual = body[body.index('id="wf-classification"') :]
    assert re.search(r'<option value="" selected>Choose a classification…</option>', manual)


def test_change_log_says_what_changed_and_filters_by_session(admin_client_logged_in, accounts_200):
    session = AccountChangeLog.objects.first().session
    AccountChangeLog.objects.update(diff={"privileges": {"added": ["SELECT on app.*"], "removed": []}})
    url = _url(AccountChangeLog, "changelist")
    response = admin_client_logged_in.get(url, {"session": str(session.session_id)})
    assert response.context["cl"].result_count == 200  # the rows this session wrote
    assert "+SELECT on app.*" in response.content.decode()  # a one-line summary of each change
    other = SyncSession.objects.create(sync_type="manual_batch", sync_category="account")
    assert admin_client_logged_in.get(url, {"session": str(other.session_id)}).context["cl"].result_count == 0
    assert admin_client_logged_in.get(url, {"session": "not-a-uuid"}).context["cl"].result_count == 0
    # the session's page links to them
    page = admin_client_logged_in.get(reverse("admin:sync_sessions_syncsession_change", args=[session.pk]))
    assert f"{url}?session={session.session_id}" in page.content.decode()


def test_account_admins_are_read_only(admin_client_logged_in, accounts_200):
    account = accounts_200[0]
    response = admin_client_logged_in.post(_url(InstanceAccount, "change", account.pk), {"username": "hacked"})
    assert response.status_code == 403
    response = admin_client_logged_in.post(_url(AccountChangeLog, "delete", AccountChangeLog.objects.first().pk))
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.username == "user000"


# --- filters: one instance (without listing every instance), db type, classification --------------------------------
@pytest.fixture
def classified(accounts_200):
    su = AccountClassification.objects.create(code="su", name="Superuser", priority=10)
    AccountClassificationAssignment.objects.bulk_create(
        AccountClassificationAssignment(account=a, classification=su, source="auto") for a in accounts_200[::4]
    )
    return accounts_200


def test_accounts_changelist_filters_query_budget(admin_client_logged_in, classified, django_assert_max_num_queries):
    instance = classified[0].instance
    url = _url(InstanceAccount, "changelist")
    cases = {
        f"?instance={instance.pk}": 10,
        "?classification=su": 50,
        f"?instance={instance.pk}&classification=su&is_active__exact=1": 10,  # user000, user020, …
        f"?instance={classified[1].instance.pk}&classification=su": 0,
        "?instance__db_type__name__exact=mysql&permission__is_locked__exact=0": 100,  # one page of 200
        "?instance=nope": 0,
        "?q=user00": 10,
    }
    for query, expected in cases.items():
        with django_assert_max_num_queries(11):
            response = admin_client_logged_in.get(url + query)
        assert response.status_code == 200, query
        assert len(response.context["cl"].result_list) == expected, query
    body = admin_client_logged_in.get(url + f"?instance={instance.pk}").content.decode()
    assert instance.name in body  # the selected instance is named in the filter
    unfiltered = admin_client_logged_in.get(url).content.decode()
    assert "acct-inst-07" not in unfiltered.split('id="changelist-filter"')[1]  # instances are never all listed


def test_change_log_changelist_instance_filter(admin_client_logged_in, accounts_200, django_assert_max_num_queries):
    instance = accounts_200[3].instance
    url = _url(AccountChangeLog, "changelist")
    for query, expected in ((f"?instance={instance.pk}", 10), ("?instance__db_type__name__exact=postgresql", 0)):
        with django_assert_max_num_queries(10):
            response = admin_client_logged_in.get(url + query)
        assert response.status_code == 200, query
        assert response.context["cl"].result_count == expected, query


def test_instance_change_page_links_to_its_accounts(admin_client_logged_in, accounts_200):
    instance = accounts_200[0].instance
    body = admin_client_logged_in.get(reverse("admin:instances_instance_change", args=(instance.pk,))).content.decode()
    assert f"{_url(InstanceAccount, 'changelist')}?instance={instance.pk}" in body
    assert f"{_url(AccountChangeLog, 'changelist')}?instance={instance.pk}" in body


def test_account_listing_changelist_query_budget(admin_client_logged_in, accounts_200, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = admin_client_logged_in.get(_url(AccountListing, "changelist"))
    assert response.status_code == 200 and response.content.count(b"acct-inst-") >= 20


def test_account_page_shows_effective_privileges_reasons_and_collapsed_json(admin_client_logged_in, accounts_200):
    account = accounts_200[1]
    facts = {
        "can_grant": True, "roles": ["reporting"],
        "privileges": [
            {"privilege": "SELECT", "level": "database", "target": "app", "grantable": False, "state": "GRANT",
             "via": [], "via_set_role": False},
            {"privilege": "DELETE", "level": "database", "target": "app", "grantable": True, "state": "GRANT",
             "via": ["reporting", "base"], "via_set_role": False},
            {"privilege": "DROP", "level": "object", "target": "app.t", "grantable": False, "state": "DENY",
             "via": ["ops"], "via_set_role": True},
            {"privilege": "ALL", "level": "object", "target": "app.u", "grantable": True, "state": "GRANT",
             "via": ["owner_role"], "via_set_role": False, "implied_by": "owner"},
        ],
        "reasons": {"can_grant": ["DELETE on app.* WITH GRANT OPTION via reporting → base"]},
        "password_policy": {"enforced": False, "reason": "CHECK_POLICY OFF"},
    }  # fmt: skip
    AccountPermission.objects.filter(instance_account=account).update(facts=facts)
    body = admin_client_logged_in.get(_url(InstanceAccount, "change", account.pk)).content.decode()
    table = body.split('class="effective-privileges')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table)
    assert rows == [
        ("SELECT", "database", "app", "", "direct"),
        ("DELETE", "database", "app", "yes", "reporting → base"),
        ("<strong>DENY</strong> DROP", "object", "app.t", "", "ops (SET ROLE only)"),
        ("ALL", "object", "app.u", "yes", "owner_role (implied by owner)"),
    ]
    assert "not enforced: CHECK_POLICY OFF" in body
    assert "<dt>can_grant</dt>" in body and "DELETE on app.* WITH GRANT OPTION via reporting → base" in body
    # the JSON is collapsed
    collapsed = r"<details><summary>\s*<h[24][^>]*>\s*JSON\s*</h[24]>\s*</summary>(?:(?!</details>).)*Facts"
    assert re.search(collapsed, body, re.S)


def test_privileges_table_is_capped(accounts_200):
    from accounts.admin import display as accounts_admin

    permission = AccountPermission.objects.get(instance_account=accounts_200[2])
    permission.facts = {"privileges": [
        {"privilege": "SELECT", "level": "object", "target": f"app.t{i}", "grantable": False, "state": "GRANT",
         "via": [], "via_set_role": False} for i in range(accounts_admin.PRIVILEGE_TABLE_LIMIT + 7)]}  # fmt: skip
    html = accounts_admin.privileges_table(permission)
    assert html.count("<tr><td>") == accounts_admin.PRIVILEGE_TABLE_LIMIT and "… 7 more" in html
    permission.facts = {}
    assert accounts_admin.privileges_table(permission) == "-" and accounts_admin.reasons_list(permission) == "-"


def test_account_page_says_present_at_baseline_and_the_log_lists_the_baseline(
    admin_client_logged_in, django_assert_max_num_queries
):
    from accounts.services import accounts_sync_instance
    from instances.adapters.base import AccountFacts
    from tests.support.factories import make_fake_instance
    from tests.support.fake_adapter import FAKE_ACCOUNTS

    instance = make_fake_instance()
    try:
        FAKE_ACCOUNTS[instance.name] = [AccountFacts(username="old", host="", is_superuser=True)]
        accounts_sync_instance(instance=instance)
        FAKE_ACCOUNTS[instance.name] = [AccountFacts(username="old", host=""), AccountFacts(username="new", host="")]
        accounts_sync_instance(instance=instance)
    finally:
        FAKE_ACCOUNTS.pop(instance.name, None)
    baseline = AccountChangeLog.objects.get(instance=instance, change_type="baseline")
    old = InstanceAccount.objects.get(instance=instance, username="old")
    with django_assert_max_num_queries(15):
        body = admin_client_logged_in.get(_url(InstanceAccount, "change", old.pk)).content.decode()
    assert "present at <a href=" in body and _url(AccountChangeLog, "change", baseline.pk) in body
    new = InstanceAccount.objects.get(instance=instance, username="new")
    body = admin_client_logged_in.get(_url(InstanceAccount, "change", new.pk)).content.decode()
    assert "present at <a" not in body  # added later: its "add" row says when
    listing = admin_client_logged_in.get(_url(AccountChangeLog, "changelist"), {"instance": instance.pk})
    body = listing.content.decode()
    assert "baseline: 1 accounts (1 superusers, 0 can grant, 0 locked)" in body
    assert "(every account: the instance&#x27;s first sync)" in body
    assert admin_client_logged_in.get(_url(AccountChangeLog, "change", baseline.pk)).status_code == 200
    # the instance page's recent changes name it too (a link with text, not an empty one)
    page = admin_client_logged_in.get(reverse("admin:instances_instance_change", args=[instance.pk])).content.decode()
    assert "(every account: the instance&#x27;s first sync)</a>" in page

"""The instance page leads with its state and problems, then its buttons (POST forms with CSRF,
for operators), then the capacity chart, the risky accounts and the recent account changes."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from console.demo import demo_data_load
from instances.models import Instance
from sync_sessions.models import SyncSession

pytestmark = pytest.mark.django_db


def _page(instance_id: int) -> str:
    return reverse("admin:instances_instance_change", args=[instance_id])


def _run(instance_id: int, action: str) -> str:
    return reverse("admin:instances_instance_run", args=[instance_id, action])


def _client(role: str) -> Client:
    user = User.objects.create_user(role, password=f"pw-{role}-1", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def test_the_page_leads_with_status_problems_buttons_then_the_apps_cards(admin_client_logged_in,
                                                                          django_assert_max_num_queries):  # fmt: skip
    demo_data_load()
    oracle = Instance.objects.get(name="demo-oracle-hr")  # the demo's failing, suspended-free instance
    with django_assert_max_num_queries(18):  # a fixed number: each card reads a bounded window
        body = admin_client_logged_in.get(_page(oracle.pk)).content.decode()
    marks = ['id="instance-status"', 'id="instance-problems"', 'id="instance-buttons"', "<h2>Capacity</h2>",
             "<h2>Risky accounts</h2>", "<h2>Recent account changes</h2>", 'name="name"']  # fmt: skip
    positions = [body.index(mark) for mark in marks]
    assert positions == sorted(positions)  # in this order, the form last
    problems = body[body.index('id="instance-problems"') : body.index('id="instance-buttons"')]
    assert "target_timeout" in problems and "failed at" in problems  # the last capacity run
    buttons = re.findall(r'<button type="submit"[^>]*value="(\w+)"', body)
    assert buttons == ["test_connection_action", "check_privileges_action", "sync_accounts_action",
                       "collect_capacity_action", "classify_accounts_action"]  # fmt: skip
    assert body.count('name="csrfmiddlewaretoken"') >= 6  # each button's form, and the page's
    assert 'class="wf-chart"' in body and "Superuser" in body  # the chart, a risky account


def test_test_connection_runs_here_for_this_instance(admin_client_logged_in):
    from tests.support.factories import make_fake_instance

    instance = make_fake_instance()
    response = admin_client_logged_in.post(_run(instance.pk, "test_connection_action"))
    assert response.status_code == 302 and response.url == _page(instance.pk)
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(messages) == 1 and messages[0].startswith(f"{instance.name}: ok — fake 1.0 (")
    instance.refresh_from_db()
    assert instance.version == "fake 1.0" and instance.last_connected_at is not None


def test_sync_accounts_queues_a_session_and_links_to_it(admin_client_logged_in):
    from tests.support.factories import make_fake_instance

    instance = make_fake_instance("accounts=3")
    response = admin_client_logged_in.post(_run(instance.pk, "sync_accounts_action"), follow=True)
    session = SyncSession.objects.get(sync_category="account")
    assert session.total_instances == 1 and session.created_by.username == "admin"
    assert reverse("admin:sync_sessions_syncsession_change", args=[session.pk]) in response.content.decode()


def test_buttons_are_posts_for_operators_only():
    demo_data_load()
    instance = Instance.objects.get(name="demo-mysql-orders")
    viewer, operator = _client("viewer"), _client("operator")
    page = viewer.get(_page(instance.pk)).content.decode()
    assert 'id="instance-status"' in page and 'id="instance-buttons"' not in page
    assert viewer.post(_run(instance.pk, "sync_accounts_action")).status_code == 403
    assert not SyncSession.objects.filter(sync_category="account", created_by__username="viewer").exists()
    assert operator.get(_run(instance.pk, "sync_accounts_action")).status_code == 405  # never on a GET
    assert operator.post(_run(instance.pk, "no_such_action")).status_code == 403
    assert operator.post(_run(999999, "sync_accounts_action")).status_code == 404
    csrf_checked = Client(enforce_csrf_checks=True)
    csrf_checked.force_login(User.objects.get(username="operator"))
    assert csrf_checked.post(_run(instance.pk, "sync_accounts_action")).status_code == 403  # no CSRF token
    assert operator.post(_run(instance.pk, "sync_accounts_action")).status_code == 302


def test_a_suspended_instance_says_so_and_offers_resume(admin_client_logged_in):
    demo_data_load()
    Instance.objects.filter(name="demo-mysql-orders").update(suspended_at=timezone.now(), consecutive_failures=5)
    instance = Instance.objects.get(name="demo-mysql-orders")
    body = admin_client_logged_in.get(_page(instance.pk)).content.decode()
    assert "Suspended on" in body and "after 5 failed contacts" in body and 'value="resume_action"' in body
    admin_client_logged_in.post(_run(instance.pk, "resume_action"))
    instance.refresh_from_db()
    assert instance.suspended_at is None and instance.consecutive_failures == 0

"""Admin of sync sessions and their instance records (read-only, bounded queries)."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from instances.models import Instance
from sync_sessions.models import SyncInstanceRecord, SyncSession

pytestmark = pytest.mark.django_db

APP_MODELS = sorted(
    (m for m in admin.site._registry if m._meta.app_label == "sync_sessions"), key=lambda m: m._meta.label
)


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def sessions_200(admin_user):
    """200 sessions; the newest has one record for each of 200 instances (set-based)."""
    instances = Instance.objects.bulk_create(
        [Instance(name=f"sync-inst-{i:03d}", db_type_id="postgresql", host="h", port=5432) for i in range(200)]
    )
    now = timezone.now()
    sessions = SyncSession.objects.bulk_create(
        [
            SyncSession(
                sync_type=("scheduled", "manual_batch", "manual_single")[i % 3],
                sync_category=("account", "capacity")[i % 2],
                status=("completed", "failed", "running")[i % 3],
                started_at=now - timezone.timedelta(minutes=i),
                completed_at=None
                if i % 3 == 2
                else now - timezone.timedelta(minutes=i) + timezone.timedelta(seconds=7),
                total_instances=200,
                created_by=admin_user if i % 2 else None,
            )
            for i in range(200)
        ]
    )
    SyncInstanceRecord.objects.bulk_create(
        [
            SyncInstanceRecord(
                session=sessions[0],
                instance=inst,
                instance_name=inst.name,
                sync_category="account",
                status="failed" if i % 10 == 0 else "completed",
                items_synced=i,
                started_at=now,
                completed_at=now + timezone.timedelta(seconds=i / 10),
                error_code="TargetTimeout" if i % 10 == 0 else "",
                sync_details={"accounts": i},
            )
            for i, inst in enumerate(instances)
        ]
    )
    return sessions


@pytest.mark.parametrize("model", APP_MODELS, ids=lambda m: m._meta.label)
def test_changelist_and_change_views(admin_client_logged_in, sessions_200, model):
    for query in ("", "?q=abc", "?q=TargetTimeout", f"?q={sessions_200[0].session_id}", "?status__exact=failed"):
        assert admin_client_logged_in.get(_url(model, "changelist") + query).status_code == 200, query
    assert admin_client_logged_in.get(_url(model, "add")).status_code == 403  # written by services only
    obj = model.objects.first()
    assert admin_client_logged_in.get(_url(model, "change", obj.pk)).status_code == 200


def test_sessions_changelist_query_budget(admin_client_logged_in, sessions_200, django_assert_max_num_queries):
    url = _url(SyncSession, "changelist")
    for query in ("", "?all=", "?status__exact=failed", "?sync_category__exact=account&sync_type__exact=scheduled"):
        with django_assert_max_num_queries(10):
            response = admin_client_logged_in.get(url + query)
        assert response.status_code == 200, query


def test_session_search_by_uuid(admin_client_logged_in, sessions_200):
    session = sessions_200[5]
    response = admin_client_logged_in.get(_url(SyncSession, "changelist") + f"?session_id={session.session_id}")
    assert list(response.context["cl"].result_list) == [session]
    response = admin_client_logged_in.get(_url(SyncSession, "changelist") + f"?q={session.session_id}")
    assert list(response.context["cl"].result_list) == [session]


def test_session_change_view_lists_records(admin_client_logged_in, sessions_200, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = admin_client_logged_in.get(_url(SyncSession, "change", sessions_200[0].pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "sync-inst-199" in body and "TargetTimeout" in body
    assert "19.9 s" in body  # how long each instance took
    inline = response.context["inline_admin_formsets"][0]
    assert len(inline.formset.forms) == 200


def test_records_changelist_query_budget_and_estimate(
    admin_client_logged_in, sessions_200, django_assert_max_num_queries
):
    url = _url(SyncInstanceRecord, "changelist")
    for query in ("", "?all=", "?status__exact=failed", "?q=sync-inst-1"):
        with django_assert_max_num_queries(10):
            response = admin_client_logged_in.get(url + query)
        assert response.status_code == 200, query
    with CaptureQueriesContext(connection) as ctx:
        response = admin_client_logged_in.get(url)
    assert not [
        q
        for q in ctx.captured_queries
        if re.match(r'SELECT COUNT\(\*\) AS "__count" FROM "sync_instance_records"$', q["sql"])
    ]
    assert response.context["cl"].result_count == 200

"""``?format=csv`` on the API's lists (whalefall.csv_export.CsvListMixin): a header row, every
row the filters and ordering select (no pagination), streamed from one server-side cursor in
constant memory; errors stay JSON."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AccountPermission, InstanceAccount
from tests.support.factories import make_credential, make_instance
from tests.support.streaming import stream_consume

pytestmark = pytest.mark.django_db

ROWS = 100_000


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_every_matching_row_streams_in_constant_memory_in_one_query(api_client):
    instance = make_instance(name="big")
    other = make_instance(name="other")
    today = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO database_size_stats (instance_id, database_name, size_bytes, collected_date, collected_at) "
            "SELECT %s, 'db' || n, n, %s, now() FROM generate_series(1, %s) n",
            [instance.pk, today, ROWS],
        )
        cursor.execute(
            "INSERT INTO database_size_stats (instance_id, database_name, size_bytes, collected_date, collected_at) "
            "VALUES (%s, 'not-this-one', 1, %s, now())",
            [other.pk, today],
        )
    response = api_client.get(f"/api/v1/capacity/database-stats/?format=csv&instance={instance.pk}")
    assert response.status_code == 200 and response.streaming
    streamed = stream_consume(response)
    assert streamed.lines == ROWS + 1  # the header and every row of the filter, not a page of 50
    assert streamed.peak_bytes < 8 * 1024 * 1024, f"peak {streamed.peak_bytes / 1e6:.1f} MB while streaming {ROWS} rows"
    # one query, read in chunks from a server-side cursor (FETCH … FROM the cursor is not logged)
    selects = [sql for sql in streamed.queries if "database_size_stats" in sql]
    assert len(selects) == 1, selects


def test_filters_and_ordering_are_honoured_and_no_secret_is_exported(api_client):
    credential = make_credential(name="ops", password="Sekrit-pw-1")
    make_instance(name="b-prod", environment="production", credential=credential, host="=HYPERLINK(1)")
    make_instance(name="a-prod", environment="production", credential=credential)
    make_instance(name="c-test", environment="testing", credential=credential)
    response = api_client.get("/api/v1/instances/?format=csv&environment=production&ordering=-name")
    rows = csv_rows(response)
    assert [(r["name"], r["environment"], r["credential"]) for r in rows] == [
        ("b-prod", "production", "ops"),
        ("a-prod", "production", "ops"),
    ]
    assert list(rows[0])[:3] == ["id", "name", "db_type"]  # the header row
    assert rows[0]["host"] == "'=HYPERLINK(1)"  # a formula is exported as text
    body = str(rows)
    assert "Sekrit" not in body and "password" not in body


def test_accept_header_selects_csv_too(api_client):
    make_instance(name="only")
    response = api_client.get("/api/v1/instances/", HTTP_ACCEPT="text/csv")
    assert [r["name"] for r in csv_rows(response)] == ["only"]


def test_accounts_export_their_flags(api_client):
    instance = make_instance(name="db1")
    root = InstanceAccount.objects.create(instance=instance, username="root", host="%")
    InstanceAccount.objects.create(instance=instance, username="app", host="%")
    AccountPermission.objects.create(instance_account=root, is_superuser=True, can_grant=True)
    rows = csv_rows(api_client.get("/api/v1/accounts/?format=csv&is_superuser=true"))
    assert [(r["username"], r["superuser"], r["can_grant"]) for r in rows] == [("root", "True", "True")]


def test_a_bad_filter_or_no_login_is_answered_as_json(api_client):
    response = api_client.get("/api/v1/instances/?format=csv&is_active=maybe")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid" and "is_active" in response.json()["errors"]
    anonymous = APIClient().get("/api/v1/sync-sessions/?format=csv")
    assert anonymous.status_code == 401 and anonymous["Content-Type"] == "application/json"
    assert anonymous.json()["code"] == "not_authenticated"


def test_pagination_does_not_apply_but_is_still_checked(api_client):
    for name in ("a", "b", "c"):
        make_instance(name=name)
    assert len(csv_rows(api_client.get("/api/v1/instances/?format=csv&page_size=1&page=1"))) == 3
    assert api_client.get("/api/v1/instances/?format=csv&page_size=0").status_code == 400
    assert api_client.get("/api/v1/instances/?format=csv&page=x").status_code == 400
    assert api_client.get("/api/v1/account-changes/?format=csv&cursor=bogus").status_code == 404


def test_an_undeclared_method_is_still_a_405(api_client):
    response = api_client.generic("TRACE", "/api/v1/sync-sessions/?format=csv")
    assert response.status_code == 405 and response["Content-Type"] == "application/json"
    assert api_client.options("/api/v1/instances/?format=csv")["Content-Type"] == "application/json"


def test_csv_is_offered_by_lists_only(api_client):
    instance = make_instance(name="one")
    assert api_client.get(f"/api/v1/instances/{instance.pk}/?format=csv").status_code == 404
    assert api_client.get("/api/v1/instances/?format=xml").status_code == 404
    assert api_client.get(f"/api/v1/instances/{instance.pk}/", HTTP_ACCEPT="text/csv").status_code == 406


def test_an_empty_format_is_not_json(api_client):
    """``?format=`` names no format: 404 like an unknown one, not a JSON answer (the schema's enum)."""
    response = api_client.get("/api/v1/capacity/database-aggregations/?format=")
    assert response.status_code == 404
    assert api_client.get("/api/v1/instances/?format=json").status_code == 200

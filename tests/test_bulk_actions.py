"""Bulk admin actions: "Export as CSV" (whalefall.admin_tools.CsvExportMixin: the filtered list,
streamed from one server-side cursor in constant memory), and tagging and deactivating the
selected instances."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.utils import timezone

from tests.support.factories import make_credential, make_instance
from tests.support.streaming import stream_consume

pytestmark = pytest.mark.django_db

ROWS = 100_000


def export(client, url: str, *, selected=(), select_across: bool = False):
    data = {"action": "export_csv", "index": "0", "select_across": "1" if select_across else "0",
            "_selected_action": [str(pk) for pk in selected]}  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), response.content[:300]
    assert response["Content-Disposition"].startswith('attachment; filename="')
    return response


def test_every_row_of_the_filtered_list_streams_in_constant_memory(admin_client):
    instance = make_instance(name="big")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO database_size_stats (instance_id, database_name, size_bytes, collected_date, collected_at) "
            "SELECT %s, 'db' || n, n, %s, now() FROM generate_series(1, %s) n",
            [instance.pk, timezone.localdate(), ROWS],
        )
        cursor.execute("SELECT min(id) FROM database_size_stats")
        (one_id,) = cursor.fetchone()
    # the browser sends the page's ticked rows with "Select all"; every matching row is exported
    url = "/admin/capacity/databasesizestat/?collected_date__recent=all"
    response = export(admin_client, url, selected=[one_id], select_across=True)
    assert response.streaming
    streamed = stream_consume(response)
    assert streamed.lines == ROWS + 1  # the header and every row, not a page
    assert streamed.peak_bytes < 8 * 1024 * 1024, f"peak {streamed.peak_bytes / 1e6:.1f} MB while streaming {ROWS} rows"
    # one query, read in chunks from a server-side cursor (FETCH … FROM the cursor is not logged)
    selects = [sql for sql in streamed.queries if "database_size_stats" in sql]
    assert len(selects) == 1, selects


def test_instances_export_the_selection_without_secrets(admin_client):
    credential = make_credential(name="ops", password="Sekrit-pw-1")
    chosen = make_instance(name="orders", credential=credential, host="=cmd|'/C calc'!A0")
    make_instance(name="other")
    response = export(admin_client, "/admin/instances/instance/", selected=[chosen.pk])
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(r["name"], r["credential"]) for r in rows] == [("orders", "ops")]
    assert rows[0]["host"] == "'=cmd|'/C calc'!A0"  # a formula is exported as text
    assert "Sekrit" not in body and "password" not in body


def test_viewers_may_export_what_they_may_read(client, django_user_model):
    from django.contrib.auth.models import Group

    viewer = django_user_model.objects.create_user("v", password="pw", is_staff=True)
    viewer.groups.add(Group.objects.get(name="viewer"))
    client.force_login(viewer)
    seen = make_instance(name="seen")
    response = export(client, "/admin/instances/instance/", selected=[seen.pk], select_across=True)
    assert b"seen" in b"".join(response.streaming_content)


def test_bulk_tag_and_deactivate_act_on_the_filtered_selection(admin_client):
    from instances.models import Instance

    make_instance(name="keep")
    chosen = [make_instance(name=f"pick-{n}") for n in range(3)]
    ids = [str(i.pk) for i in chosen]
    data = {"action": "add_tag_action", "index": "0", "tag": "  eu-west ", "_selected_action": ids}
    response = admin_client.post("/admin/instances/instance/", data)
    assert response.status_code == 302
    tagged = Instance.objects.filter(tags__name="eu-west").values_list("name", flat=True)
    assert sorted(tagged) == ["pick-0", "pick-1", "pick-2"]
    admin_client.post("/admin/instances/instance/", {"action": "add_tag_action", "index": "0", "tag": "",
                                                     "_selected_action": ids})  # fmt: skip
    assert not Instance.objects.filter(tags__name="").exists()  # refused: no tag named
    deactivate = {"action": "deactivate_action", "index": "0", "_selected_action": ids}
    page = admin_client.post("/admin/instances/instance/", deactivate).content.decode()
    assert "Deactivate 3 instance(s)" in page and Instance.objects.filter(is_active=False).count() == 0  # asks first
    admin_client.post("/admin/instances/instance/", {**deactivate, "post": "yes"})
    assert dict(Instance.objects.values_list("name", "is_active")) == {
        "keep": True, "pick-0": False, "pick-1": False, "pick-2": False}  # fmt: skip

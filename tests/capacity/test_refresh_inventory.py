"""A table-size refresh names a database of the instance's inventory; any other name is a 404
with a clear message, before anything is recorded or contacted (found by fuzzing: it was a 502)."""

from __future__ import annotations

import pytest

from sync_sessions.models import SyncSession
from tests.capacity.conftest import in_inventory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("database", ["0", "not-here", "gone"])
def test_refresh_of_a_database_outside_the_inventory_is_404(api_client, fake_instance, fake_engine, database):
    inst = fake_instance(name="shop")
    in_inventory(inst, "app")
    if database == "gone":  # vanished since: inactive in the inventory
        inst.databases.create(name="gone", is_active=False)
    response = api_client.post(f"/api/v1/instances/{inst.pk}/databases/{database}/tables/sizes/actions/refresh")
    assert response.status_code == 404, response.content
    body = response.json()
    assert body["code"] == "not_found" and body["instance_id"] == inst.pk
    assert f"Database '{database}' is not in the inventory of instance 'shop'" in body["message"]
    assert not SyncSession.objects.exists() and fake_engine.calls == {}

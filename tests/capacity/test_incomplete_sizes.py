"""Sizes an adapter marks incomplete (Oracle without the DBA views) are stored and shown as such;
every collection records the server version."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from capacity.models import DatabaseSizeCurrent, DatabaseSizeStat, InstanceSizeStat
from capacity.services import capacity_collect_all
from instances.adapters.base import DatabaseSize
from instances.models import Instance
from tests.support.fake_adapter import FAKE_VERSION

pytestmark = pytest.mark.django_db


def test_incomplete_sizes_are_stored_shown_and_reported(fake_instance, fake_engine, api_client):
    inst = fake_instance(name="ora")
    fake_engine.databases["ora"] = [DatabaseSize("USERS", 100), DatabaseSize("APP_DATA", 50, complete=False)]
    out = io.StringIO()
    call_command("collect_capacity", "--instance", "ora", stdout=out)
    assert "(incomplete sizes: APP_DATA)" in out.getvalue()

    stats = dict(DatabaseSizeStat.objects.filter(instance=inst).values_list("database_name", "complete"))
    current = dict(DatabaseSizeCurrent.objects.filter(instance=inst).values_list("database_name", "complete"))
    assert stats == current == {"USERS": True, "APP_DATA": False}
    assert InstanceSizeStat.objects.get(instance=inst).complete is False  # the total includes a partial size
    record = inst.sync_records.get()
    assert record.sync_details["incomplete"] == ["APP_DATA"] and "incomplete" in record.sync_details["note"]

    body = api_client.get(f"/api/v1/instances/{inst.pk}/databases").json()
    assert {row["database_name"]: row["complete"] for row in body["results"]} == {"USERS": True, "APP_DATA": False}
    assert Instance.objects.get(pk=inst.pk).version == FAKE_VERSION  # recorded by the collection


def test_complete_sizes_stay_complete(fake_instance, fake_engine):
    inst = fake_instance(name="pg")
    fake_engine.databases["pg"] = [DatabaseSize("app", 10)]
    session = capacity_collect_all(instance_ids=[inst.pk])
    assert "incomplete" not in session.records.get().sync_details
    assert InstanceSizeStat.objects.get(instance=inst).complete is True

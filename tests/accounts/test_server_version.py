"""Every account sync records the server version its session learnt (not only test_connection)."""

from __future__ import annotations

import pytest

from accounts.services import accounts_sync_all
from instances.models import Instance
from tests.support.factories import make_fake_instance
from tests.support.fake_adapter import FAKE_VERSION

pytestmark = pytest.mark.django_db


def test_sync_and_unchanged_resync_record_the_version():
    instance = make_fake_instance("accounts=3")
    assert instance.version == ""
    accounts_sync_all(instance_ids=[instance.pk])
    stored = Instance.objects.get(pk=instance.pk)
    assert stored.version == FAKE_VERSION and stored.last_connected_at is not None

    Instance.objects.filter(pk=instance.pk).update(version="old")
    session = accounts_sync_all(instance_ids=[instance.pk])
    assert session.records.get().sync_details["unchanged_listing"] is True
    assert Instance.objects.get(pk=instance.pk).version == FAKE_VERSION


def test_a_failed_sync_leaves_the_version_alone():
    instance = make_fake_instance("fail=target_unreachable")
    Instance.objects.filter(pk=instance.pk).update(version="15.4")
    accounts_sync_all(instance_ids=[instance.pk])
    assert Instance.objects.get(pk=instance.pk).version == "15.4"

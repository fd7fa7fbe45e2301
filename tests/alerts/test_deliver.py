"""Delivery: webhooks (a local HTTP receiver) and e-mail (the locmem backend), dedup,
failures kept and retried, the deadline, digests, the command, and secrets kept out of errors."""

from __future__ import annotations

import logging
import time

import pytest
from django.core.management import CommandError, call_command

from alerts.models import AlertChannel, AlertDelivery
from alerts.services import alerts_deliver, alerts_detect, alerts_digest, alerts_send_test
from instances.adapters.base import AccountFacts
from tests.alerts.conftest import email, later, resync, synced_instance, webhook

pytestmark = pytest.mark.django_db


def superusers(*names: str):
    return synced_instance(*[AccountFacts(n, is_superuser=True) for n in names])


def test_webhook_gets_json_and_email_goes_out_once(receiver, outbox):
    hook = webhook(receiver.url("/hook/s3cr3t-token"))
    email("dba@example.com", "lead@example.com")
    instance = superusers("root")
    alerts_detect()
    result = alerts_deliver()
    assert (result.sent, result.failed) == (2, 0)
    (body,) = receiver.bodies()
    assert body["source"] == "whalefall" and body["channel"] == "hook" and body["mode"] == "immediate"
    (event,) = body["events"]
    assert event["kind"] == "account_superuser" and event["severity"] == "critical"
    assert event["title"] == f"root on {instance.name} became superuser"
    assert event["instance_id"] == instance.pk and event["details"]["account"] == "root"
    assert event["dedup_key"].startswith("account_change:")
    (message,) = outbox
    assert message.to == ["dba@example.com", "lead@example.com"]
    assert message.subject == f"[WhaleFall] critical: root on {instance.name} became superuser"
    assert "kind: account_superuser" in message.body
    assert set(AlertDelivery.objects.values_list("status", "attempts")) == {("sent", 1)}
    assert AlertDelivery.objects.filter(channel=hook, sent_at__isnull=False).count() == 1
    # dedup: detecting and delivering again adds and sends nothing
    assert alerts_detect().new == 0
    assert alerts_deliver().channels == []
    assert len(receiver.requests) == 1 and len(outbox) == 1


def test_one_message_per_channel_and_run_and_filters(receiver, outbox):
    webhook(receiver.url(), event_kinds=["account_superuser"], min_severity="critical")
    email("grants@example.com", event_kinds=["account_can_grant"])
    synced_instance(AccountFacts("a", is_superuser=True, can_grant=True), AccountFacts("b", is_superuser=True))
    alerts_detect()
    alerts_deliver()
    (body,) = receiver.bodies()
    assert [e["details"]["account"] for e in body["events"]] == ["a", "b"] and body["count"] == 2
    (message,) = outbox  # one event for a: both reasons, the grant channel wants it too
    assert message.subject.startswith("[WhaleFall] critical: a on ")
    assert message.subject.endswith("became superuser, became able to grant")


def test_failing_receiver_is_recorded_and_retried_other_channel_still_delivered(receiver, outbox, caplog):
    token = "tok-9f8e7d6c"
    hook = webhook(receiver.url(f"/hooks/{token}?key={token}"))
    email("dba@example.com")
    superusers("root")
    receiver.status = 500
    alerts_detect()
    with caplog.at_level(logging.WARNING):
        result = alerts_deliver()
    assert (result.sent, result.failed) == (1, 1)
    assert len(outbox) == 1  # the e-mail channel was not held up
    failed = AlertDelivery.objects.get(channel=hook)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "HTTP 500" in failed.last_error and failed.sent_at is None
    assert token not in failed.last_error and token not in caplog.text  # never logged in full
    assert "http://127.0.0.1:" in failed.last_error
    # the next run retries it (and only it)
    receiver.status = 200
    result = alerts_deliver(now=later())
    assert (result.sent, result.failed) == (1, 0)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == ("sent", 2, "")
    assert len(receiver.requests) == 2 and len(outbox) == 1


def test_unreachable_webhook_fails_without_raising_or_leaking_the_url(outbox):
    hook = webhook("http://127.0.0.1:9/secret-path-token")  # nothing listens on port 9
    superusers("root")
    alerts_detect()
    assert alerts_deliver().failed == 1
    delivery = AlertDelivery.objects.get(channel=hook)
    assert delivery.status == "failed" and "secret-path-token" not in delivery.last_error


def test_the_webhook_deadline_holds(receiver, settings, outbox):
    settings.WHALEFALL = {**settings.WHALEFALL, "ALERTS_WEBHOOK_TIMEOUT": 0.5}
    slow = webhook(receiver.url("/slow"), name="slow")
    email("dba@example.com")
    receiver.delay = 3
    superusers("root")
    alerts_detect()
    started = time.monotonic()
    result = alerts_deliver()
    elapsed = time.monotonic() - started
    assert elapsed < 2, elapsed
    assert (result.sent, result.failed) == (1, 1)
    delivery = AlertDelivery.objects.get(channel=slow)
    assert delivery.status == "failed" and "no answer" in delivery.last_error and "0.5 s" in delivery.last_error


def test_the_webhook_deadline_holds_against_a_trickling_answer(receiver, settings):
    from alerts.transport import DeliveryError, webhook_post

    receiver.trickle = 0.2  # each read succeeds within 0.5 s; the whole answer takes ~9 s
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="within 0.5 s"):
        webhook_post(url=receiver.url("/trickle"), body={"probe": 1}, timeout=0.5)
    assert time.monotonic() - started < 1.0


def test_daily_digest_is_one_message_with_every_event_since_the_last(receiver, outbox):
    digest_hook = webhook(receiver.url("/digest"), delivery_mode="digest")
    email("dba@example.com", delivery_mode="digest")
    instance = superusers("a", "b")
    alerts_detect()
    assert alerts_deliver().channels == []  # digest channels wait for the digest
    resync(instance, *[AccountFacts(n, is_superuser=True) for n in ("a", "b", "c")])
    alerts_detect(now=later(1))
    result = alerts_digest(now=later(2))
    assert (result.sent, result.failed) == (6, 0)
    (body,) = receiver.bodies("/digest")
    assert body["mode"] == "digest" and [e["details"]["account"] for e in body["events"]] == ["a", "b", "c"]
    (message,) = outbox
    assert message.subject == "[WhaleFall] daily digest: 3 alerts"
    digest_hook.refresh_from_db()
    assert digest_hook.last_digest_at is not None
    assert alerts_digest(now=later(3)).channels == []  # nothing new since: no message


def test_inactive_channels_get_nothing_and_max_attempts_stop_retries(receiver, settings):
    settings.WHALEFALL = {**settings.WHALEFALL, "ALERTS_MAX_ATTEMPTS": 2}
    hook = webhook(receiver.url())
    superusers("root")
    receiver.status = 503
    alerts_detect()
    alerts_deliver()
    alerts_deliver()
    assert alerts_deliver().channels == []  # two attempts made: it stays failed, listed in the admin
    assert AlertDelivery.objects.get(channel=hook).attempts == 2
    AlertChannel.objects.filter(pk=hook.pk).update(is_active=False)
    settings.WHALEFALL = {**settings.WHALEFALL, "ALERTS_MAX_ATTEMPTS": 5}
    assert alerts_deliver().channels == []


def test_send_test_alert(receiver, outbox):
    channels = [webhook(receiver.url()), email("dba@example.com")]
    outcomes = alerts_send_test(channels=channels)
    assert [o.error for o in outcomes] == ["", ""]
    assert receiver.bodies()[0]["mode"] == "test" and outbox[0].subject == "[WhaleFall] test alert"
    assert not AlertDelivery.objects.exists()


def test_send_alerts_command_summary_and_dry_run(receiver, outbox, capsys):
    webhook(receiver.url())
    superusers("root")
    call_command("send_alerts", "--dry-run")
    assert capsys.readouterr().out.strip() == "dry run: 1 new events; would send 1 (hook: 1)"
    assert not AlertDelivery.objects.exists() and receiver.requests == []
    call_command("send_alerts")
    assert capsys.readouterr().out.strip() == "alerts: 1 new events, 0 cleared; 1 sent, 0 failed on 1 channels"
    assert len(receiver.requests) == 1
    receiver.status = 500
    instance = superusers("other")
    assert instance
    with pytest.raises(CommandError, match="1 alerts not sent"):
        call_command("send_alerts")


def test_the_scheduled_jobs_detect_and_send(receiver, outbox):
    from console.jobs import job_run

    webhook(receiver.url("/now"))
    webhook(receiver.url("/daily"), name="daily", delivery_mode="digest")
    superusers("root")
    assert job_run("whalefall.alerts") == "1 new events; 1 sent, 0 failed"
    assert len(receiver.bodies("/now")) == 1 and receiver.bodies("/daily") == []
    assert job_run("whalefall.alerts_digest") == "0 new events; digests: 1 events sent, 0 failed"
    assert len(receiver.bodies("/daily")) == 1


def test_a_second_run_at_the_same_time_is_refused():
    """The lock is held by another database session (the schedule's run) meanwhile."""
    import threading

    from django.db import connection

    from alerts.services import alerts_run
    from whalefall.db.locks import advisory_lock
    from whalefall.errors import ConcurrentOperation

    held, done = threading.Event(), threading.Event()

    def other_run():
        try:
            with advisory_lock("alerts.run"):
                held.set()
                done.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_run)
    thread.start()
    try:
        assert held.wait(10)
        with pytest.raises(ConcurrentOperation, match="already running"):
            alerts_run()
    finally:
        done.set()
        thread.join()

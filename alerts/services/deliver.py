"""Alert delivery: pending deliveries go out, one message per channel per run.

``alerts_deliver`` sends the immediate channels' deliveries, ``alerts_digest`` the digest
channels' (all their events since their last digest, in one message). Each channel is sent
to on its own: a channel that fails (an HTTP error, no answer within the deadline, a mail
backend error) gets the error and one more attempt counted on its deliveries, which stay
unsent and are retried by the next run; the other channels are not affected and nothing
raises out of the batch.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from itertools import groupby

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from alerts import selectors
from alerts.models import URL_KINDS, AlertChannel, AlertDelivery, AlertEvent, DeliveryMode, DeliveryStatus
from alerts.services.detect import DetectResult, alerts_detect
from alerts.transport import DeliveryError, channel_send, url_masked
from whalefall.db.locks import advisory_lock

logger = logging.getLogger(__name__)


@dataclass
class ChannelOutcome:
    channel: str
    events: int
    error: str = ""


@dataclass
class DeliverResult:
    """One delivery run: per channel, how many events went out or the error."""

    mode: str
    channels: list[ChannelOutcome] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(c.events for c in self.channels if not c.error)

    @property
    def failed(self) -> int:
        return sum(c.events for c in self.channels if c.error)


def _target(channel: AlertChannel) -> str:
    return url_masked(channel.url) if channel.kind in URL_KINDS else f"{len(channel.recipients)} recipient(s)"


def _send(channel: AlertChannel, events: list[AlertEvent], mode: str, now: dt.datetime) -> str:
    """Send and return "" or the error text (never raises for a delivery problem)."""
    try:
        channel_send(channel=channel, events=events, mode=mode, now=now)
    except DeliveryError as exc:
        logger.warning("alert channel %s (%s): %s", channel.pk, _target(channel), exc)
        return str(exc)
    return ""


def _record(delivery_ids: list[int], *, error: str, now: dt.datetime) -> None:
    fields = {"attempts": F("attempts") + 1, "last_attempt_at": now, "last_error": error[:4000]}
    if error:
        fields["status"] = DeliveryStatus.FAILED
    else:
        fields.update(status=DeliveryStatus.SENT, sent_at=now)
    AlertDelivery.objects.filter(pk__in=delivery_ids).update(**fields)


def _deliver(*, mode: str, now: dt.datetime) -> DeliverResult:
    result = DeliverResult(mode=mode)
    due = selectors.deliveries_due(mode=mode)
    for _channel_id, group in groupby(due, key=lambda d: d.channel_id):
        deliveries = list(group)
        channel = deliveries[0].channel
        events = [d.event for d in deliveries]
        error = _send(channel, events, mode, now)
        with transaction.atomic():
            _record([d.pk for d in deliveries], error=error, now=now)
            if mode == DeliveryMode.DIGEST and not error:
                AlertChannel.objects.filter(pk=channel.pk).update(last_digest_at=now)
        result.channels.append(ChannelOutcome(channel.name, len(events), error))
    return result


def alerts_deliver(*, now: dt.datetime | None = None) -> DeliverResult:
    """Send every unsent delivery of the active immediate channels: one message per channel
    with all its pending (and previously failed) events, oldest first."""
    return _deliver(mode=DeliveryMode.IMMEDIATE, now=now or timezone.now())


def alerts_digest(*, now: dt.datetime | None = None) -> DeliverResult:
    """The daily digest: one message per active digest channel with every event recorded for
    it since its last digest (and those a failed digest left unsent); a channel without any
    gets no message."""
    return _deliver(mode=DeliveryMode.DIGEST, now=now or timezone.now())


def alerts_send_test(*, channels: list[AlertChannel], now: dt.datetime | None = None) -> list[ChannelOutcome]:
    """Send a test message to each channel now (nothing is recorded): what the admin's
    "send test alert" action reports, per channel."""
    now = now or timezone.now()
    probe = AlertEvent(
        pk=0, kind="test", severity="low", title="Test alert from WhaleFall", dedup_key="test", created_at=now,
        payload={"note": "a test message; no condition was detected"},
    )  # fmt: skip
    return [ChannelOutcome(c.name, 1, _send(c, [probe], "test", now)) for c in channels]


def alerts_run(*, now: dt.datetime | None = None, digest: bool = False) -> tuple[DetectResult, DeliverResult]:
    """Detect, then send the immediate deliveries (``digest``: the digests instead), under one
    advisory lock: a second run at the same time (the schedule and ``send_alerts``) raises
    ConcurrentOperation instead of sending twice."""
    now = now or timezone.now()
    with advisory_lock("alerts.run", what="Alert detection and delivery"):
        detected = alerts_detect(now=now)
        return detected, (alerts_digest if digest else alerts_deliver)(now=now)


def alerts_preview(*, now: dt.datetime | None = None) -> tuple[DetectResult, dict[str, int]]:
    """What a run would do, without doing it: detection in a transaction rolled back, and
    the events each immediate channel would be sent (``send_alerts --dry-run``)."""
    now = now or timezone.now()
    with transaction.atomic():
        detected = alerts_detect(now=now)
        due: dict[str, int] = {}
        for delivery in selectors.deliveries_due(mode=DeliveryMode.IMMEDIATE):
            due[delivery.channel.name] = due.get(delivery.channel.name, 0) + 1
        transaction.set_rollback(True)
    return detected, due

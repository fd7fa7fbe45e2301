"""Chat-ready channels: Slack incoming webhooks (Block Kit) and Microsoft Teams (MessageCard),
each delivered to a local receiver, next to the generic JSON webhook."""

from __future__ import annotations

import pytest

from alerts.models import AlertChannel, AlertDelivery
from alerts.services import alerts_deliver, alerts_detect, alerts_digest, alerts_send_test
from alerts.transport import CHAT_EVENTS_SHOWN, SEVERITY_COLOURS
from instances.adapters.base import AccountFacts
from tests.alerts.conftest import synced_instance

pytestmark = pytest.mark.django_db


def chat(kind: str, url: str, **fields) -> AlertChannel:
    channel = AlertChannel(name=fields.pop("name", kind), kind=kind, url=url, **fields)
    channel.full_clean()
    channel.save()
    return channel


def test_slack_gets_blocks_with_a_fallback_text(receiver):
    chat("slack", receiver.url("/services/T000/B000/xoxb-secret"))
    instance = synced_instance(AccountFacts("root<&>", is_superuser=True))
    alerts_detect()
    assert alerts_deliver().sent >= 1
    (body,) = receiver.bodies()
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith("[WhaleFall] ") and instance.name in body["text"]
    header, *sections, context = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": body["text"][:150]}}
    assert context["type"] == "context" and context["elements"][0]["text"].startswith("WhaleFall · immediate · ")
    text = sections[0]["text"]["text"]
    assert sections[0]["type"] == "section" and sections[0]["text"]["type"] == "mrkdwn"
    # Slack's control characters are escaped; severity first; the details follow
    assert text.startswith("*CRITICAL* · root&lt;&amp;&gt; on ") and "• account: root&lt;&amp;&gt;" in text
    assert set(AlertDelivery.objects.values_list("status", flat=True)) == {"sent"}


def test_teams_gets_a_message_card_coloured_by_the_worst_severity(receiver):
    chat("teams", receiver.url("/webhookb2/secret"))
    instance = synced_instance(AccountFacts("root", is_superuser=True), AccountFacts("grantor", can_grant=True))
    alerts_detect()
    alerts_deliver()
    (body,) = receiver.bodies()
    assert body["@type"] == "MessageCard" and body["@context"] == "https://schema.org/extensions"
    assert body["summary"] == body["title"] and body["themeColor"] == SEVERITY_COLOURS["critical"]
    titles = [section["activityTitle"] for section in body["sections"]]
    assert f"CRITICAL: root on {instance.name} became superuser" in titles
    section = next(s for s in body["sections"] if s["activityTitle"].startswith("CRITICAL"))
    assert {"name": "account", "value": "root"} in section["facts"]
    assert section["activitySubtitle"].startswith("account_superuser · ")


def test_a_large_digest_shows_the_first_events_and_counts_the_rest(receiver):
    chat("slack", receiver.url("/slack"), name="slack-digest", delivery_mode="digest")
    chat("teams", receiver.url("/teams"), name="teams-digest", delivery_mode="digest")
    synced_instance(*[AccountFacts(f"su{n:02}", is_superuser=True) for n in range(CHAT_EVENTS_SHOWN + 5)])
    alerts_detect()
    alerts_digest()
    (slack,) = receiver.bodies("/slack")
    (teams,) = receiver.bodies("/teams")
    more = len([b for b in slack["blocks"] if b["type"] == "section"]) - CHAT_EVENTS_SHOWN
    assert more == 1 and slack["blocks"][-2]["text"]["text"].startswith("… and ")
    assert len(slack["blocks"]) <= 50  # Slack's limit per message
    assert teams["sections"][-1]["text"] == slack["blocks"][-2]["text"]["text"]
    assert len(teams["sections"]) == CHAT_EVENTS_SHOWN + 1


def test_the_test_alert_works_for_each_format(receiver, outbox):
    channels = [chat("slack", receiver.url("/s")), chat("teams", receiver.url("/t")),
                chat("webhook", receiver.url("/w"))]  # fmt: skip
    outcomes = alerts_send_test(channels=channels)
    assert [o.error for o in outcomes] == ["", "", ""]
    (slack,), (teams,), (generic,) = receiver.bodies("/s"), receiver.bodies("/t"), receiver.bodies("/w")
    assert "configured correctly" in slack["blocks"][1]["text"]["text"]
    assert "configured correctly" in teams["sections"][0]["text"]
    assert generic["mode"] == "test" and generic["source"] == "whalefall"


def test_a_chat_channel_needs_a_url_in_the_model_and_in_the_database():
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    with pytest.raises(ValidationError, match="http"):
        AlertChannel(name="bad", kind="teams", url="not a url").full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertChannel.objects.create(name="no-url", kind="slack", url="")


def test_a_failing_chat_receiver_is_recorded_without_the_url_secret(receiver):
    receiver.status = 500
    chat("slack", receiver.url("/services/T000/B000/xoxb-secret"))
    synced_instance(AccountFacts("root", is_superuser=True))
    alerts_detect()
    assert alerts_deliver().failed >= 1
    delivery = AlertDelivery.objects.get()
    assert delivery.status == "failed" and "HTTP 500" in delivery.last_error
    assert "xoxb-secret" not in delivery.last_error

"""How one message reaches one channel: the JSON a generic webhook receives, the Slack (Block
Kit) and Microsoft Teams (MessageCard) bodies, the e-mail text, and the two senders. A sender
raises ``DeliveryError`` with a message safe to store and show (the webhook URL, which may hold a
token, is never in it)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import EmailMessage

from alerts.models import AlertChannel, AlertEvent, ChannelKind

USER_AGENT = "WhaleFall-alerts/1"


class DeliveryError(Exception):
    """A channel did not take the message (the text is safe to store: no URL secrets)."""


def url_masked(url: str) -> str:
    """``scheme://host[:port]/…``: what logs and errors may show of a webhook URL (its
    path and query often hold a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/…" if parts.netloc else "…"


def _masked_text(text: str, url: str) -> str:
    parts = urlsplit(url)
    for secret in (url, parts.path + ("?" + parts.query if parts.query else ""), parts.query, parts.path):
        if secret and secret != "/":
            text = text.replace(secret, "/…")
    return text


def event_json(event: AlertEvent) -> dict:
    """One event as a webhook receives it."""
    return {
        "id": event.pk,
        "kind": event.kind,
        "severity": event.severity,
        "title": event.title,
        "dedup_key": event.dedup_key,
        "created_at": event.created_at.isoformat(),
        "instance_id": event.instance_id,
        "account_id": event.account_id,
        "database": event.database_name or None,
        "details": event.payload,
    }


def message_json(*, channel: AlertChannel, events: Sequence[AlertEvent], mode: str, now: dt.datetime) -> dict:
    """The webhook body: every event of this message (one run, or one digest)."""
    return {
        "source": "whalefall",
        "channel": channel.name,
        "mode": mode,
        "sent_at": now.isoformat(),
        "count": len(events),
        "events": [event_json(e) for e in events],
    }


def message_subject(*, events: Sequence[AlertEvent], mode: str) -> str:
    if mode == "test":
        return "[WhaleFall] test alert"
    if mode == "digest":
        return f"[WhaleFall] daily digest: {len(events)} alert{'s' if len(events) != 1 else ''}"
    if len(events) == 1:
        return f"[WhaleFall] {events[0].severity}: {events[0].title}"[:200]
    return f"[WhaleFall] {len(events)} alerts"


def message_text(*, events: Sequence[AlertEvent], mode: str) -> str:
    """The e-mail body: one block per event, newest last."""
    if mode == "test":
        return "This is a test alert from WhaleFall: this channel is configured correctly.\n"
    lines = []
    for e in events:
        lines.append(f"[{e.severity.upper()}] {e.title}")
        lines.append(f"  kind: {e.kind}   at: {e.created_at:%Y-%m-%d %H:%M %Z}   key: {e.dedup_key}")
        lines += [f"  {key}: {text}" for key, text in _details(e)]
        lines.append("")
    return "\n".join(lines)


def webhook_post(*, url: str, body: dict, timeout: float | None = None) -> None:
    """POST ``body`` as JSON; any answer but 2xx, a connection error or no complete answer within
    ``timeout`` seconds in all (default ALERTS_WEBHOOK_TIMEOUT) raises DeliveryError. Redirects
    are not followed (a POST is not replayed elsewhere).

    requests' timeouts bound each connect and each read, so a receiver that trickles its answer
    a byte at a time could hold it far longer; the request therefore runs in a daemon thread
    that the caller waits for at most ``timeout`` seconds. A thread given up on ends at its
    next read timeout or with the process."""
    timeout = settings.WHALEFALL["ALERTS_WEBHOOK_TIMEOUT"] if timeout is None else timeout
    outcome: dict = {}

    def post() -> None:
        try:
            outcome["response"] = requests.post(
                url, json=body, timeout=(timeout, timeout), allow_redirects=False, headers={"User-Agent": USER_AGENT}
            )
        except Exception as exc:  # handed to the caller below
            outcome["error"] = exc

    worker = threading.Thread(target=post, name="whalefall-webhook", daemon=True)
    worker.start()
    worker.join(timeout)
    error = outcome.get("error")
    if worker.is_alive() or isinstance(error, requests.Timeout):
        raise DeliveryError(f"no answer from {url_masked(url)} within {timeout:g} s")
    if isinstance(error, requests.RequestException):
        raise DeliveryError(_masked_text(f"{url_masked(url)}: {type(error).__name__}: {error}", url))
    if error is not None:
        raise error
    response = outcome["response"]
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"{url_masked(url)} answered HTTP {response.status_code}: {response.text[:200]}")


def email_send(*, recipients: Sequence[str], subject: str, text: str) -> None:
    """Send through Django's configured mail backend (SMTP, console, locmem, …); a backend
    error raises DeliveryError."""
    try:
        EmailMessage(subject, text, settings.DEFAULT_FROM_EMAIL, list(recipients)).send(fail_silently=False)
    except Exception as exc:  # any backend: SMTP, socket, third-party API errors
        raise DeliveryError(f"e-mail to {len(recipients)} recipient(s) failed: {type(exc).__name__}: {exc}") from None


# --- chat formats -------------------------------------------------------------------------------
#: events shown one by one in a chat message (a digest may hold hundreds); the rest are counted
CHAT_EVENTS_SHOWN = 20
SEVERITY_COLOURS = {"low": "6C757D", "medium": "F0AD4E", "high": "FD7E14", "critical": "DC3545"}
_TEST_TEXT = "This is a test alert from WhaleFall: this channel is configured correctly."


def _detail_text(value) -> str:
    """A detail for people: lists joined; a reason by what it says (and why), a classification
    found at a baseline by name and count; other mappings as ``key=value``."""
    if isinstance(value, list):
        return ", ".join(_detail_text(item) for item in value)
    if isinstance(value, dict):
        if "what" in value:
            why = value.get("why")
            return f"{value['what']} ({_detail_text(why)})" if why else str(value["what"])
        if "name" in value and "accounts" in value:
            return f"{value['name']} {value['accounts']}"
        return ", ".join(f"{k}={_detail_text(v)}" for k, v in sorted(value.items()) if v not in (None, "", [], {}))
    return str(value)


def _details(event: AlertEvent) -> list[tuple[str, str]]:
    """(name, text) of an event's non-empty details, in name order (the e-mail's and the chats')."""
    items = [(key, value) for key, value in sorted(event.payload.items()) if value not in (None, "", [], {})]
    return [(key, _detail_text(value)) for key, value in items]


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_json(*, events: Sequence[AlertEvent], mode: str, now: dt.datetime) -> dict:
    """A Slack incoming-webhook body: ``text`` (notifications, clients without blocks) and Block
    Kit blocks — a header, one section per event (severity, title, details; Slack caps a section
    at 3,000 characters and a message at 50 blocks), the count of events not shown, a context line."""
    subject = message_subject(events=events, mode=mode)
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": subject[:150]}}]
    if mode == "test":
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _TEST_TEXT}})
    for event in events[:CHAT_EVENTS_SHOWN]:
        lines = [f"*{event.severity.upper()}* · {_slack_escape(event.title)}"]
        lines += [f"• {_slack_escape(key)}: {_slack_escape(text)}" for key, text in _details(event)]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}})
    if len(events) > CHAT_EVENTS_SHOWN:
        more = len(events) - CHAT_EVENTS_SHOWN
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"… and {more} more alert(s)"}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"WhaleFall · {mode} · {now:%Y-%m-%d %H:%M %Z}"}]})  # fmt: skip
    return {"text": subject, "blocks": blocks}


def teams_card(*, events: Sequence[AlertEvent], mode: str, now: dt.datetime) -> dict:
    """A Microsoft Teams incoming-webhook body: a legacy actionable MessageCard (``@type``
    MessageCard) coloured by the highest severity, one section per event with its details as
    facts, the count of events not shown."""
    subject = message_subject(events=events, mode=mode)
    severities = [e.severity for e in events] or ["low"]
    worst = max(severities, key=lambda s: list(SEVERITY_COLOURS).index(s) if s in SEVERITY_COLOURS else -1)
    sections: list[dict] = [{"text": _TEST_TEXT}] if mode == "test" else []
    for event in events[:CHAT_EVENTS_SHOWN]:
        sections.append({
            "activityTitle": f"{event.severity.upper()}: {event.title}",
            "activitySubtitle": f"{event.kind} · {event.created_at:%Y-%m-%d %H:%M %Z}",
            "facts": [{"name": key, "value": text} for key, text in _details(event)],
        })  # fmt: skip
    if len(events) > CHAT_EVENTS_SHOWN:
        sections.append({"text": f"… and {len(events) - CHAT_EVENTS_SHOWN} more alert(s)"})
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": subject,
        "title": subject,
        "themeColor": SEVERITY_COLOURS.get(worst, SEVERITY_COLOURS["low"]),
        "text": f"WhaleFall · {mode} · {now:%Y-%m-%d %H:%M %Z}",
        "sections": sections,
    }


def channel_send(*, channel: AlertChannel, events: Sequence[AlertEvent], mode: str, now: dt.datetime) -> None:
    """Send one message with ``events`` to ``channel`` (raises DeliveryError)."""
    if channel.kind == ChannelKind.WEBHOOK:
        webhook_post(url=channel.url, body=message_json(channel=channel, events=events, mode=mode, now=now))
    elif channel.kind == ChannelKind.SLACK:
        webhook_post(url=channel.url, body=slack_json(events=events, mode=mode, now=now))
    elif channel.kind == ChannelKind.TEAMS:
        webhook_post(url=channel.url, body=teams_card(events=events, mode=mode, now=now))
    else:
        email_send(
            recipients=channel.recipients,
            subject=message_subject(events=events, mode=mode),
            text=message_text(events=events, mode=mode),
        )

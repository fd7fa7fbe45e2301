"""Alert test fixtures: a local HTTP receiver (webhooks), the locmem mail backend, and the
rows alerts are detected from, made the way the app makes them."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from accounts.services import accounts_sync_instance
from alerts.models import AlertChannel
from instances.adapters.base import AccountFacts
from tests.support.factories import make_fake_instance
from tests.support.fake_adapter import FAKE_ACCOUNTS


class Receiver:
    """A webhook receiver on 127.0.0.1 (port 0): records every POST's path and JSON body;
    ``status`` is what it answers, ``delay`` how long it sleeps first (a slow receiver),
    ``trickle`` the seconds between the bytes of its answer (a receiver that keeps each read
    alive but never finishes in time)."""

    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        self.status = 200
        self.delay = 0.0
        self.trickle = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.delay:
                    time.sleep(receiver.delay)
                receiver.requests.append((self.path, json.loads(body)))
                if receiver.trickle:
                    try:
                        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(receiver.trickle)
                    except OSError:  # the client gave up
                        pass
                    return
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status < 300 else b"receiver broke")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def bodies(self, path: str | None = None) -> list[dict]:
        return [body for p, body in self.requests if path is None or p == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return mail.outbox


@pytest.fixture(autouse=True)
def _clear_fake_accounts():
    FAKE_ACCOUNTS.clear()
    yield
    FAKE_ACCOUNTS.clear()


def webhook(url: str, **fields) -> AlertChannel:
    channel = AlertChannel(name=fields.pop("name", "hook"), kind="webhook", url=url, **fields)
    channel.full_clean()
    channel.save()
    return channel


def email(*recipients: str, **fields) -> AlertChannel:
    channel = AlertChannel(name=fields.pop("name", "mail"), kind="email", recipients=list(recipients), **fields)
    channel.full_clean()
    channel.save()
    return channel


def onboarded_instance(*accounts: AccountFacts, **overrides):
    """An instance of the fake engine whose first sync (its baseline) found ``accounts``, now."""
    instance = make_fake_instance(**overrides)
    FAKE_ACCOUNTS[instance.name] = list(accounts)
    accounts_sync_instance(instance=instance)
    return instance


def synced_instance(*accounts: AccountFacts, **overrides):
    """An instance of the fake engine onboarded (its baseline) a day ago with no account, whose
    ``accounts`` were then added by a sync now: each has its "add" row, as on a long-watched server."""
    from accounts.models import AccountChangeLog

    instance = onboarded_instance(**overrides)
    AccountChangeLog.objects.filter(instance=instance, change_type="baseline").update(
        changed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    )
    resync(instance, *accounts)
    return instance


def resync(instance, *accounts: AccountFacts) -> None:
    FAKE_ACCOUNTS[instance.name] = list(accounts)
    accounts_sync_instance(instance=instance)


def later(minutes: int = 5) -> dt.datetime:
    from django.utils import timezone

    return timezone.now() + dt.timedelta(minutes=minutes)

"""Who is acting right now: the request being served (set by ``AuditMiddleware``) or, outside
a request, a command or the system (``audit_actor``). Services that record an event
(``audit_record``) take the actor from here, so they need no user argument."""

from __future__ import annotations

import contextlib
import getpass
from contextvars import ContextVar
from dataclasses import dataclass

from audit.models import Channel


@dataclass(frozen=True)
class Actor:
    channel: str
    username: str = ""
    user_id: int | None = None
    remote_addr: str | None = None


SYSTEM = Actor(channel=Channel.SYSTEM)
_request = ContextVar("audit_request", default=None)
_actor = ContextVar("audit_actor", default=SYSTEM)


def request_channel(request) -> str:
    return Channel.API if request.path.startswith("/api/") else Channel.ADMIN


def actor_of_request(request) -> Actor:
    """The request's user as authenticated by then (DRF authenticates tokens in the view)."""
    user = getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)
    return Actor(
        channel=request_channel(request),
        username=user.get_username() if authenticated else "",
        user_id=user.pk if authenticated else None,
        remote_addr=request.META.get("REMOTE_ADDR") or None,
    )


def current_actor() -> Actor:
    request = _request.get()
    return actor_of_request(request) if request is not None else _actor.get()


@contextlib.contextmanager
def request_served(request):
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


@contextlib.contextmanager
def audit_actor(*, channel: str = Channel.COMMAND, username: str | None = None):
    """Events recorded inside are attributed to ``username`` (default: the OS user) on ``channel``."""
    if username is None:
        try:
            username = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry for the uid (containers)
            username = ""
    token = _actor.set(Actor(channel=channel, username=username))
    try:
        yield
    finally:
        _actor.reset(token)

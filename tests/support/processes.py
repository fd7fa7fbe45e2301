"""Helpers for tests that start real processes (workers, the web server) on the test database."""

from __future__ import annotations

import socket
import time
import urllib.parse

from django.db import connection


def database_url() -> str:
    """``DATABASE_URL`` of the database this test runs on, for a child process."""
    s = connection.settings_dict
    host = urllib.parse.quote(s["HOST"] or "127.0.0.1", safe="")
    password = f":{urllib.parse.quote(s['PASSWORD'], safe='')}" if s["PASSWORD"] else ""
    return f"postgres://{s['USER']}{password}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

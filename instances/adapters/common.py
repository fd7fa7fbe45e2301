"""Small driver-neutral helpers for the engine adapters.

- ``call_with_deadline`` runs a blocking driver call in a daemon thread and
  gives up after a deadline: for drivers whose own timeouts do not hold (the
  adapter session contract in ``base.py`` uses it).
- ``Stopwatch`` measures wall time in milliseconds; ``version_tuple`` turns a
  server version string into comparable integers.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The outside deadline of ``call_with_deadline`` passed."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"no answer within {seconds:g} s")


def call_with_deadline(fn: Callable[[], T], seconds: float, on_late_result: Callable[[T], None] | None = None) -> T:
    """``fn()`` run in a daemon thread; its result, its exception, or DeadlineExceeded after ``seconds``.

    The abandoned thread runs on until the driver gives up by itself; a result
    that arrives after the deadline is handed to ``on_late_result`` in that
    thread (e.g. to close a connection nobody will use).
    """
    lock = threading.Lock()
    done = threading.Event()
    state: dict[str, Any] = {"abandoned": False}

    def worker() -> None:
        try:
            state["value"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            state["error"] = exc
        with lock:
            late = state["abandoned"]
            done.set()
        if late and "value" in state and on_late_result is not None:
            on_late_result(state["value"])

    threading.Thread(target=worker, name="whalefall-deadline", daemon=True).start()
    done.wait(seconds)
    with lock:
        if not done.is_set():
            state["abandoned"] = True
            raise DeadlineExceeded(seconds)
    if "error" in state:
        raise state["error"]
    return state["value"]


class Stopwatch:
    """``with Stopwatch() as sw: …`` then ``sw.elapsed_ms`` (float, milliseconds)."""

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        self.elapsed_ms = 0.0
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.elapsed_ms = (time.perf_counter() - self._start) * 1000.0


_VERSION_RE = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def version_tuple(version: str) -> tuple[int, int, int]:
    """(major, minor, patch) of the first dotted number in ``version``; (0, 0, 0) if none.

    "10.11.19-MariaDB-0+deb12u1" → (10, 11, 19); "15.20 (Debian …)" → (15, 20, 0).
    """
    match = _VERSION_RE.search(version or "")
    if not match:
        return (0, 0, 0)
    major, minor, patch = (int(part) if part else 0 for part in match.groups())
    return (major, minor, patch)

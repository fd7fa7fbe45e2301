"""PostgreSQL advisory locks keyed by (namespace, id)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from whalefall.errors import ConcurrentOperation


def _namespace_key(namespace: str) -> int:
    # stable across processes (hash() is salted per process)
    return zlib.crc32(namespace.encode()) & 0x7FFFFFFF


@contextmanager
def advisory_lock(namespace: str, key: int = 0, *, what: str | None = None) -> Iterator[None]:
    """Hold a session-level advisory lock or raise ConcurrentOperation at once.

    Session-level (not transaction-level) so it spans the remote read and the
    short write transaction; always released in ``finally``.
    """
    ns = _namespace_key(namespace)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [ns, key])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise ConcurrentOperation(
            f"{what or namespace} is already running"
            + (f" for id {key}" if key else "")
            + "; try again when it has finished.",
            instance_id=key or None,
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ns, key])

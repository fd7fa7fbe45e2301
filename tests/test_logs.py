"""whalefall/logs.py: a command's output is its own lines; INFO log lines only with -v 2, or from
the long-running processes (the libraries' only from qcluster)."""

import pytest

from whalefall.logs import log_levels


@pytest.mark.parametrize(
    ("argv", "ours", "libraries"),
    [
        (["manage.py", "sync_accounts", "--all"], "WARNING", "WARNING"),
        (["manage.py", "sync_accounts", "--all", "-v", "2"], "INFO", "INFO"),
        (["manage.py", "sync_accounts", "-v2"], "INFO", "INFO"),
        (["manage.py", "quickstart", "--verbosity=3"], "INFO", "INFO"),
        (["manage.py", "quickstart", "--verbosity", "1"], "WARNING", "WARNING"),
        (["manage.py", "qcluster"], "INFO", "INFO"),
        (["manage.py", "qcluster", "-v", "0"], "WARNING", "WARNING"),
        (["manage.py", "runserver", "127.0.0.1:8000"], "INFO", "WARNING"),
        (["manage.py"], "WARNING", "WARNING"),
    ],
)
def test_log_levels(argv, ours, libraries):
    assert log_levels(argv) == {"WHALEFALL_LOG_LEVEL": ours, "WHALEFALL_LIBRARY_LOG_LEVEL": libraries}

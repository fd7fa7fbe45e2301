"""MySQL / MariaDB adapter (PyMySQL)."""

"""REST API of sync sessions and their per-instance records (read-only)."""

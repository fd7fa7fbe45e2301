"""REST API of sync sessions and their per-instance records (read-only, but for cancelling a
session), and the batch checks of several instances (/instances/actions/test-connection/, …)."""

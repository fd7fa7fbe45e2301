"""Test settings: a throwaway embedded PostgreSQL unless DATABASE_URL is set."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("WHALEFALL_SECRET_KEY", "test-secret-key-not-for-production")
if not os.environ.get("DATABASE_URL"):
    # A fresh data directory per run, deleted when the last process exits.
    os.environ["WHALEFALL_PGDATA"] = str(Path(tempfile.mkdtemp(prefix="whalefall-test-pg-")) / "pgdata")
    os.environ["WHALEFALL_PGDATA_CLEANUP"] = "delete"

from whalefall.settings import *  # noqa: F403
from whalefall.settings import Q_CLUSTER, REST_FRAMEWORK

Q_CLUSTER["sync"] = True
# throttles and lockouts are tested on purpose (tests/console/test_auth.py), not by every test
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, "auth": None}}
AXES_ENABLED = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
LOGGING = {"version": 1, "disable_existing_loggers": False}

# a deterministic engine for tests and benchmarks (see tests/support/fake_adapter.py)
WHALEFALL_TEST_ADAPTERS = {"fake": "tests.support.fake_adapter.FakeAdapter"}

# WhiteNoise serves STATIC_ROOT (collectstatic's output, which bin/serve makes): tests use the
# app finders instead, from an empty directory, so a fresh clone warns about nothing; and the plain
# storage, not the manifest one DEBUG off selects (it needs collectstatic's manifest).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = Path(tempfile.gettempdir()) / "whalefall-test-static"
STATIC_ROOT.mkdir(exist_ok=True)

"""Benchmark settings: the normal settings plus the "fake" engine.

The metadata DB is DATABASE_URL when set, else an embedded server in
var/bench/pgdata (kept between runs; `rm -r var/bench` to start over).
"""

import os
from pathlib import Path

if not os.environ.get("DATABASE_URL"):
    os.environ.setdefault("WHALEFALL_PGDATA", str(Path(__file__).resolve().parent.parent / "var" / "bench" / "pgdata"))

from whalefall.settings import *  # noqa: F403
from whalefall.settings import Q_CLUSTER

WHALEFALL_TEST_ADAPTERS = {"fake": "tests.support.fake_adapter.FakeAdapter"}
Q_CLUSTER.update(
    {
        "workers": int(os.environ.get("WHALEFALL_Q_WORKERS", "4")),
        "poll": 0.05,  # ORM broker: how often an idle pusher looks for work
        "save_limit": -1,  # do not store successful task results
    }
)
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
DEBUG = False

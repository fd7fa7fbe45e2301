"""Fan-out: 200 instances whose (fake) target answers after 200 ms, N workers.

    .venv/bin/python benchmarks/fanout.py [--instances 200] [--delay-ms 200] [--workers 4] [--broker orm|redis]

Starts a real `manage.py qcluster` (ORM broker by default; --broker redis uses
REDIS_URL or redis://127.0.0.1:6379/0), enqueues one account-sync task per
instance and measures the wall time from enqueue to the session's
finalization. Reports it as a ratio to the ideal instances × delay ÷ workers.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--delay-ms", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--broker", choices=["orm", "redis"], default="orm")
    args = parser.parse_args()

    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings_bench"
    os.environ["WHALEFALL_Q_WORKERS"] = str(args.workers)
    if args.broker == "redis":
        os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    else:
        os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from accounts.services import accounts_sync_all
    from instances.models import Instance
    from sync_sessions.models import SyncSession
    from tests.support.factories import make_fake_instance

    call_command("migrate", verbosity=0)
    Instance.objects.filter(name__startswith="fanout-").delete()
    instances = [
        make_fake_instance(f"accounts=5,delay_ms={args.delay_ms}", name=f"fanout-{i:04d}")
        for i in range(args.instances)
    ]
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=os.environ.copy(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(3)  # let the workers start before the clock starts
        started = time.monotonic()
        with transaction.atomic():
            session = accounts_sync_all(
                instance_ids=[i.pk for i in instances], enqueue=True
            )
        while SyncSession.objects.filter(pk=session.pk, status="running").exists():
            if time.monotonic() - started > 600:
                raise SystemExit("batch did not finish in 600 s")
            time.sleep(0.05)
        wall = time.monotonic() - started
    finally:
        cluster.send_signal(signal.SIGTERM)
        cluster.wait(timeout=30)
    session.refresh_from_db()
    ideal = args.instances * args.delay_ms / 1000 / args.workers
    print(f"broker={args.broker} workers={args.workers} instances={args.instances} delay={args.delay_ms}ms")
    print(f"session {session.status}: {session.successful_instances} ok, {session.failed_instances} failed")
    per_task_ms = wall * args.workers / args.instances * 1000
    ratio = f"ratio {wall / ideal:.3f} (target <= 1.3)" if ideal else "no ideal (delay 0)"
    print(f"wall {wall:.2f}s, ideal {ideal:.2f}s, {ratio}; {per_task_ms:.0f} ms per task per worker")
    from django.db.models import Avg, F

    inside = session.records.aggregate(avg=Avg(F("completed_at") - F("started_at")))["avg"]
    print(f"average time inside a record (remote wait + writes): {inside.total_seconds() * 1000:.0f} ms")
    Instance.objects.filter(name__startswith="fanout-").delete()


if __name__ == "__main__":
    main()

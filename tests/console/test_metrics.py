"""GET /metrics: the Prometheus text of WhaleFall's state, read by a fixed number of queries,
its values equal to the console's (forecast included), bounded labels, access by token or
address, and a real Prometheus (Debian's package) scraping it."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import AccountPermission, InstanceAccount
from capacity.models import DatabaseSizeCurrent, DatabaseSizeStat, InstanceDatabase, InstanceSizeStat
from capacity.selectors import database_capacity
from capacity.services import capacity_apply
from classification.models import AccountClassification, AccountClassificationAssignment
from console.metrics import OTHER_DATABASES, metrics_text
from instances.adapters.base import DatabaseSize
from sync_sessions.models import SyncInstanceRecord, SyncSession
from tests.capacity.conftest import ensure_partitions
from tests.live_targets import unavailable
from tests.support.factories import make_instance
from tests.support.processes import free_port, wait_for

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 7)
NOW = timezone.make_aware(dt.datetime(2026, 12, 7, 12, 0))
DAYS = 30


def samples(metrics: bytes) -> dict[tuple, float]:
    """{(name, ((label, value), …)): value} of every sample."""
    result = {}
    for family in text_string_to_metric_families(metrics.decode()):
        for sample in family.samples:
            result[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return result


def value(found: dict, name: str, **labels) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def estate(db):
    """Two instances: 'billing' with 12 databases (sizes 1..12 GiB, 30 days of linear growth for
    the largest, a limit on it) and its accounts/classifications/records; 'spare' without data."""
    ensure_partitions("database_size_stats", TODAY - dt.timedelta(days=DAYS), TODAY)
    ensure_partitions("instance_size_stats", TODAY - dt.timedelta(days=DAYS), TODAY)
    billing = make_instance(name="billing", environment="production", size_limit_bytes=200 * 2**30)
    make_instance(name="spare", environment="testing")
    gib = 2**30
    # 29 days of history, then today's collection through the real write path (it fits the forecast):
    # db12 grew 10 MiB a day, db11 was cleaned up 5 days ago (a step: too few samples since)
    def db12(back):
        return 12 * gib - back * 10 * 2**20

    def db11(back):
        return 11 * gib if back < 5 else 40 * gib

    history, totals = [], []
    for back in range(1, DAYS):
        day, at = TODAY - dt.timedelta(days=back), NOW - dt.timedelta(days=back)
        history += [DatabaseSizeStat(instance=billing, database_name="db12", size_bytes=db12(back), collected_date=day,
                                     collected_at=at),
                    DatabaseSizeStat(instance=billing, database_name="db11", size_bytes=db11(back), collected_date=day,
                                     collected_at=at)]  # fmt: skip
        totals.append(InstanceSizeStat(instance=billing, total_size_bytes=78 * gib - back * 10 * 2**20,
                                       database_count=12, collected_date=day, collected_at=at))  # fmt: skip
    DatabaseSizeStat.objects.bulk_create(history)
    InstanceSizeStat.objects.bulk_create(totals)
    InstanceDatabase.objects.create(instance=billing, name="db12", size_limit_bytes=13 * gib)
    sizes = [DatabaseSize(f"db{n:02}", n * gib) for n in range(1, 11)] + [DatabaseSize("db11", db11(0)),
                                                                          DatabaseSize("db12", db12(0))]  # fmt: skip
    capacity_apply(instance=billing, inventory=[s.name for s in sizes], sizes=sizes, now=NOW)
    # accounts: three active (one superuser), one inactive; two classified
    accounts = [InstanceAccount.objects.create(instance=billing, username=f"u{n}", is_active=n < 3) for n in range(4)]
    AccountPermission.objects.create(instance_account=accounts[0], is_superuser=True, can_grant=True)
    superuser = AccountClassification.objects.get(code="superuser")
    for account in accounts[:1] + accounts[3:]:
        AccountClassificationAssignment.objects.create(account=account, classification=superuser, source="auto")
    # runs: an account sync that completed yesterday, then failed today; a partial capacity run
    session = SyncSession.objects.create(sync_type="scheduled", sync_category="account", status="completed")
    for status, finished in (("completed", NOW - dt.timedelta(days=1)), ("failed", NOW - dt.timedelta(hours=1))):
        other = SyncSession.objects.create(sync_type="scheduled", sync_category="account", status=status)
        SyncInstanceRecord.objects.create(session=other, instance=billing, instance_name="billing",
                                          sync_category="account", status=status, started_at=finished,
                                          completed_at=finished)  # fmt: skip
    capacity = SyncSession.objects.create(sync_type="scheduled", sync_category="capacity", status="completed")
    SyncInstanceRecord.objects.create(session=capacity, instance=billing, instance_name="billing",
                                      sync_category="capacity", status="partial", started_at=NOW,
                                      completed_at=NOW)  # fmt: skip
    SyncInstanceRecord.objects.create(session=session, instance=billing, instance_name="billing",
                                      sync_category="account", status="queued")  # fmt: skip
    return billing


def test_sizes_growth_limits_runs_and_accounts_are_exported(estate):
    found = samples(metrics_text(top_databases=10, now=NOW))
    gib = 2**30
    assert value(found, "whalefall_instance_info", db_instance="billing", db_type="postgresql",
                 environment="production") == 1  # fmt: skip
    assert value(found, "whalefall_database_size_bytes", db_instance="billing", database="db12") == 12 * gib
    # the 10 largest one by one, db01 + db02 summed
    assert value(found, "whalefall_database_size_bytes", db_instance="billing", database=OTHER_DATABASES) == 3 * gib
    assert value(found, "whalefall_database_others", db_instance="billing") == 2
    assert value(found, "whalefall_database_size_bytes", db_instance="billing", database="db01") is None
    assert value(found, "whalefall_instance_size_bytes", db_instance="billing") == 78 * gib
    assert value(found, "whalefall_database_size_bytes", db_instance="billing", database="db11") == 11 * gib
    # growth and days until the limit are the console's forecast
    forecast = database_capacity(instance_id=estate.pk, database="db12", start=TODAY - dt.timedelta(days=29),
                                 end=TODAY).forecast  # fmt: skip
    assert value(found, "whalefall_database_growth_bytes_per_day", db_instance="billing", database="db12") == \
        forecast.bytes_per_day == 10 * 2**20  # fmt: skip
    assert value(found, "whalefall_database_time_until_limit_seconds", db_instance="billing", database="db12") == \
        forecast.days_until_limit * 86400 == 102 * 86400  # fmt: skip
    # db11: a cleanup 5 days ago leaves too few samples on the last ramp → no growth (collecting)
    assert value(found, "whalefall_database_growth_bytes_per_day", db_instance="billing", database="db11") is None
    assert value(found, "whalefall_instance_growth_bytes_per_day", db_instance="billing") == 10 * 2**20
    assert value(found, "whalefall_instance_time_until_limit_seconds", db_instance="billing") == \
        (200 * gib - 78 * gib) // (10 * 2**20) * 86400  # fmt: skip
    # runs
    assert value(found, "whalefall_last_run_failed", category="account", db_instance="billing") == 1
    assert value(found, "whalefall_last_success_timestamp_seconds", category="account", db_instance="billing") == \
        (NOW - dt.timedelta(days=1)).timestamp()  # fmt: skip
    assert value(found, "whalefall_last_run_partial", category="capacity", db_instance="billing") == 1
    assert value(found, "whalefall_records", category="account", status="failed") == 1
    assert value(found, "whalefall_queued_records") == 1
    assert value(found, "whalefall_task_queue_depth") == 0
    # accounts: active ones only
    assert value(found, "whalefall_accounts", db_instance="billing") == 3
    assert value(found, "whalefall_superuser_accounts", db_instance="billing") == 1
    assert value(found, "whalefall_classified_accounts", db_instance="billing", classification="superuser",
                 risk_level="critical") == 1  # fmt: skip
    # an instance without data still has its info, and nothing invented
    assert value(found, "whalefall_instance_active", db_instance="spare") == 1
    assert value(found, "whalefall_instance_size_bytes", db_instance="spare") is None


def test_a_scrape_is_a_fixed_number_of_queries_whatever_the_estate(estate):
    with CaptureQueriesContext(connection) as small:
        metrics_text(now=NOW)
    for n in range(20):
        instance = make_instance(name=f"more-{n}")
        DatabaseSizeCurrent.objects.bulk_create(
            DatabaseSizeCurrent(instance=instance, database_name=f"d{m}", size_bytes=m, collected_at=NOW)
            for m in range(30)
        )
    with CaptureQueriesContext(connection) as large:
        text = metrics_text(now=NOW)
    assert len(large) == len(small) <= 10
    # bounded: at most top + 1 database series per instance
    lines = [line for line in text.decode().splitlines() if line.startswith("whalefall_database_size_bytes{")]
    assert len([line for line in lines if 'db_instance="more-3"' in line]) == 11


def test_access_needs_an_allowed_address_or_the_token(client, settings, estate):
    settings.WHALEFALL = {**settings.WHALEFALL, "METRICS_TOKEN": "s3cret", "METRICS_ALLOW": []}
    refused = client.get("/metrics")
    assert refused.status_code == 403 and refused["WWW-Authenticate"] == "Bearer"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret")
    assert ok.status_code == 200 and ok["Content-Type"].startswith("text/plain; version=")
    assert b"whalefall_instance_info" in ok.content
    settings.WHALEFALL = {**settings.WHALEFALL, "METRICS_TOKEN": "", "METRICS_ALLOW": [
        __import__("ipaddress").ip_network("127.0.0.0/8")]}  # fmt: skip
    assert client.get("/metrics").status_code == 200  # the test client's address is 127.0.0.1
    assert client.post("/metrics").status_code == 405


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        unavailable("promtool is not installed (Debian package prometheus; bin/test installs it)")
    return path


def test_promtool_accepts_the_exposition(estate):
    result = subprocess.run([_promtool(), "check", "metrics"], input=metrics_text(now=NOW), capture_output=True,
                            timeout=30)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_prometheus_scrapes_it(live_server, settings):
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        unavailable("prometheus is not installed (Debian package prometheus; bin/test installs it)")
    make_instance(name="scraped", environment="staging")
    settings.WHALEFALL = {**settings.WHALEFALL, "METRICS_TOKEN": "scrape-token", "METRICS_ALLOW": []}
    workdir = Path(tempfile.mkdtemp(prefix="wf-prometheus-"))
    port = free_port()
    target = live_server.url.removeprefix("http://")
    (workdir / "prometheus.yml").write_text(json.dumps({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": "whalefall", "metrics_path": "/metrics", "static_configs": [
            {"targets": [target]}], "authorization": {"credentials": "scrape-token"}}],
    }))  # fmt: skip
    process = subprocess.Popen([prometheus, f"--config.file={workdir / 'prometheus.yml'}",
                                f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    def query(expression: str) -> list:
        url = f"http://127.0.0.1:{port}/api/v1/query?query={urllib.parse.quote(expression)}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.load(response)["data"]["result"]
        except OSError:
            return []

    try:
        assert wait_for(lambda: query('whalefall_instance_info{db_instance="scraped"}'), timeout=30), \
            "Prometheus never stored a sample from /metrics"  # fmt: skip
        (series,) = query('whalefall_instance_info{db_instance="scraped"}')
        assert series["metric"]["environment"] == "staging" and series["metric"]["job"] == "whalefall"
        (up,) = query('up{job="whalefall"}')
        assert up["value"][1] == "1"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


MONITORING = Path(__file__).resolve().parents[2] / "docs" / "monitoring"


def test_the_documented_alert_rules_load_and_the_dashboard_names_only_exported_metrics(estate):
    result = subprocess.run([_promtool(), "check", "rules", str(MONITORING / "whalefall-rules.yml")],
                            capture_output=True, timeout=30)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    exported = {family.name for family in text_string_to_metric_families(metrics_text(now=NOW).decode())}
    documented = (MONITORING / "whalefall-rules.yml").read_text() + (MONITORING / "whalefall-grafana-dashboard.json")\
        .read_text()  # fmt: skip
    named = set(re.findall(r"\b(whalefall_[a-z_]+)", documented)) - {"whalefall_rules"}
    assert named and named <= exported, named - exported
    json.loads((MONITORING / "whalefall-grafana-dashboard.json").read_text())

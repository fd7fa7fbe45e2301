"""Production serving: `manage.py check --deploy` is clean with the documented settings, and
bin/serve (gunicorn + whitenoise, DEBUG off) answers pages, static files and the health check."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import database_url, free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
ROOT = Path(__file__).resolve().parents[2]


def production_env(**extra) -> dict[str, str]:
    """The settings README § Operating WhaleFall documents, on this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHALEFALL_", "DJANGO_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "whalefall.settings",
            "DATABASE_URL": database_url(),
            "WHALEFALL_DEBUG": "0",
            "WHALEFALL_SECRET_KEY": secrets.token_urlsafe(50),
            "WHALEFALL_ALLOWED_HOSTS": "whalefall.example,127.0.0.1",
            "WHALEFALL_HTTPS": "1",
            "WHALEFALL_HSTS_PRELOAD": "1",
            **extra,
        }
    )
    return env


def test_check_deploy_is_clean_with_the_documented_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def _get(url: str) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def test_bin_serve_answers_pages_static_files_and_health(tmp_path):
    port = free_port()
    env = production_env(WHALEFALL_BIND=f"127.0.0.1:{port}", WHALEFALL_HTTPS="0", WHALEFALL_WEB_WORKERS="1")
    server = subprocess.Popen(["bash", "bin/serve"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _get_or_none(f"{base}/healthz") == 200, timeout=90), server.stderr.read1().decode()
        status, body, _ = _get(f"{base}/admin/login/")
        assert status == 200 and b"WhaleFall" in body
        css = body.decode().split('href="/static/admin/css/base.')[1].split('"')[0]  # the hashed name
        status, _, headers = _get(f"{base}/static/admin/css/base.{css}")
        assert status == 200 and "max-age=315360000" in headers.get("Cache-Control", "")  # immutable, hashed
        status, body, _ = _get(f"{base}/api/v1/instances/")
        assert status == 401 and b'"code"' in body  # DEBUG off: JSON, no debug page
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()


def _get_or_none(url: str) -> int | None:
    try:
        return _get(url)[0]
    except OSError:
        return None


def _manage(*args: str, **env) -> subprocess.CompletedProcess:
    """``manage.py`` with the production settings on this test's database (WHALEFALL_DEBUG unset)."""
    environment = production_env(WHALEFALL_HTTPS="0")
    del environment["WHALEFALL_DEBUG"]
    environment.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_debug_is_off_unless_asked_for():
    code = "from django.conf import settings; print(settings.DEBUG)"
    assert _manage("shell", "--no-imports", "-c", code).stdout.strip() == "False"
    assert _manage("shell", "--no-imports", "-c", code, WHALEFALL_DEBUG="1").stdout.strip() == "True"


def test_commands_print_their_own_lines_and_log_lines_only_with_verbosity_2():
    from instances.models import Instance

    Instance.objects.create(name="quiet", db_type_id="postgresql", host="127.0.0.1", port=1)
    quiet = _manage("sync_accounts", "--all", "--enqueue")  # ORM broker: queued, not run
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.startswith("queued session ")
    assert quiet.stderr == ""  # no "AXES: BEGIN …", no "Enqueued …"
    loud = _manage("sync_accounts", "--all", "--enqueue", "-v", "2")
    assert "AXES: BEGIN" in loud.stderr and "Enqueued" in loud.stderr, loud.stderr

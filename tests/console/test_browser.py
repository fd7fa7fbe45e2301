"""The console in a real browser (Playwright driving Debian's chromium, headless).

* every list of the admin, the dashboard and the capacity pages fit at 1280, 1440 and 1920 px:
  no page or box scrolls sideways at 1440 and 1920, no table spills out of its card, no table
  cell breaks a word over two lines (``layout_check.js``);
* no page asks for anything from another host than the test server (every request is checked,
  and anything else is refused);
* a walk through the pages a DBA uses: log in, read the dashboard, open an instance and its
  capacity chart, an account's effective privileges, and run "Test connection" from the live
  MariaDB instance's page;
* the README's screenshots (``SCREENSHOTS``): to a temporary directory, or to
  ``WHALEFALL_SCREENSHOTS`` (``docs/screenshots`` to refresh the README's).

chromium is found on PATH or at ``WHALEFALL_CHROMIUM``; ``bin/test`` installs Debian's package
when it is missing. Without it the tests fail under ``CI`` and are skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import InstanceAccount
from accounts.services import accounts_sync_all
from alerts.models import AlertChannel
from alerts.services import alerts_run
from console.demo import demo_data_load
from instances.models import Instance
from instances.services import credential_create, instance_create
from tests.live_targets import unavailable

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PASSWORD = "pw-browser-1"
LAYOUT_CHECK = (Path(__file__).parent / "layout_check.js").read_text()
WIDTHS = (1280, 1440, 1920)
#: from this width on nothing scrolls sideways (below it a wide list may scroll inside its box)
NO_SCROLL_FROM = 1440
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]"}


@dataclass(frozen=True)
class Screenshot:
    """A page the README shows: ``docs/screenshots/<file>``, taken at 1440×900 (full page) once
    ``ready`` (a CSS selector) is on it. ``url(data)`` builds its address from ``console_data``."""

    file: str
    url: Callable[[dict], str]
    ready: str


#: the "Who can…" page answering: who may read MariaDB's account table (the monitoring login, root, …)
WHO_CAN_QUESTION = "/admin/accounts/instanceaccount/who-can/?privilege=SELECT&object=mysql.user"
#: the README's screenshots; a new page is one more line (``WHALEFALL_SCREENSHOTS=docs/screenshots``)
SCREENSHOTS = [
    Screenshot("who_can.png", lambda data: WHO_CAN_QUESTION, "#who-can-answer"),
    Screenshot("dashboard.png", lambda data: reverse("admin:index"), "#dashboard"),
    Screenshot("instance.png", lambda data: reverse("admin:instances_instance_change", args=[data["orders"]]),
               "#instance-lead svg.wf-chart"),
    Screenshot("instance_capacity.png", lambda data: reverse("admin:capacity_instance_capacity", args=[data["orders"]]),
               "svg.wf-chart .wf-fitted"),
    Screenshot("account_privileges.png",
               lambda data: reverse("admin:accounts_instanceaccount_change", args=[data["monitor"]]),
               "table.effective-privileges"),
]  # fmt: skip


@pytest.fixture
def chromium() -> str:
    path = os.environ.get("WHALEFALL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        unavailable("chromium is not installed (bin/test installs Debian's package)")
    return path


@pytest.fixture
def screenshots(tmp_path) -> Path:
    target = Path(os.environ.get("WHALEFALL_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture
def console_data(mysql_monitor):
    get_user_model().objects.create_superuser("admin", "admin@localhost", PASSWORD)
    demo_data_load()
    credential = credential_create(name="browser-mon", username=mysql_monitor.username, password=mysql_monitor.password)
    live = instance_create(
        name="live-mariadb", db_type="mysql", host=mysql_monitor.host, port=mysql_monitor.port, credential=credential
    )
    assert accounts_sync_all(instance_ids=[live.pk]).records.get().status == "completed"
    # alerts of the demo's risky accounts, and their failed deliveries (a closed local port, an
    # unreachable mail server): the alert lists show long titles and errors
    AlertChannel.objects.create(name="ops-webhook", kind="webhook", url="http://127.0.0.1:9/hook?token=t0ken")
    AlertChannel.objects.create(name="dba-mail", kind="email", recipients=["dba@example.com", "oncall@example.com"])
    alerts_run()
    orders = Instance.objects.get(name="demo-mysql-orders")
    return {
        "live": live.pk,
        "orders": orders.pk,
        "orders_database": orders.databases.order_by("-name").values_list("name", flat=True).first(),
        "monitor": InstanceAccount.objects.get(instance=live, username=mysql_monitor.username).pk,
    }


@pytest.fixture
def page(console_data, chromium, live_server):
    # Every ORM read happens in console_data, before the browser starts: Playwright's sync API
    # runs an event loop in this thread, in which Django refuses (and would leak) connections.
    from playwright.sync_api import sync_playwright

    outside: list[str] = []

    def only_local(route):
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS or url.startswith(("data:", "blob:")):
            route.continue_()
        else:  # recorded and refused: an operations network has no internet
            outside.append(url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(15_000)
        page.route("**/*", only_local)
        page.requests_outside = outside
        yield page
        browser.close()
    assert outside == [], f"requests left the host: {outside[:5]}"


def _log_in(page, base: str) -> None:
    page.goto(base + reverse("admin:index"))
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_selector("#dashboard")


def _pages(data: dict) -> list[str]:
    """The dashboard, every registered list, the capacity pages and the instance and account pages."""
    changelists = sorted(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") for model in admin.site._registry
    )
    return [
        reverse("admin:index"),
        *changelists,
        reverse("admin:capacity_top_growers"),
        reverse("admin:capacity_instance_capacity", args=[data["orders"]]),
        reverse("admin:capacity_database_capacity", args=[data["orders"], data["orders_database"]]),
        reverse("admin:instances_instance_change", args=[data["orders"]]),
        reverse("admin:accounts_instanceaccount_change", args=[data["monitor"]]),
        WHO_CAN_QUESTION,
    ]


def test_every_list_and_page_fits_at_common_widths(page, live_server, console_data):
    _log_in(page, live_server.url)
    pages = _pages(console_data)
    assert len(pages) > 40
    problems = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for url in pages:
            response = page.goto(live_server.url + url)
            assert response.status == 200, url
            found = page.evaluate(LAYOUT_CHECK, width >= NO_SCROLL_FROM)
            if found:
                problems[f"{url} at {width} px"] = found[:5]
    assert problems == {}
    # chart labels are readable: at least 11 px as drawn
    page.goto(live_server.url + reverse("admin:index"))
    heights = page.eval_on_selector_all("svg.wf-chart text", "els => els.map(e => e.getBoundingClientRect().height)")
    assert heights and min(heights) >= 11, heights
    assert page.requests_outside == []


def test_api_docs_render_from_local_files(page, live_server):
    """Swagger UI comes from our static files (drf-spectacular-sidecar): it renders the schema
    with every request refused that would leave the host."""
    _log_in(page, live_server.url)  # the schema needs a login; the session does
    page.goto(live_server.url + reverse("api-docs"))
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() > 50
    assert "WhaleFall API" in page.inner_text(".swagger-ui .info")
    assert page.requests_outside == []


def test_console_in_a_browser(page, live_server, console_data):
    base = live_server.url
    _log_in(page, base)

    # the dashboard: the failing demo instance, the jobs, the growers, the classification chart
    assert page.title().startswith("Dashboard")
    failing = page.locator("#wf-instances").inner_text()
    assert "demo-oracle-hr" in failing and "target_timeout" in failing
    assert "whalefall.accounts" in page.locator("#wf-jobs").inner_text()
    assert "demo-pg-billing / billing" in page.locator("#wf-capacity").inner_text()
    assert page.locator("#wf-classification svg.wf-chart polyline").count() >= 1

    # an instance: its status, buttons and cards first, then its capacity page from the card
    page.goto(base + reverse("admin:instances_instance_change", args=[console_data["orders"]]))
    assert page.input_value("#id_name") == "demo-mysql-orders"
    status = page.inner_text("#instance-status")
    assert "active" in status and "Last runs" in status
    assert "in 30 days" in page.inner_text("#instance-lead")
    page.locator('#content a[href*="/databasesizecurrent/instance/"]').first.click()
    page.wait_for_selector("svg.wf-chart")
    assert page.locator("svg.wf-chart polyline").count() >= 2  # instance total and its databases
    assert "Forecast of the instance total" in page.inner_text("#content")
    hover = page.locator("svg.wf-chart circle title").first.text_content()
    assert hover.startswith("Instance total, ") and "GB" in hover  # the value under the pointer

    # an account synced from the live MariaDB: its effective privileges as a table
    page.goto(base + reverse("admin:accounts_instanceaccount_change", args=[console_data["monitor"]]))
    table = page.locator("table.effective-privileges").inner_text()
    assert "SHOW DATABASES" in table and "mysql.user" in table  # the documented monitoring grants

    # "Test connection" on the live instance's page: a POST button, run here, its message
    page.goto(base + reverse("admin:instances_instance_change", args=[console_data["live"]]))
    page.click("#instance-buttons button[value=test_connection_action]")
    message = page.locator("ul.messagelist").inner_text().strip()
    assert message.lower().startswith("live-mariadb: ok — ") and "MariaDB" in message  # the admin capitalises
    assert page.url.endswith(reverse("admin:instances_instance_change", args=[console_data["live"]]))
    assert page.requests_outside == []


def test_screenshots_for_the_readme(page, live_server, console_data, screenshots):
    _log_in(page, live_server.url)
    page.set_viewport_size({"width": 1440, "height": 900})
    for shot in SCREENSHOTS:
        page.goto(live_server.url + shot.url(console_data))
        page.wait_for_selector(shot.ready)
        # the Save bar sticks to the window's bottom: on a full-page picture it would cover the middle
        page.add_style_tag(content="#submit-row { position: static !important; }")
        page.screenshot(path=screenshots / shot.file, full_page=True)
        assert (screenshots / shot.file).stat().st_size > 10_000, shot.file
    assert page.requests_outside == []

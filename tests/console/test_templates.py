"""The project's admin overrides live in the top-level templates/ (TEMPLATES['DIRS'])."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import get_template

pytestmark = pytest.mark.django_db


def test_admin_overrides_come_from_the_project_templates_dir():
    project = Path(settings.BASE_DIR) / "templates"
    assert project in [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    for name in ("admin/base_site.html", "admin/index.html"):
        assert Path(get_template(name).origin.name) == project / name


def test_index_page_shows_the_console_links(admin_client_logged_in):
    body = admin_client_logged_in.get("/admin/").content.decode()
    assert "<title>" in body and "| WhaleFall</title>" in body
    assert 'href="/admin/sync_sessions/syncsession/?status__exact=failed"' in body
    assert 'href="/api/v1/"' in body and 'href="/api/docs/"' in body


def test_view_site_leads_to_the_dashboard(admin_client_logged_in):
    """The header's "View site" goes to the console's front page, not to a 404 at /."""
    body = admin_client_logged_in.get("/admin/instances/instance/").content.decode()
    assert '<a href="/admin/">View site</a>' in body

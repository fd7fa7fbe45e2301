"""The console's admin site: Django's, with the dashboard on its index page."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.urls import reverse_lazy


class ConsoleAdminSite(admin.AdminSite):
    site_header = "WhaleFall"
    site_title = "WhaleFall"
    index_title = "Dashboard"
    # the header's "View site": the console is the admin, so its front page is the dashboard
    site_url = reverse_lazy("admin:index")

    @property
    def login_form(self):
        """The login form that says when the directory did not answer (imported late: this site
        is built while the apps are still loading)."""
        from console.directory import ConsoleLoginForm

        return ConsoleLoginForm

    def index(self, request, extra_context=None):
        from console.dashboard import dashboard_build

        context = {"dashboard": dashboard_build(user=request.user), **(extra_context or {})}
        return super().index(request, extra_context=context)


class ConsoleAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`ConsoleAdminSite` as ``admin.site`` (every app
    registers on it as usual)."""

    default_site = "console.sites.ConsoleAdminSite"

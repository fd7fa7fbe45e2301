"""The console's admin site: unfold's (grouped sidebar, responsive lists), with the dashboard on
its index page (``UNFOLD["DASHBOARD_CALLBACK"]`` = ``console.dashboard.dashboard_callback``)."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig
from django.urls import reverse_lazy
from unfold.sites import UnfoldAdminSite


class ConsoleAdminSite(UnfoldAdminSite):
    site_header = "WhaleFall"
    site_title = "WhaleFall"
    index_title = "Dashboard"
    # the header's "View site": the console is the admin, so its front page is the dashboard
    site_url = reverse_lazy("admin:index")

    def each_context(self, request):
        context = super().each_context(request)
        # every page uses the whole width (lists, the dashboard, the capacity pages): unfold's
        # default centres a fixed-width container
        context["is_fullwidth"] = "1"
        return context


class ConsoleAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`ConsoleAdminSite` as ``admin.site`` (every app
    registers on it as usual); ``unfold.apps.BasicAppConfig`` supplies the templates."""

    default_site = "console.sites.ConsoleAdminSite"
